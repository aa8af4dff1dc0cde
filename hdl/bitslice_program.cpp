// Circuit IR -> BitsliceProgram. Every stage becomes 3-input logic ops in SSA form (with constant
// folding and common-subexpression merging at the op level), then the ops are scheduled by depth
// and truth table into groups and given slots by a linear scan over the schedule.
#include "hdl/bitslice_program.h"

#include <algorithm>
#include <deque>
#include <map>
#include <tuple>
#include <unordered_map>

#include "tensor/error.h"

namespace difflut::hdl {

namespace {

// Truth table of f over (a, b, c), bit (a | b << 1 | c << 2).
template <typename F>
constexpr uint8_t truth(F f) {
  uint8_t t = 0;
  for (int x = 0; x < 8; ++x)
    if (f((x & 1) != 0, (x & 2) != 0, (x & 4) != 0)) t = static_cast<uint8_t>(t | (1u << x));
  return t;
}
constexpr uint8_t kAnd = truth([](bool a, bool b, bool) { return a && b; });
constexpr uint8_t kOr = truth([](bool a, bool b, bool) { return a || b; });
constexpr uint8_t kXor2 = truth([](bool a, bool b, bool) { return a != b; });
constexpr uint8_t kXor3 = truth([](bool a, bool b, bool c) { return (a != b) != c; });
constexpr uint8_t kMaj =
    truth([](bool a, bool b, bool c) { return (a && b) || (a && c) || (b && c); });
constexpr uint8_t kMux = truth([](bool lo, bool hi, bool sel) { return sel ? hi : lo; });
// One step of x > y from the least significant bit up: g' = x & !y | (x == y) & g.
constexpr uint8_t kGtStep =
    truth([](bool x, bool y, bool g) { return (x && !y) || (x == y && g); });

constexpr int kZero = 0, kOne = 1;  // SSA ids of the constants (and their slots)

struct SsaOp {
  int a, b, c;
  uint8_t imm;
};

// SSA values: 0, 1 = constants; then comparators; then ops (ids >= op_base once comparators are
// fixed, which they are: the front end is built before any op).
class Builder {
 public:
  // A comparator plane: x[feature] >= threshold, over input words of `width` bits.
  int compare_input(int64_t feature, uint32_t threshold, int width) {
    if (threshold == 0) return kOne;
    if (threshold >= (uint64_t{1} << width)) return kZero;
    DIFFLUT_CHECK(threshold <= 255, "hdl.bitslice: threshold ", threshold,
                  " needs more than 8 bits");
    const auto key = std::make_pair(feature, threshold);
    auto it = cmp_of_.find(key);
    if (it != cmp_of_.end()) return it->second;
    DIFFLUT_CHECK(ops_.empty(), "hdl.bitslice: internal error: comparator after the first op");
    const int id = next_id();
    cmps_.push_back({feature, threshold, id});
    cmp_of_[key] = id;
    return id;
  }

