// AVX-512 machine code for a BitsliceProgram's ops (see bitslice_jit.h for why). The function it
// emits takes one argument, rdi = the first plane of the half-block to work on (slot s is at
// rdi + 128 s; the engine calls it once per 512-sample half of a block), and uses only zmm0-31.
#include "hdl/bitslice_jit.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "tensor/error.h"

#if defined(__x86_64__)
#include <sys/mman.h>
#endif

namespace difflut::hdl::bitslice {

namespace {

constexpr int kRegs = 32;
constexpr int64_t kSlotBytes = 128;  // 16 uint64 words (bitslice_kernels.h)

// The three instruction forms, EVEX-encoded (512-bit, W1, prefix 66, no masking).
class Encoder {
 public:
  std::vector<uint8_t> bytes;

  // zmm[reg] = [rdi + 128 slot]
  void load(int reg, int64_t slot) { mem_op(0x01, 0x6f, reg, -1, slot); }
  // [rdi + 128 slot] = zmm[reg]
  void store(int reg, int64_t slot) { mem_op(0x01, 0x7f, reg, -1, slot); }
  // zmm[dst] = zmm[dst]
  void move(int dst, int src) { reg_op(0x01, 0x6f, dst, -1, src); }
  // zmm[d] = f_imm(zmm[d], zmm[s2], zmm[s3]): table bit (d << 2 | s2 << 1 | s3).
  void tern(int d, int s2, int s3, uint8_t imm) {
    reg_op(0x03, 0x25, d, s2, s3);
    bytes.push_back(imm);
  }
  // zmm[d] = f_imm(zmm[d], zmm[s2], [rdi + 128 slot]).
  void tern_mem(int d, int s2, int64_t slot, uint8_t imm) {
    mem_op(0x03, 0x25, d, s2, slot);
    bytes.push_back(imm);
  }
  void finish() {
    bytes.insert(bytes.end(), {0xc5, 0xf8, 0x77});  // vzeroupper
    bytes.push_back(0xc3);                          // ret
  }

 private:
  // EVEX prefix: P0 = [~R ~X ~B ~R' 0 0 m m], P1 = [W ~vvvv 1 p p], P2 = [z L'L b ~V' aaa].
  void prefix(uint8_t mm, int reg, int nds, int rm, bool rm_is_reg) {
    uint8_t p0 = mm;
    if (!(reg & 8)) p0 |= 0x80;
    if (!(reg & 16)) p0 |= 0x10;
    if (!rm_is_reg || !(rm & 8)) p0 |= 0x20;
    if (!rm_is_reg || !(rm & 16)) p0 |= 0x40;
    const int v = nds < 0 ? 0 : nds;
    const uint8_t p1 = static_cast<uint8_t>(0x80 | ((~v & 0xf) << 3) | 0x04 | 0x01);
    const uint8_t p2 = static_cast<uint8_t>(0x40 | ((v & 16) ? 0 : 0x08));
    bytes.insert(bytes.end(), {0x62, p0, p1, p2});
  }
  void reg_op(uint8_t mm, uint8_t opcode, int reg, int nds, int rm) {
    prefix(mm, reg, nds, rm, true);
    bytes.push_back(opcode);
    bytes.push_back(static_cast<uint8_t>(0xc0 | ((reg & 7) << 3) | (rm & 7)));
  }
  void mem_op(uint8_t mm, uint8_t opcode, int reg, int nds, int64_t slot) {
    const int64_t disp = slot * kSlotBytes;
    DIFFLUT_CHECK(disp >= 0 && disp <= std::numeric_limits<int32_t>::max(), "bitslice jit: slot ",
                  slot, " out of reach");
    prefix(mm, reg, nds, 0, false);
    bytes.push_back(opcode);
    bytes.push_back(static_cast<uint8_t>(0x80 | ((reg & 7) << 3) | 7));  // [rdi + disp32]
    const uint32_t d = static_cast<uint32_t>(disp);
    for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<uint8_t>(d >> (8 * i)));
  }
};

struct Op {
  int a, b, c;  // values
  uint8_t imm;
};

// The program's table (bit va | vb << 1 | vc << 2) for an instruction whose sources 1, 2, 3 (its
// table bit s1 << 2 | s2 << 1 | s3) feed program operands a, b, c as src[0..2] says.
uint8_t instruction_imm(uint8_t imm, const int src[3]) {
  uint8_t out = 0;
  for (int idx = 0; idx < 8; ++idx) {
    const int bit[4] = {0, (idx >> 2) & 1, (idx >> 1) & 1, idx & 1};  // by source number 1..3
    int x = 0;
    for (int j = 0; j < 3; ++j) x |= bit[src[j]] << j;
    if ((imm >> x) & 1) out = static_cast<uint8_t>(out | (1u << idx));
  }
  return out;
}

class Generator {
 public:
  explicit Generator(const BitsliceProgram& p) : p_(p) {}