  // f_imm(a, b, c), simplified: constants and repeated operands folded into the table, operands
  // the table ignores dropped, operands sorted, identities and constants returned as they are,
  // and identical ops merged.
  int tern(uint8_t imm, int a, int b, int c) {
    int v[3] = {a, b, c};
    uint8_t t = imm;
    for (int i = 0; i < 3; ++i) {
      if (v[i] == kZero || v[i] == kOne) t = fix(t, i, v[i] == kOne);
      for (int j = 0; j < i; ++j)
        if (v[i] == v[j]) t = tie(t, j, i);
    }
    for (int i = 0; i < 3; ++i)
      if (!truth_table_depends(t, i)) v[i] = kZero;
    if (t == 0x00) return kZero;
    if (t == 0xff) return kOne;
    // Canonical operand order: of the six orders, the one with the smallest table (ties: larger
    // ids first). Functions equal up to operand order then share one table, so the leaves of
    // thousands of LUTs fall into about 80 truth-table classes instead of 256 (fewer, larger
    // groups), and identical ops are found whatever order their operands came in.
    static constexpr int kPerms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                         {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    uint8_t p = 0;
    int s[3] = {0, 0, 0};
    bool first = true;
    for (const auto& order : kPerms) {
      uint8_t q = 0;
      for (int x = 0; x < 8; ++x) {
        int old = 0;
        for (int i = 0; i < 3; ++i)
          if (x & (1 << i)) old |= 1 << order[i];
        if (t & (1u << old)) q = static_cast<uint8_t>(q | (1u << x));
      }
      const int cand[3] = {v[order[0]], v[order[1]], v[order[2]]};
      const bool better = first || q < p ||
                          (q == p && std::make_tuple(cand[0], cand[1], cand[2]) >
                                         std::make_tuple(s[0], s[1], s[2]));
      if (better) {
        p = q;
        for (int i = 0; i < 3; ++i) s[i] = cand[i];
        first = false;
      }
    }
    for (int i = 0; i < 3; ++i)  // the identity of one operand
      if (p == truth_of_var(i)) return s[i];
    const auto key = std::make_tuple(p, s[0], s[1], s[2]);
    auto it = op_of_.find(key);
    if (it != op_of_.end()) return it->second;
    const int id = next_id();
    ops_.push_back({s[0], s[1], s[2], p});
    op_of_[key] = id;
    return id;
  }

  int mux(int sel, int hi, int lo) { return tern(kMux, lo, hi, sel); }

  // A LUT node: inputs (address bit order) and its 2^k table.
  int lut(const std::vector<int>& in, const uint8_t* table) {
    const int k = static_cast<int>(in.size());
    if (k == 0) return table[0] ? kOne : kZero;
    auto leaf = [&](int64_t h) {  // LUT3 over inputs 0..2 of sub-table h
      uint8_t t = 0;
      const int kk = std::min(k, 3);
      for (int x = 0; x < 8; ++x)
        if (table[h * (int64_t{1} << kk) + (x & ((1 << kk) - 1))])
          t = static_cast<uint8_t>(t | (1u << x));
      return tern(t, in[0], kk > 1 ? in[1] : kZero, kk > 2 ? in[2] : kZero);
    };
    if (k <= 3) return leaf(0);
    std::vector<int> level;
    for (int64_t h = 0; h < (int64_t{1} << (k - 3)); ++h) level.push_back(leaf(h));
    for (int l = 3; l < k; ++l) {  // Shannon on input l: pairs (bit l = 0, bit l = 1)
      std::vector<int> next;
      for (size_t i = 0; i < level.size(); i += 2)
        next.push_back(mux(in[static_cast<size_t>(l)], level[i + 1], level[i]));
      level = std::move(next);
    }
    return level[0];
  }

  // x >= t for a bit-sliced unsigned word x (planes LSB first).
  int ge_const(const std::vector<int>& x, uint64_t t) {
    if (t == 0) return kOne;
    if (x.size() < 64 && t >= (uint64_t{1} << x.size())) return kZero;
    int r = kOne;  // x[0..i] >= t[0..i]
    for (size_t i = 0; i < x.size(); ++i)
      r = ((t >> i) & 1) ? tern(kAnd, x[i], r, kZero) : tern(kOr, x[i], r, kZero);
    return r;
  }

  // x > y, both bit-sliced words of the same width.
  int greater(const std::vector<int>& x, const std::vector<int>& y) {
    int g = kZero;
    for (size_t i = 0; i < x.size(); ++i) g = tern(kGtStep, x[i], y[i], g);
    return g;
  }

  // Popcount of `bits` plus `offset`, as `width` planes. Full adders take bits of one weight three
  // at a time from the front of a queue and put the sum at the back (a balanced tree: the depth
  // grows with log1.5 of the count); half adders finish a weight with two left.
  std::vector<int> popcount(const std::vector<int>& bits, int64_t offset, int width) {
    std::vector<int> out;
    std::deque<int> col(bits.begin(), bits.end());
    for (int w = 0; w < width; ++w) {
      std::deque<int> carries;
      // The constant offset enters as one more bit of each weight.
      if ((offset >> w) & 1) col.push_back(kOne);
      while (col.size() >= 3) {
        const int a = col[0], b = col[1], c = col[2];
        col.erase(col.begin(), col.begin() + 3);
        col.push_back(tern(kXor3, a, b, c));
        carries.push_back(tern(kMaj, a, b, c));
      }
      if (col.size() == 2) {
        const int a = col[0], b = col[1];
        col.clear();
        col.push_back(tern(kXor2, a, b, kZero));
        carries.push_back(tern(kAnd, a, b, kZero));
      }
      out.push_back(col.empty() ? kZero : col[0]);
      col = std::move(carries);
    }
    return out;  // carries beyond `width` are zero: the stage width holds offset + count
  }

  const std::vector<SsaOp>& ops() const { return ops_; }
  int op_base() const { return 2 + static_cast<int>(cmps_.size()); }
  struct Cmp {
    int64_t feature;
    uint32_t threshold;
    int id;
  };
  const std::vector<Cmp>& cmps() const { return cmps_; }

 private:
  int next_id() { return 2 + static_cast<int>(cmps_.size() + ops_.size()); }
  static constexpr uint8_t truth_of_var(int i) { return i == 0 ? 0xaa : i == 1 ? 0xcc : 0xf0; }
  // Operand i fixed to v.
  static uint8_t fix(uint8_t t, int i, bool v) {
    uint8_t r = 0;
    for (int x = 0; x < 8; ++x) {
      const int y = v ? (x | (1 << i)) : (x & ~(1 << i));
      if ((t >> y) & 1) r = static_cast<uint8_t>(r | (1u << x));
    }
    return r;
  }
  // Operand i equal to operand j (i < j is not required): bit j follows bit i.
  static uint8_t tie(uint8_t t, int i, int j) {
    uint8_t r = 0;
    for (int x = 0; x < 8; ++x) {
      const int y = ((x >> i) & 1) ? (x | (1 << j)) : (x & ~(1 << j));
      if ((t >> y) & 1) r = static_cast<uint8_t>(r | (1u << x));
    }
    return r;
  }

  std::vector<Cmp> cmps_;
  std::map<std::pair<int64_t, uint32_t>, int> cmp_of_;
  std::vector<SsaOp> ops_;
  std::map<std::tuple<uint8_t, int, int, int>, int> op_of_;
};

// A stage's words during compilation: words read from the input carry their feature index (the
// front end compares them); every other word is a vector of planes (LSB first).
struct Word {
  int64_t feature = -1;
  std::vector<int> planes;
};

}  // namespace

bool truth_table_depends(uint8_t imm, int operand) {
  for (int x = 0; x < 8; ++x)
    if (((imm >> x) & 1) != ((imm >> (x ^ (1 << operand))) & 1)) return true;
  return false;
}

int BitsliceProgram::port_index(const std::string& name) const {
  for (size_t p = 0; p < ports.size(); ++p)
    if (ports[p].name == name) return static_cast<int>(p);
  return -1;
}

std::string BitsliceProgram::summary() const {
  return str_cat("comparators ", cmp_feature.size(), ", ops ", ops.size(), " in ", groups.size(),
                 " groups, slots ", num_slots);
}

BitsliceProgram compile_bitslice(const Circuit& circuit) {
  circuit.validate();
  const Stage& in = circuit.input();
  DIFFLUT_CHECK(in.width <= 8, "hdl.bitslice: input words of ", in.width,
                " bits; the compiled engine reads raw codes of at most 8 bits");
  Builder bld;
  // Comparators first (the front end fills their planes before any op runs): the compare stages
  // over input words, and input bits read directly (x >= 1).
  std::vector<std::vector<Word>> val(circuit.stages.size());
  for (int64_t f = 0; f < in.size; ++f) val[0].push_back({f, {}});
  auto input_bit = [&](const Word& w) {
    return w.feature >= 0 ? bld.compare_input(w.feature, 1, in.width) : w.planes.at(0);
  };
  // Pass 1 registers every comparator (so that their ids precede all ops), pass 2 builds the ops.
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t s = 1; s < circuit.stages.size(); ++s) {
      const Stage& st = circuit.stages[s];
      const std::vector<Word>& src = val[static_cast<size_t>(st.source)];
      std::vector<Word>& out = val[s];
      out.clear();
      const bool src_input = !src.empty() && src[0].feature >= 0;
      if (pass == 0) {
        // Only wires over the input and comparators / bit reads of input words matter here.
        if (!src_input) continue;
        if (st.kind == StageKind::wires) {
          for (int64_t m : st.index) out.push_back(src[static_cast<size_t>(m)]);
        } else {
          if (st.kind == StageKind::compare) {
            for (int64_t m = 0; m < st.size; ++m)
              bld.compare_input(src[static_cast<size_t>(st.index[static_cast<size_t>(m)])].feature,
                                st.threshold[static_cast<size_t>(m)], in.width);
          } else if (st.kind == StageKind::lut || st.kind == StageKind::popcount) {
            for (const Word& w : src) input_bit(w);
          }
        }
        continue;
      }
      switch (st.kind) {
        case StageKind::wires:
          for (int64_t m : st.index) out.push_back(src[static_cast<size_t>(m)]);
          break;
        case StageKind::compare:
          for (int64_t m = 0; m < st.size; ++m) {
            const Word& w = src[static_cast<size_t>(st.index[static_cast<size_t>(m)])];
            const uint32_t t = st.threshold[static_cast<size_t>(m)];
            out.push_back({-1,
                           {w.feature >= 0 ? bld.compare_input(w.feature, t, in.width)
                                           : bld.ge_const(w.planes, t)}});
          }
          break;
        case StageKind::lut: {
          const LutLayout l = lut_layout(st);
          std::vector<int> ins;
          for (int64_t j = 0; j < st.size; ++j) {
            ins.clear();
            for (int64_t i = l.input_begin[static_cast<size_t>(j)];
                 i < l.input_begin[static_cast<size_t>(j) + 1]; ++i)
              ins.push_back(input_bit(src[static_cast<size_t>(i)]));
            out.push_back(
                {-1, {bld.lut(ins, st.table.data() + l.table_begin[static_cast<size_t>(j)])}});
          }
          break;
        }
        case StageKind::popcount:
          for (int64_t c = 0; c < st.size; ++c) {
            std::vector<int> bits;
            for (int64_t m = st.group_begin[static_cast<size_t>(c)];
                 m < st.group_end[static_cast<size_t>(c)]; ++m)
              bits.push_back(input_bit(src[static_cast<size_t>(m)]));
            out.push_back({-1, bld.popcount(bits, st.group_offset(c), st.width)});
          }
          break;
        case StageKind::argmax: {
          DIFFLUT_CHECK(!src_input,
                        "hdl.bitslice: an argmax over raw input words is not supported");
          // Tournament as in the Verilog: the right (higher-index) candidate wins only if strictly
          // greater, and left subtrees hold the lower indices, so the first maximum wins.
          struct Cand {
            std::vector<int> value, index;
          };
          std::vector<Cand> cands;
          for (size_t i = 0; i < src.size(); ++i) {
            Cand c{src[i].planes, {}};
            for (int b = 0; b < st.width; ++b) c.index.push_back(((i >> b) & 1) ? kOne : kZero);
            cands.push_back(std::move(c));
          }
          while (cands.size() > 1) {
            std::vector<Cand> next;
            for (size_t i = 0; i + 1 < cands.size(); i += 2) {
              const Cand& l = cands[i];
              const Cand& r = cands[i + 1];
              const int take = bld.greater(r.value, l.value);
              Cand w;
              if (cands.size() > 2)
                for (size_t b = 0; b < l.value.size(); ++b)
                  w.value.push_back(bld.mux(take, r.value[b], l.value[b]));
              for (size_t b = 0; b < l.index.size(); ++b)
                w.index.push_back(bld.mux(take, r.index[b], l.index[b]));
              next.push_back(std::move(w));
            }
            if (cands.size() % 2) next.push_back(cands.back());
            cands = std::move(next);
          }
          out.push_back({-1, cands.empty() ? std::vector<int>(static_cast<size_t>(st.width), kZero)
                                           : cands[0].index});
          break;
        }
        case StageKind::input: break;
      }
    }
  }

  BitsliceProgram p;
  p.input_words = in.size;
  p.input_width = in.width;
  std::vector<std::vector<int>> port_values;
  for (const OutputPort& o : circuit.outputs) {
    const Stage& st = circuit.stages[static_cast<size_t>(o.stage)];
    BitslicePort port;
    port.name = o.port;
    port.words = st.size;
    port.width = st.width;
    std::vector<int> v;
    for (const Word& w : val[static_cast<size_t>(o.stage)]) {
      if (w.feature >= 0) {
        // A port of raw input words: each bit j as a threshold test is not possible; bits only.
        DIFFLUT_CHECK(st.width == 1, "hdl.bitslice: output port '", o.port,
                      "' passes raw input words through; not supported by the compiled engine");
        v.push_back(bld.compare_input(w.feature, 1, in.width));
      } else {
        v.insert(v.end(), w.planes.begin(), w.planes.end());
      }
    }
    DIFFLUT_CHECK(static_cast<int64_t>(v.size()) == st.size * st.width,
                  "hdl.bitslice: internal error: port '", o.port, "' planes");
    DIFFLUT_CHECK(st.width <= 32, "hdl.bitslice: port words wider than 32 bits");
    port_values.push_back(std::move(v));
    p.ports.push_back(std::move(port));
  }