  void run() {
    rename();
    order_depth_first();
    uses();
    allocate_and_emit();
    enc_.finish();
  }
  const std::vector<uint8_t>& code() const { return enc_.bytes; }
  int64_t extra_slots() const { return spill_top_; }

 private:
  // Values: 0 and 1 the constants, then one per comparator, then one per op. A value's home slot
  // is where it lives in memory (inputs: their program slots; ops: a spill slot once spilled).
  void rename() {
    std::vector<int> slot_val(static_cast<size_t>(p_.num_slots), -1);
    auto add_input = [&](int32_t slot) {
      home_.push_back(slot);
      slot_val[static_cast<size_t>(slot)] = static_cast<int>(home_.size() - 1);
    };
    add_input(0);
    add_input(1);
    for (int32_t s : p_.cmp_slot) add_input(s);
    n_inputs_ = static_cast<int>(home_.size());
    for (const BitsliceGroup& g : p_.groups)
      for (int64_t i = g.begin; i < g.end; ++i) {
        const BitsliceOp& o = p_.ops[static_cast<size_t>(i)];
        const Op op{slot_val[static_cast<size_t>(o.a)], slot_val[static_cast<size_t>(o.b)],
                    slot_val[static_cast<size_t>(o.c)], g.imm};
        DIFFLUT_CHECK(op.a >= 0 && op.b >= 0 && op.c >= 0,
                      "bitslice jit: a slot is read before "
                      "anything writes it");
        ops_.push_back(op);
        home_.push_back(-1);
        slot_val[static_cast<size_t>(o.dst)] = static_cast<int>(home_.size() - 1);
      }
    for (const BitslicePort& port : p_.ports)
      for (int32_t s : port.planes) outputs_.push_back({s, slot_val[static_cast<size_t>(s)]});
  }

  const Op& op_of(int v) const { return ops_[static_cast<size_t>(v - n_inputs_)]; }

  // Post-order from the outputs: each op right after the ops it reads (iterative DFS).
  void order_depth_first() {
    std::vector<char> done(home_.size(), 0);
    std::vector<std::pair<int, int>> stack;  // (value, next operand to visit)
    for (const auto& [slot, root] : outputs_) {
      (void)slot;
      if (root < n_inputs_ || done[static_cast<size_t>(root)]) continue;
      stack.push_back({root, 0});
      while (!stack.empty()) {
        auto& [v, k] = stack.back();
        if (k < 3) {
          const Op& o = op_of(v);
          const int x = k == 0 ? o.a : k == 1 ? o.b : o.c;
          ++k;
          if (x >= n_inputs_ && !done[static_cast<size_t>(x)] &&
              truth_table_depends(o.imm, k - 1)) {
            done[static_cast<size_t>(x)] = 1;  // marked on entry: each value is pushed once
            stack.push_back({x, 0});
          }
          continue;
        }
        order_.push_back(v);
        done[static_cast<size_t>(v)] = 1;
        stack.pop_back();
      }
    }
  }

  // Operands an op really reads (those its table depends on), deduplicated.
  std::vector<int> read_by(const Op& o) const {
    std::vector<int> r;
    const int x[3] = {o.a, o.b, o.c};
    for (int j = 0; j < 3; ++j)
      if (truth_table_depends(o.imm, j) && std::find(r.begin(), r.end(), x[j]) == r.end())
        r.push_back(x[j]);
    return r;
  }