  // --- liveness: which values are read, and when each is read for the last time ------------------
  const int op_base = bld.op_base();
  const std::vector<SsaOp>& ops = bld.ops();
  const int n_values = op_base + static_cast<int>(ops.size());
  std::vector<char> needed(static_cast<size_t>(n_values), 0);
  for (const auto& v : port_values)
    for (int x : v) needed[static_cast<size_t>(x)] = 1;
  for (int i = static_cast<int>(ops.size()) - 1; i >= 0; --i) {
    if (!needed[static_cast<size_t>(op_base + i)]) continue;
    const SsaOp& o = ops[static_cast<size_t>(i)];
    needed[static_cast<size_t>(o.a)] = needed[static_cast<size_t>(o.b)] =
        needed[static_cast<size_t>(o.c)] = 1;
  }
  // The schedule. Ops are cut into chunks of kChunkOps in creation order (creation order is
  // topological, and the builder creates one LUT node's ops together), and each chunk is ordered
  // by its local depth, then truth table, then creation order: ops of one local depth only read
  // earlier chunks or lower depths, so each (chunk, depth, table) run is a group. Why chunks: a
  // whole layer ordered by depth would compute every LUT3 leaf of the layer before its first mux
  // (16,000 live planes, 2 MB per 1024-sample block for the default model: out of L2); one
  // chunk's leaves are far fewer (5,734 slots in all for that model, against 22,328 when a whole
  // layer was ordered by depth), and a chunk still has few tables (3-input functions fall into
  // 80 classes under operand order).
  constexpr int kChunkOps = 4096;
  std::vector<int> depth(static_cast<size_t>(n_values), 0);
  std::vector<int> order;
  for (int i = 0; i < static_cast<int>(ops.size()); ++i) {
    const SsaOp& o = ops[static_cast<size_t>(i)];
    int d = 0;
    for (int x : {o.a, o.b, o.c})
      if (x >= op_base && (x - op_base) / kChunkOps == i / kChunkOps)
        d = std::max(d, depth[static_cast<size_t>(x)]);
    depth[static_cast<size_t>(op_base + i)] = d + 1;
    if (needed[static_cast<size_t>(op_base + i)]) order.push_back(i);
  }
  auto chunk_depth = [&](int i) {
    return std::make_pair(i / kChunkOps, depth[static_cast<size_t>(op_base + i)]);
  };
  std::stable_sort(order.begin(), order.end(), [&](int x, int y) {
    if (chunk_depth(x) != chunk_depth(y)) return chunk_depth(x) < chunk_depth(y);
    return ops[static_cast<size_t>(x)].imm < ops[static_cast<size_t>(y)].imm;
  });
  // Groups: runs of one (depth, imm).
  std::vector<std::pair<int64_t, int64_t>> runs;
  for (size_t i = 0; i < order.size(); ++i) {
    const bool fresh =
        i == 0 || chunk_depth(order[i]) != chunk_depth(order[i - 1]) ||
        ops[static_cast<size_t>(order[i])].imm != ops[static_cast<size_t>(order[i - 1])].imm;
    if (fresh) runs.push_back({static_cast<int64_t>(i), static_cast<int64_t>(i)});
    runs.back().second = static_cast<int64_t>(i) + 1;
  }
  // Last reader (group index) of every value; port values live to the end.
  std::vector<int64_t> last_group(static_cast<size_t>(n_values), -1);
  for (size_t g = 0; g < runs.size(); ++g)
    for (int64_t i = runs[g].first; i < runs[g].second; ++i) {
      const SsaOp& o = ops[static_cast<size_t>(order[static_cast<size_t>(i)])];
      for (int x : {o.a, o.b, o.c}) last_group[static_cast<size_t>(x)] = static_cast<int64_t>(g);
    }
  const int64_t forever = static_cast<int64_t>(runs.size());
  for (const auto& v : port_values)
    for (int x : v) last_group[static_cast<size_t>(x)] = forever;