  void uses() {
    use_pos_.assign(home_.size(), {});
    for (size_t i = 0; i < order_.size(); ++i)
      for (int x : read_by(op_of(order_[i])))
        use_pos_[static_cast<size_t>(x)].push_back(static_cast<int64_t>(i));
    const int64_t end = static_cast<int64_t>(order_.size());
    for (const auto& [slot, v] : outputs_) {
      (void)slot;
      if (use_pos_[static_cast<size_t>(v)].empty() ||
          use_pos_[static_cast<size_t>(v)].back() != end)
        use_pos_[static_cast<size_t>(v)].push_back(end);
    }
  }

  // The next position >= pos at which v is read (INT64_MAX: never).
  int64_t next_use(int v, int64_t pos) const {
    const auto& u = use_pos_[static_cast<size_t>(v)];
    const auto it = std::lower_bound(u.begin(), u.end(), pos);
    return it != u.end() ? *it : std::numeric_limits<int64_t>::max();
  }

  int64_t new_spill_slot() {
    if (!free_spill_.empty()) {
      const int64_t s = free_spill_.back();
      free_spill_.pop_back();
      return s;
    }
    return p_.num_slots + spill_top_++;
  }

  // A register for a new value at position pos, never one of `keep`: a free one, else the one
  // whose value is read furthest in the future (stored first if it has no home and is read again).
  int take_register(int64_t pos, const std::vector<int>& keep) {
    int best = -1;
    int64_t best_use = -1;
    for (int r = 0; r < kRegs; ++r) {
      if (std::find(keep.begin(), keep.end(), r) != keep.end()) continue;
      const int v = reg_val_[r];
      if (v < 0) return r;
      const int64_t u = next_use(v, pos);
      if (u > best_use) {
        best_use = u;
        best = r;
      }
    }
    const int v = reg_val_[best];
    if (best_use != std::numeric_limits<int64_t>::max() && home_[static_cast<size_t>(v)] < 0) {
      home_[static_cast<size_t>(v)] = new_spill_slot();
      enc_.store(best, home_[static_cast<size_t>(v)]);
    }
    val_reg_[static_cast<size_t>(v)] = -1;
    reg_val_[best] = -1;
    return best;
  }

  int ensure_in_register(int v, int64_t pos, std::vector<int>& keep) {
    int r = val_reg_[static_cast<size_t>(v)];
    if (r < 0) {
      r = take_register(pos, keep);
      enc_.load(r, home_[static_cast<size_t>(v)]);
      val_reg_[static_cast<size_t>(v)] = r;
      reg_val_[r] = v;
    }
    keep.push_back(r);
    return r;
  }