  // --- slots: a linear scan over the groups; a slot freed by a group is reusable only by later
  // groups, so inside a group no slot is both read and written ---------------------------------
  std::vector<int32_t> slot(static_cast<size_t>(n_values), -1);
  slot[kZero] = 0;
  slot[kOne] = 1;
  std::vector<int32_t> free_slots;
  int32_t next_slot = 2;
  auto allocate = [&]() {
    if (!free_slots.empty()) {
      const int32_t s = free_slots.back();
      free_slots.pop_back();
      return s;
    }
    return next_slot++;
  };
  std::vector<std::vector<int>> dies_after(runs.size());
  for (int x = 2; x < n_values; ++x) {
    const int64_t g = last_group[static_cast<size_t>(x)];
    if (g >= 0 && g < forever && needed[static_cast<size_t>(x)])
      dies_after[static_cast<size_t>(g)].push_back(x);
  }
  std::vector<size_t> cmp_order(bld.cmps().size());
  for (size_t i = 0; i < cmp_order.size(); ++i) cmp_order[i] = i;
  std::sort(cmp_order.begin(), cmp_order.end(), [&](size_t x, size_t y) {
    const auto& a = bld.cmps()[x];
    const auto& b = bld.cmps()[y];
    return std::tie(a.feature, a.threshold) < std::tie(b.feature, b.threshold);
  });
  for (size_t i : cmp_order) {
    const auto& c = bld.cmps()[i];
    if (!needed[static_cast<size_t>(c.id)]) continue;  // read by nothing the outputs need
    slot[static_cast<size_t>(c.id)] = allocate();
    p.cmp_feature.push_back(static_cast<int32_t>(c.feature));
    p.cmp_threshold.push_back(static_cast<uint8_t>(c.threshold));
    p.cmp_slot.push_back(slot[static_cast<size_t>(c.id)]);
  }
  for (size_t g = 0; g < runs.size(); ++g) {
    BitsliceGroup grp{ops[static_cast<size_t>(order[static_cast<size_t>(runs[g].first)])].imm,
                      static_cast<int64_t>(p.ops.size()), 0};
    for (int64_t i = runs[g].first; i < runs[g].second; ++i) {
      const int id = order[static_cast<size_t>(i)];
      const SsaOp& o = ops[static_cast<size_t>(id)];
      const int32_t dst = allocate();
      slot[static_cast<size_t>(op_base + id)] = dst;
      p.ops.push_back({dst, slot[static_cast<size_t>(o.a)], slot[static_cast<size_t>(o.b)],
                       slot[static_cast<size_t>(o.c)]});
    }
    grp.end = static_cast<int64_t>(p.ops.size());
    p.groups.push_back(grp);
    for (int x : dies_after[g]) free_slots.push_back(slot[static_cast<size_t>(x)]);
  }
  p.num_slots = next_slot;
  for (size_t q = 0; q < p.ports.size(); ++q)
    for (int x : port_values[q]) p.ports[q].planes.push_back(slot[static_cast<size_t>(x)]);
  return p;
}