  void allocate_and_emit() {
    val_reg_.assign(home_.size(), -1);
    std::fill(reg_val_, reg_val_ + kRegs, -1);
    for (size_t i = 0; i < order_.size(); ++i) {
      const int64_t pos = static_cast<int64_t>(i);
      const int v = order_[i];
      const Op& o = op_of(v);
      const std::vector<int> rd = read_by(o);
      auto dies_here = [&](int x) {
        return next_use(x, pos + 1) == std::numeric_limits<int64_t>::max();
      };
      // Source 1 (overwritten by the result): an operand in a register that dies here, else one
      // that must be loaded anyway (memory keeps it), else a copy.
      int s1 = -1;
      for (int x : rd)
        if (val_reg_[static_cast<size_t>(x)] >= 0 && dies_here(x)) {
          s1 = x;
          break;
        }
      if (s1 < 0)
        for (int x : rd)
          if (val_reg_[static_cast<size_t>(x)] < 0) {
            s1 = x;
            break;
          }
      if (s1 < 0) s1 = rd[0];
      // Source 3 may stay in memory; source 2 is the remaining one (or repeats source 1).
      std::vector<int> rest;
      for (int x : rd)
        if (x != s1) rest.push_back(x);
      int s3 = -1, s2 = -1;
      for (int x : rest)
        if (val_reg_[static_cast<size_t>(x)] < 0 && s3 < 0) s3 = x;
      for (int x : rest)
        if (x != s3 && s2 < 0) s2 = x;
      if (s3 < 0 && !rest.empty()) {
        s3 = (s2 == rest.back() && rest.size() > 1) ? rest.front() : rest.back();
        if (s3 == s2) s2 = -1;
      }
      // Registers that hold this op's operands are never taken for its other needs.
      std::vector<int> keep;
      for (int y : rd)
        if (val_reg_[static_cast<size_t>(y)] >= 0) keep.push_back(val_reg_[static_cast<size_t>(y)]);
      const int r2 = s2 >= 0 ? ensure_in_register(s2, pos, keep) : -1;
      const int r3 = s3 >= 0 ? val_reg_[static_cast<size_t>(s3)] : -1;
      // The destination register, holding source 1.
      int d = val_reg_[static_cast<size_t>(s1)];
      if (d >= 0 && dies_here(s1)) {
        val_reg_[static_cast<size_t>(s1)] = -1;
      } else {
        const int from = d;
        d = take_register(pos, keep);
        if (from >= 0)
          enc_.move(d, from);
        else
          enc_.load(d, home_[static_cast<size_t>(s1)]);
      }
      // Which source feeds each program operand (ignored operands: source 1).
      const int x[3] = {o.a, o.b, o.c};
      int src[3];
      for (int j = 0; j < 3; ++j)
        src[j] = !truth_table_depends(o.imm, j) ? 1 : x[j] == s1 ? 1 : x[j] == s2 ? 2 : 3;
      const int r2eff = r2 >= 0 ? r2 : d;
      const uint8_t imm = instruction_imm(o.imm, src);
      if (s3 < 0)
        enc_.tern(d, r2eff, d, imm);  // source 3 unused: any register
      else if (r3 >= 0)
        enc_.tern(d, r2eff, r3, imm);
      else
        enc_.tern_mem(d, r2eff, home_[static_cast<size_t>(s3)], imm);
      reg_val_[d] = v;
      val_reg_[static_cast<size_t>(v)] = d;
      // Operands read for the last time give back their registers and spill slots.
      for (int y : rd) {
        if (!dies_here(y)) continue;
        const int r = val_reg_[static_cast<size_t>(y)];
        if (r >= 0) {
          reg_val_[r] = -1;
          val_reg_[static_cast<size_t>(y)] = -1;
        }
        if (y >= n_inputs_ && home_[static_cast<size_t>(y)] >= 0)
          free_spill_.push_back(home_[static_cast<size_t>(y)]);
      }
    }
    // Outputs into the program's port slots, now that nothing reads the inputs any more.
    for (const auto& [slot, v] : outputs_) {
      if (v < n_inputs_ && home_[static_cast<size_t>(v)] == slot) continue;
      std::vector<int> keep;
      const int r = ensure_in_register(v, static_cast<int64_t>(order_.size()), keep);
      enc_.store(r, slot);
    }
  }

  const BitsliceProgram& p_;
  Encoder enc_;
  int n_inputs_ = 0;
  std::vector<int64_t> home_;
  std::vector<Op> ops_;
  std::vector<std::pair<int32_t, int>> outputs_;  // (port slot, value)
  std::vector<int> order_;
  std::vector<std::vector<int64_t>> use_pos_;
  std::vector<int> val_reg_;
  int reg_val_[kRegs] = {};
  std::vector<int64_t> free_spill_;
  int64_t spill_top_ = 0;
};

}  // namespace

std::unique_ptr<JitOps> JitOps::compile(const BitsliceProgram& program) {
#if defined(__x86_64__)
  Generator gen(program);
  gen.run();
  const std::vector<uint8_t>& code = gen.code();
  void* mem =
      mmap(nullptr, code.size(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return nullptr;
  std::memcpy(mem, code.data(), code.size());
  if (mprotect(mem, code.size(), PROT_READ | PROT_EXEC) != 0) {
    munmap(mem, code.size());
    return nullptr;
  }
  std::unique_ptr<JitOps> j(new JitOps());
  j->code_ = mem;
  j->size_ = code.size();
  j->extra_slots_ = gen.extra_slots();
  return j;
#else
  (void)program;
  return nullptr;
#endif
}

JitOps::~JitOps() {
#if defined(__x86_64__)
  if (code_) munmap(code_, size_);
#endif
}

void JitOps::run(uint64_t* slots) const {
  using Fn = void (*)(uint64_t*);
  Fn f;
  static_assert(sizeof(f) == sizeof(code_));
  std::memcpy(&f, &code_, sizeof(f));
  f(slots);      // samples 0..511: words 0..7 of every plane
  f(slots + 8);  // samples 512..1023: words 8..15
}

}  // namespace difflut::hdl::bitslice