std::vector<std::vector<uint32_t>> interpret_bitslice(const BitsliceProgram& p,
                                                      const uint8_t* codes, int64_t n) {
  const int64_t F = p.input_words;
  std::vector<std::vector<uint32_t>> out(p.ports.size());
  for (size_t q = 0; q < p.ports.size(); ++q)
    out[q].assign(static_cast<size_t>(n * p.ports[q].words), 0);
  std::vector<uint64_t> slot(static_cast<size_t>(p.num_slots), 0);
  for (int64_t base = 0; base < n; base += 64) {
    const int64_t m = std::min<int64_t>(64, n - base);
    slot[0] = 0;
    slot[1] = ~uint64_t{0};
    for (size_t i = 0; i < p.cmp_feature.size(); ++i) {
      uint64_t w = 0;
      for (int64_t s = 0; s < m; ++s)
        if (codes[(base + s) * F + p.cmp_feature[i]] >= p.cmp_threshold[i]) w |= uint64_t{1} << s;
      slot[static_cast<size_t>(p.cmp_slot[i])] = w;
    }
    for (const BitsliceGroup& g : p.groups)
      for (int64_t i = g.begin; i < g.end; ++i) {
        const BitsliceOp& o = p.ops[static_cast<size_t>(i)];
        const uint64_t a = slot[static_cast<size_t>(o.a)], b = slot[static_cast<size_t>(o.b)],
                       c = slot[static_cast<size_t>(o.c)];
        uint64_t r = 0;
        for (int x = 0; x < 8; ++x) {
          if (!((g.imm >> x) & 1)) continue;
          r |= ((x & 1) ? a : ~a) & ((x & 2) ? b : ~b) & ((x & 4) ? c : ~c);
        }
        slot[static_cast<size_t>(o.dst)] = r;
      }
    for (size_t q = 0; q < p.ports.size(); ++q) {
      const BitslicePort& port = p.ports[q];
      for (int64_t w = 0; w < port.words; ++w)
        for (int j = 0; j < port.width; ++j) {
          const uint64_t plane =
              slot[static_cast<size_t>(port.planes[static_cast<size_t>(w * port.width + j)])];
          for (int64_t s = 0; s < m; ++s)
            out[q][static_cast<size_t>((base + s) * port.words + w)] |=
                static_cast<uint32_t>((plane >> s) & 1) << j;
        }
    }
  }
  return out;
}

}  // namespace difflut::hdl
