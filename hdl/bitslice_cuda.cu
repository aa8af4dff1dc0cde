// The bit-sliced CUDA inference engine (bitslice_cuda.h): one fused kernel runs a BitsliceProgram
// over tiles of samples. The host side validates the program, reschedules its ops into stages,
// picks the tile size for the GPU at hand and uploads everything once.
//
// Why this shape. A program's working set is its slot count (a few thousand planes for the
// default model): far more than registers hold, so the slots live in memory. A block owns a tile of
// T plane words (32 T samples) and every slot of that tile, laid out [slot][word], in shared memory
// whenever that fits (each op is then three shared loads, one LOP3 and one shared store per word)
// and in a per-block region of global memory otherwise. Slots are per block, not per batch, so
// memory use does not grow with the batch: blocks stride over tiles and reuse their slots.
// Parallelism inside a tile comes from independent ops: the host reschedules the ops into stages
// (levels of the circuit, slots given again) whose ops neither read nor overwrite each other's
// results; every thread takes a share of each stage (lane l of a warp works on word l % T of op
// l / T, so the T lanes of one op touch consecutive words), and a block barrier separates stages.
// Within a stage the ops are sorted by truth table, so a thread dispatches on the immediate once
// per segment (a run of one immediate) into a loop whose LOP3 has the immediate compiled in.
// Everything is owner-computes: deterministic, no atomics.
#include <algorithm>
#include <array>
#include <limits>
#include <utility>

#include "hdl/bitslice_cuda.h"
#include "tensor/cuda_utils.h"
#include "tensor/device.h"

namespace difflut::hdl {
namespace {

constexpr int kBlockThreads = 256;
constexpr int kBlockWarps = kBlockThreads / 32;
constexpr int kMaxLog2TileWords = 5;  // 32 words: one op per warp, 128-byte rows
// Global-memory slots (programs whose slots do not fit in shared memory even at one word per tile)
// are capped at this many bytes over all blocks, so that they stay resident in the L2 cache
// (50 MB on H100 and H200); the grid shrinks instead.
constexpr int64_t kGlobalScratchBudget = int64_t{40} << 20;
// Shared memory the runtime reserves per block, on top of the dynamic allocation.
constexpr int64_t kSharedReservePerBlock = 1024;

// One output word of one port, as the back end writes it.
struct PortWord {
  int32_t planes;  // its first plane in port_planes (width entries)
  int32_t width;   // bits of the word
  int32_t words;   // words per sample of its port
  int32_t col;     // which word of the port this is
  int32_t prefix;  // words per sample of the ports stored before it in the output buffer
};

// f_imm(a, b, c) on 32 samples at once. PTX indexes its table as (first << 2 | second << 1 | third),
// the program as (a | b << 1 | c << 2), so the operands go in reversed.
template <int kImm>
__device__ __forceinline__ uint32_t lop3(uint32_t a, uint32_t b, uint32_t c) {
  uint32_t r;
  asm("lop3.b32 %0, %1, %2, %3, %4;" : "=r"(r) : "r"(c), "r"(b), "r"(a), "n"(kImm));
  return r;
}

// This thread's ops i, i + step, ... < end of one segment; `words` is the thread's word of slot 0.
template <int kImm>
__device__ __forceinline__ void run_segment(const int4* __restrict__ ops,  // [num_ops]
                                            int i, int end, int step,
                                            uint32_t* words) {  // [num_slots, T] from this word
  for (; i < end; i += step) {
    const int4 op = __ldg(ops + i);
    words[op.x] = lop3<kImm>(words[op.y], words[op.z], words[op.w]);
  }
}

// The immediate is uniform across the block, so this switch is one indirect jump per segment.
__device__ __forceinline__ void dispatch_segment(int imm,
                                                 const int4* __restrict__ ops,  // [num_ops]
                                                 int i, int end, int step,
                                                 uint32_t* words) {  // [num_slots, T] from here
  switch (imm) {
    // Kept by hand: clang-format cannot settle on one layout for these macros.
    // clang-format off
#define DIFFLUT_BITSLICE_CASE(k) \
  case (k):                      \
    run_segment<(k)>(ops, i, end, step, words); \
    break;
#define DIFFLUT_BITSLICE_CASE4(k)                                             \
  DIFFLUT_BITSLICE_CASE(k) DIFFLUT_BITSLICE_CASE((k) + 1)                     \
  DIFFLUT_BITSLICE_CASE((k) + 2) DIFFLUT_BITSLICE_CASE((k) + 3)
#define DIFFLUT_BITSLICE_CASE16(k)                                            \
  DIFFLUT_BITSLICE_CASE4(k) DIFFLUT_BITSLICE_CASE4((k) + 4)                   \
  DIFFLUT_BITSLICE_CASE4((k) + 8) DIFFLUT_BITSLICE_CASE4((k) + 12)
#define DIFFLUT_BITSLICE_CASE64(k)                                            \
  DIFFLUT_BITSLICE_CASE16(k) DIFFLUT_BITSLICE_CASE16((k) + 16)                \
  DIFFLUT_BITSLICE_CASE16((k) + 32) DIFFLUT_BITSLICE_CASE16((k) + 48)
    DIFFLUT_BITSLICE_CASE64(0)
    DIFFLUT_BITSLICE_CASE64(64)
    DIFFLUT_BITSLICE_CASE64(128)
    DIFFLUT_BITSLICE_CASE64(192)
#undef DIFFLUT_BITSLICE_CASE64
#undef DIFFLUT_BITSLICE_CASE16
#undef DIFFLUT_BITSLICE_CASE4
#undef DIFFLUT_BITSLICE_CASE
    // clang-format on
    default: break;
  }
}

// The whole program on tiles of 32 T samples (T = 1 << log2_tile_words), blocks striding over
// tiles. Per tile: comparator planes (front end), barrier, each stage then a barrier, the requested
// port words (back end), barrier (the next tile's front end overwrites slots the back end reads).
template <bool kShared>
__global__ void __launch_bounds__(kBlockThreads) bitslice_forward_kernel(
    const uint8_t* __restrict__ codes,  // [n, input_words] raw feature codes
    int64_t n, int64_t input_words,
    const uint32_t* __restrict__ cmp_key,  // [num_cmp] feature << 8 | threshold
    const int32_t* __restrict__ cmp_off,   // [num_cmp] slot * T
    int num_cmp,
    const int4* __restrict__ ops,                // [num_ops] (dst, a, b, c) slot * T, by stage
    const int4* __restrict__ segments,           // [num_segments] (begin, end, imm, rot)
    const int32_t* __restrict__ stage_segments,  // [num_stages + 1] segment ranges
    int num_stages,
    const int32_t* __restrict__ port_planes,  // [num_planes] slot * T
    const PortWord* __restrict__ port_words,  // [num_port_words] outputs wanted
    int num_port_words, int num_slots, int log2_tile_words,
    uint32_t* global_scratch,      // [gridDim.x, num_slots, T] (unused if kShared)
    uint32_t* __restrict__ out) {  // [n * sum of words]: see PortWord
  extern __shared__ uint32_t bitslice_shared_slots[];  // [num_slots, T] when kShared
  const int tile_words = 1 << log2_tile_words;
  uint32_t* slots;  // [num_slots, T]
  if constexpr (kShared) {
    slots = bitslice_shared_slots;
  } else {
    slots = global_scratch + static_cast<int64_t>(blockIdx.x) * num_slots * tile_words;
  }
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  // Op workers: thread t is worker t / T on word t % T, so a worker's T threads cover the tile.
  const int num_workers = kBlockThreads >> log2_tile_words;
  const int worker = threadIdx.x >> log2_tile_words;
  uint32_t* const my_words = slots + (threadIdx.x & (tile_words - 1));

  // Slots 0 and 1: the constant planes. Nothing writes them (checked on the host) and nothing
  // reads them before the first barrier below.
  for (int i = threadIdx.x; i < 2 * tile_words; i += kBlockThreads)
    slots[i] = i < tile_words ? 0u : ~0u;

  const int tile_samples_log2 = 5 + log2_tile_words;
  const int64_t tile_samples = int64_t{1} << tile_samples_log2;
  const int64_t num_tiles = (n + tile_samples - 1) >> tile_samples_log2;
  const int num_batches = (num_cmp + 31) / 32;
  for (int64_t tile = blockIdx.x; tile < num_tiles; tile += gridDim.x) {
    const int64_t tile_base = tile << tile_samples_log2;

    // Front end: a warp task is (word, batch of 32 comparators). Lane l tests sample l of the word,
    // reading its own row in feature order (comparators are sorted by feature, so a batch mostly
    // stays within one 32-byte sector of the row); the ballot is the plane. Lane j keeps the plane
    // of comparator j, so the batch's 32 planes are stored by one instruction.
    for (int task = warp; task < tile_words * num_batches; task += kBlockWarps) {
      const int word = task / num_batches;
      const int first = (task - word * num_batches) * 32;
      const int count = min(32, num_cmp - first);
      const int64_t sample = tile_base + word * 32 + lane;
      const bool valid = sample < n;
      const uint8_t* row = codes + (valid ? sample : 0) * input_words;
      const uint32_t my_key = lane < count ? __ldg(cmp_key + first + lane) : 0u;
      uint32_t my_plane = 0;
      for (int j = 0; j < count; ++j) {
        const uint32_t key = __shfl_sync(0xffffffffu, my_key, j);
        const uint32_t x = valid ? __ldg(row + (key >> 8)) : 0u;
        const uint32_t plane = __ballot_sync(0xffffffffu, x >= (key & 255u));
        if (lane == j) my_plane = plane;
      }
      if (lane < count) slots[__ldg(cmp_off + first + lane) + word] = my_plane;
    }
    __syncthreads();

    // Ops, stage by stage. Worker w takes the stage's ops whose index within the stage is w modulo
    // the number of workers (segments carry their start's rotation), which spreads every stage
    // evenly however its segments are cut.
    for (int s = 0; s < num_stages; ++s) {
      const int seg_end = __ldg(stage_segments + s + 1);
      for (int g = __ldg(stage_segments + s); g < seg_end; ++g) {
        const int4 seg = __ldg(segments + g);
        const int i = seg.x + ((worker - seg.w) & (num_workers - 1));
        if (i < seg.y) dispatch_segment(seg.z, ops, i, seg.y, num_workers, my_words);
      }
      __syncthreads();
    }

    // Back end: item = (port word, sample), samples fastest, so a warp reads each plane word once
    // (broadcast) and, for one-word ports such as class_idx, writes 32 consecutive outputs.
    const int items = num_port_words << tile_samples_log2;
    for (int item = threadIdx.x; item < items; item += kBlockThreads) {
      const int q = item >> tile_samples_log2;
      const int local = item & static_cast<int>(tile_samples - 1);
      const int64_t sample = tile_base + local;
      if (sample >= n) continue;
      const PortWord pw = port_words[q];
      const uint32_t* src = slots + (local >> 5);
      const int bit = local & 31;
      uint32_t v = 0;
      for (int j = 0; j < pw.width; ++j)
        v |= ((src[__ldg(port_planes + pw.planes + j)] >> bit) & 1u) << j;
      out[pw.prefix * n + sample * pw.words + pw.col] = v;
    }
    __syncthreads();
  }
}

// A device allocation that only grows; freed on destruction.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  ~DeviceBuffer() { cuda_free_nothrow(ptr_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void reserve(size_t bytes) {
    if (bytes <= bytes_) return;
    cuda_free_nothrow(ptr_);
    ptr_ = nullptr;
    bytes_ = 0;
    ptr_ = cuda_malloc_or_throw(bytes);
    bytes_ = bytes;
  }
  template <class T>
  void upload(const std::vector<T>& v) {
    reserve(std::max<size_t>(1, v.size() * sizeof(T)));
    cuda_memcpy_h2d(ptr_, v.data(), v.size() * sizeof(T));
  }
  template <class T>
  T* get() const {
    return static_cast<T*>(ptr_);
  }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

#define DIFFLUT_BITSLICE_CHECK(cond, ...) DIFFLUT_CHECK(cond, "CudaBitsliceEngine: ", __VA_ARGS__)

// Everything the kernel needs that depends only on the program and T, on the host.
struct PreparedProgram {
  std::vector<uint32_t> cmp_key;           // [num_cmp] feature << 8 | threshold
  std::vector<int32_t> cmp_off;            // [num_cmp] slot * T
  std::vector<int4> ops;                   // [num_ops] (dst, a, b, c) slot * T, stage by stage
  std::vector<int4> segments;              // [num_segments] (begin, end, imm, rotation)
  std::vector<int32_t> stage_segments;     // [num_stages + 1]
  std::vector<int32_t> port_planes;        // every port's planes, slot * T
  std::vector<PortWord> all_port_words;    // every port, in program order
  std::vector<PortWord> class_port_words;  // the class_idx port alone (empty when absent)
  int64_t out_words = 0;                   // words per sample over all ports
  int class_port = -1;
};

// Checks what the kernel relies on, so a malformed program fails here with a clear message rather
// than reading out of bounds or racing on the GPU: slots in range, constants never written,
// comparator slots distinct, groups covering the ops in order, and no slot read before written.
void validate_program(const BitsliceProgram& p) {
  const int64_t num_slots = p.num_slots;
  DIFFLUT_BITSLICE_CHECK(num_slots >= 2 && num_slots < (int64_t{1} << 25),
                         "expected 2 <= num_slots < 2^25, found ", num_slots);
  DIFFLUT_BITSLICE_CHECK(p.input_words >= 0 && p.input_words < (int64_t{1} << 23),
                         "expected 0 <= input_words < 2^23, found ", p.input_words);
  const size_t num_cmp = p.cmp_feature.size();
  DIFFLUT_BITSLICE_CHECK(p.cmp_threshold.size() == num_cmp && p.cmp_slot.size() == num_cmp,
                         "comparator arrays differ in length: features ", num_cmp, ", thresholds ",
                         p.cmp_threshold.size(), ", slots ", p.cmp_slot.size());
  DIFFLUT_BITSLICE_CHECK(num_cmp < (size_t{1} << 30), "too many comparators: ", num_cmp);
  DIFFLUT_BITSLICE_CHECK(p.ops.size() < (size_t{1} << 30), "too many ops: ", p.ops.size());
  std::vector<uint8_t> written(static_cast<size_t>(num_slots), 0);
  written[0] = written[1] = 1;
  std::vector<uint8_t> cmp_written(static_cast<size_t>(num_slots), 0);
  for (size_t i = 0; i < num_cmp; ++i) {
    const int32_t f = p.cmp_feature[i], s = p.cmp_slot[i];
    DIFFLUT_BITSLICE_CHECK(f >= 0 && f < p.input_words, "comparator ", i, " reads feature ", f,
                           ", expected 0..", p.input_words - 1);
    DIFFLUT_BITSLICE_CHECK(s >= 2 && s < num_slots, "comparator ", i, " writes slot ", s,
                           ", expected 2..", num_slots - 1);
    DIFFLUT_BITSLICE_CHECK(!cmp_written[s], "comparators write slot ", s, " twice");
    cmp_written[s] = written[s] = 1;
  }
  int64_t expected_begin = 0;
  for (size_t g = 0; g < p.groups.size(); ++g) {
    const BitsliceGroup& grp = p.groups[g];
    DIFFLUT_BITSLICE_CHECK(grp.begin == expected_begin && grp.end >= grp.begin &&
                               grp.end <= static_cast<int64_t>(p.ops.size()),
                           "group ", g, " covers ops [", grp.begin, ", ", grp.end, "), expected [",
                           expected_begin, ", ...) within ", p.ops.size(), " ops");
    for (int64_t i = grp.begin; i < grp.end; ++i) {
      const BitsliceOp& op = p.ops[i];
      for (int32_t s : {op.a, op.b, op.c}) {
        DIFFLUT_BITSLICE_CHECK(s >= 0 && s < num_slots, "op ", i, " reads slot ", s,
                               ", expected 0..", num_slots - 1);
        DIFFLUT_BITSLICE_CHECK(written[s], "op ", i, " reads slot ", s,
                               " before anything writes it");
      }
      DIFFLUT_BITSLICE_CHECK(op.dst >= 2 && op.dst < num_slots, "op ", i, " writes slot ", op.dst,
                             ", expected 2..", num_slots - 1);
      written[op.dst] = 1;
    }
    expected_begin = grp.end;
  }
  DIFFLUT_BITSLICE_CHECK(expected_begin == static_cast<int64_t>(p.ops.size()), "groups cover ",
                         expected_begin, " of ", p.ops.size(), " ops");
  for (const BitslicePort& port : p.ports) {
    DIFFLUT_BITSLICE_CHECK(port.width >= 1 && port.width <= 32, "port ", port.name, " has width ",
                           port.width, ", expected 1..32");
    DIFFLUT_BITSLICE_CHECK(port.words >= 0 && port.words * port.width < (int64_t{1} << 30), "port ",
                           port.name, " has ", port.words, " words");
    DIFFLUT_BITSLICE_CHECK(static_cast<int64_t>(port.planes.size()) == port.words * port.width,
                           "port ", port.name, " has ", port.planes.size(), " planes, expected ",
                           port.words * port.width);
    for (int32_t s : port.planes) {
      DIFFLUT_BITSLICE_CHECK(s >= 0 && s < num_slots && written[s], "port ", port.name,
                             " reads slot ", s, ", which nothing writes");
    }
  }
}

// The program rescheduled for the GPU. Slot reuse ties the program's ops to their order (a group
// may overwrite a slot that the group before it read), which would cost a block barrier almost
// every group. So the ops are renamed to values (SSA), ops whose values reach no port are dropped,
// each op goes to stage 1 + the latest stage of its operands (comparators and constants are stage
// 0), and slots are given again by a linear scan in which a slot freed by stage s is reused only
// from stage s + 1 on. A stage's ops then neither read nor overwrite each other's results: any
// order, and any split among threads, gives the sequential result, and barriers fall from one per
// group to one per level of the circuit.
struct Schedule {
  int32_t num_slots = 2;
  std::vector<uint32_t> cmp_key;  // [live comparators] feature << 8 | threshold, program order
  std::vector<int32_t> cmp_slot;  // [live comparators]
  std::vector<std::vector<std::pair<uint8_t, BitsliceOp>>> stages;  // (imm, op) by stage from 1
  std::vector<int32_t> port_planes;  // every port's planes in program order, renamed slots
  int64_t num_ops = 0;
};

Schedule schedule_program(const BitsliceProgram& p) {
  const int64_t num_cmp = static_cast<int64_t>(p.cmp_feature.size());
  const int64_t num_ops = static_cast<int64_t>(p.ops.size());
  const int64_t op_base = 2 + num_cmp;  // values: 0, 1 constants, then comparators, then ops
  const int64_t num_values = op_base + num_ops;
  std::vector<int64_t> current(static_cast<size_t>(p.num_slots), -1);  // slot -> value in it
  current[0] = 0;
  current[1] = 1;
  for (int64_t i = 0; i < num_cmp; ++i) current[p.cmp_slot[i]] = 2 + i;
  std::vector<std::array<int64_t, 3>> args(static_cast<size_t>(num_ops));
  std::vector<uint8_t> imm(static_cast<size_t>(num_ops));
  for (const BitsliceGroup& g : p.groups) {
    for (int64_t k = g.begin; k < g.end; ++k) {
      const BitsliceOp& op = p.ops[k];
      args[k] = {current[op.a], current[op.b], current[op.c]};
      imm[k] = g.imm;
      current[op.dst] = op_base + k;
    }
  }
  std::vector<int64_t> port_values;
  for (const BitslicePort& port : p.ports)
    for (int32_t s : port.planes) port_values.push_back(current[s]);

  // Liveness (ops only read earlier values, so one backward pass), levels, last readers.
  std::vector<uint8_t> needed(static_cast<size_t>(num_values), 0);
  needed[0] = needed[1] = 1;
  for (int64_t v : port_values) needed[v] = 1;
  for (int64_t k = num_ops - 1; k >= 0; --k)
    if (needed[op_base + k])
      for (int64_t v : args[k]) needed[v] = 1;
  constexpr int32_t kForever = std::numeric_limits<int32_t>::max();
  std::vector<int32_t> level(static_cast<size_t>(num_values), 0);
  std::vector<int32_t> last_use(static_cast<size_t>(num_values), -1);
  int32_t num_stages = 0;
  for (int64_t k = 0; k < num_ops; ++k) {
    if (!needed[op_base + k]) continue;
    int32_t l = 0;
    for (int64_t v : args[k]) l = std::max(l, level[v]);
    level[op_base + k] = l + 1;
    num_stages = std::max(num_stages, l + 1);
    for (int64_t v : args[k]) last_use[v] = std::max(last_use[v], l + 1);
  }
  for (int64_t v : port_values) last_use[v] = kForever;

  Schedule out;
  std::vector<int32_t> slot(static_cast<size_t>(num_values), -1);
  slot[0] = 0;
  slot[1] = 1;
  std::vector<int32_t> free_slots;
  auto allocate = [&] {
    if (free_slots.empty()) return out.num_slots++;
    const int32_t s = free_slots.back();
    free_slots.pop_back();
    return s;
  };
  std::vector<std::vector<int64_t>> dies_after(static_cast<size_t>(num_stages) + 1);
  for (int64_t v = 2; v < num_values; ++v)
    if (needed[v] && last_use[v] != kForever && last_use[v] >= 0)
      dies_after[last_use[v]].push_back(v);
  for (int64_t i = 0; i < num_cmp; ++i) {
    if (!needed[2 + i]) continue;
    slot[2 + i] = allocate();
    out.cmp_key.push_back(static_cast<uint32_t>(p.cmp_feature[i]) << 8 | p.cmp_threshold[i]);
    out.cmp_slot.push_back(slot[2 + i]);
  }
  for (int64_t v : dies_after[0]) free_slots.push_back(slot[v]);
  std::vector<std::vector<int64_t>> stage_ops(static_cast<size_t>(num_stages) + 1);
  for (int64_t k = 0; k < num_ops; ++k)
    if (needed[op_base + k]) stage_ops[level[op_base + k]].push_back(k);
  out.stages.resize(static_cast<size_t>(num_stages));
  for (int32_t s = 1; s <= num_stages; ++s) {
    auto& ops = out.stages[s - 1];
    for (int64_t k : stage_ops[s]) {
      slot[op_base + k] = allocate();
      ops.emplace_back(imm[k], BitsliceOp{slot[op_base + k], slot[args[k][0]], slot[args[k][1]],
                                          slot[args[k][2]]});
    }
    out.num_ops += static_cast<int64_t>(ops.size());
    for (int64_t v : dies_after[s]) free_slots.push_back(slot[v]);
  }
  for (int64_t v : port_values) out.port_planes.push_back(slot[v]);
  return out;
}

// Everything the kernel needs for tiles of T = 1 << log2_tile_words words, on the host. Within a
// stage the ops are sorted by immediate (stable), one segment per immediate.
PreparedProgram prepare_program(const BitsliceProgram& p, const Schedule& sched,
                                int log2_tile_words) {
  const int32_t t = 1 << log2_tile_words;
  const int32_t worker_mask = (kBlockThreads >> log2_tile_words) - 1;
  PreparedProgram out;
  out.cmp_key = sched.cmp_key;
  for (int32_t s : sched.cmp_slot) out.cmp_off.push_back(s * t);
  out.ops.reserve(static_cast<size_t>(sched.num_ops));
  out.stage_segments.push_back(0);
  for (auto stage : sched.stages) {
    std::stable_sort(stage.begin(), stage.end(),
                     [](const auto& x, const auto& y) { return x.first < y.first; });
    const int32_t stage_begin = static_cast<int32_t>(out.ops.size());
    for (size_t k = 0; k < stage.size(); ++k) {
      const int32_t begin = static_cast<int32_t>(out.ops.size());
      if (k == 0 || stage[k].first != stage[k - 1].first)
        out.segments.push_back(
            make_int4(begin, begin, stage[k].first, (begin - stage_begin) & worker_mask));
      const BitsliceOp& op = stage[k].second;
      out.ops.push_back(make_int4(op.dst * t, op.a * t, op.b * t, op.c * t));
      out.segments.back().y = begin + 1;
    }
    out.stage_segments.push_back(static_cast<int32_t>(out.segments.size()));
  }

  int64_t prefix = 0;
  for (size_t pi = 0; pi < p.ports.size(); ++pi) {
    const BitslicePort& port = p.ports[pi];
    if (port.name == "class_idx" && out.class_port < 0) out.class_port = static_cast<int>(pi);
    for (int64_t w = 0; w < port.words; ++w) {
      PortWord pw{static_cast<int32_t>(out.port_planes.size() + w * port.width), port.width,
                  static_cast<int32_t>(port.words), static_cast<int32_t>(w),
                  static_cast<int32_t>(prefix)};
      out.all_port_words.push_back(pw);
      if (out.class_port == static_cast<int>(pi)) {
        pw.prefix = 0;
        out.class_port_words.push_back(pw);
      }
    }
    for (int64_t j = 0; j < port.words * port.width; ++j)
      out.port_planes.push_back(sched.port_planes[out.port_planes.size()] * t);
    prefix += port.words;
  }
  // The back end counts (port word, sample in tile) items in an int: 2^21 words x 1024 samples.
  DIFFLUT_BITSLICE_CHECK(prefix < (int64_t{1} << 21), "ports have ", prefix,
                         " words per sample in all, expected fewer than 2^21");
  out.out_words = prefix;
  return out;
}

int device_attribute(cudaDeviceAttr attr, int device) {
  int v = 0;
  DIFFLUT_CUDA_CHECK(cudaDeviceGetAttribute(&v, attr, device));
  return v;
}

}  // namespace

struct CudaBitsliceEngine::Impl {
  bool shared = true;
  int log2_tile_words = kMaxLog2TileWords;
  int grid = 1;             // resident blocks; a launch uses min(grid, tiles)
  size_t shared_bytes = 0;  // dynamic shared memory per block (kShared)
  int32_t num_slots = 2;    // after rescheduling (Schedule)
  int64_t num_ops = 0;      // live ops
  int num_cmp = 0, num_stages = 0, num_segments = 0;
  int num_port_words = 0, num_class_port_words = 0;
  int64_t out_words = 0;
  int class_port = -1;
  DeviceBuffer cmp_key, cmp_off, ops, segments, stage_segments, port_planes;
  DeviceBuffer all_port_words, class_port_words, global_scratch;
  DeviceBuffer codes, out;  // staging for the host-pointer calls, grown on demand

  void launch(const BitsliceProgram& p, const uint8_t* d_codes, int64_t n,
              const PortWord* d_port_words, int port_word_count, uint32_t* d_out) const {
    const int64_t tile_samples = int64_t{32} << log2_tile_words;
    const int64_t tiles = (n + tile_samples - 1) / tile_samples;
    const int blocks = static_cast<int>(std::min<int64_t>(grid, tiles));
    if (shared) {
      bitslice_forward_kernel<true><<<blocks, kBlockThreads, shared_bytes>>>(
          d_codes, n, p.input_words, cmp_key.get<uint32_t>(), cmp_off.get<int32_t>(), num_cmp,
          ops.get<int4>(), segments.get<int4>(), stage_segments.get<int32_t>(), num_stages,
          port_planes.get<int32_t>(), d_port_words, port_word_count, num_slots, log2_tile_words,
          nullptr, d_out);
    } else {
      bitslice_forward_kernel<false><<<blocks, kBlockThreads, 0>>>(
          d_codes, n, p.input_words, cmp_key.get<uint32_t>(), cmp_off.get<int32_t>(), num_cmp,
          ops.get<int4>(), segments.get<int4>(), stage_segments.get<int32_t>(), num_stages,
          port_planes.get<int32_t>(), d_port_words, port_word_count, num_slots, log2_tile_words,
          global_scratch.get<uint32_t>(), d_out);
    }
    DIFFLUT_CUDA_LAUNCH_CHECK();
    if (cuda_sync_debug()) cuda_synchronize();
  }
};

CudaBitsliceEngine::CudaBitsliceEngine(const BitsliceProgram& program,
                                       const CudaBitsliceOptions& options)
    : program_(program), impl_(std::make_unique<Impl>()) {
  validate_program(program_);
  const Schedule sched = schedule_program(program_);
  DIFFLUT_BITSLICE_CHECK(sched.num_slots < (1 << 25), "the rescheduled program needs ",
                         sched.num_slots, " slots, expected fewer than 2^25");
  const int tw = options.tile_words;
  DIFFLUT_BITSLICE_CHECK(tw == 0 || (tw >= 1 && tw <= 32 && (tw & (tw - 1)) == 0),
                         "tile_words must be 0 (automatic) or 1, 2, 4, 8, 16, 32; found ", tw);
  DIFFLUT_BITSLICE_CHECK(cuda_available(),
                         "no usable GPU (cudaGetDeviceCount found none); use the CPU engine");
  Impl& im = *impl_;

  int device = 0;
  DIFFLUT_CUDA_CHECK(cudaGetDevice(&device));
  const int64_t optin = device_attribute(cudaDevAttrMaxSharedMemoryPerBlockOptin, device);
  const int64_t per_sm = device_attribute(cudaDevAttrMaxSharedMemoryPerMultiprocessor, device);
  const int sms = device_attribute(cudaDevAttrMultiProcessorCount, device);
  const int64_t slot_words = sched.num_slots;
  im.num_slots = sched.num_slots;
  im.num_ops = sched.num_ops;
  auto fits = [&](int log2_t, int blocks_per_sm) {
    const int64_t bytes = (slot_words << log2_t) * 4;
    return bytes <= optin && blocks_per_sm * (bytes + kSharedReservePerBlock) <= per_sm;
  };
  im.shared = false;
  if (!options.global_scratch) {
    if (tw != 0) {
      im.log2_tile_words = __builtin_ctz(static_cast<unsigned>(tw));
      DIFFLUT_BITSLICE_CHECK(fits(im.log2_tile_words, 1), sched.num_slots, " slots of ", tw,
                             " words do not fit in shared memory (", optin, " bytes per block)");
      im.shared = true;
    } else {
      for (int blocks_per_sm : {2, 1}) {
        for (int l = kMaxLog2TileWords; l >= 0 && !im.shared; --l) {
          if (fits(l, blocks_per_sm)) {
            im.log2_tile_words = l;
            im.shared = true;
          }
        }
        if (im.shared) break;
      }
    }
  }
  if (im.shared) {
    im.shared_bytes = static_cast<size_t>((slot_words << im.log2_tile_words) * 4);
    DIFFLUT_CUDA_CHECK(cudaFuncSetAttribute(bitslice_forward_kernel<true>,
                                            cudaFuncAttributeMaxDynamicSharedMemorySize,
                                            static_cast<int>(optin)));
    int per = 0;
    DIFFLUT_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(
        &per, bitslice_forward_kernel<true>, kBlockThreads, im.shared_bytes));
    DIFFLUT_BITSLICE_CHECK(per > 0, "the kernel does not fit on this GPU with ", im.shared_bytes,
                           " bytes of shared memory per block");
    im.grid = per * sms;
  } else {
    im.log2_tile_words = tw != 0 ? __builtin_ctz(static_cast<unsigned>(tw)) : kMaxLog2TileWords;
    int per = 0;
    DIFFLUT_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(
        &per, bitslice_forward_kernel<false>, kBlockThreads, 0));
    const int64_t block_bytes = (slot_words << im.log2_tile_words) * 4;
    const int64_t budget_blocks = std::max<int64_t>(1, kGlobalScratchBudget / block_bytes);
    im.grid = static_cast<int>(
        std::max<int64_t>(1, std::min<int64_t>(int64_t{per} * sms, budget_blocks)));
    im.global_scratch.reserve(static_cast<size_t>(block_bytes * im.grid));
  }

  PreparedProgram prep = prepare_program(program_, sched, im.log2_tile_words);
  im.num_cmp = static_cast<int>(prep.cmp_key.size());
  im.num_stages = static_cast<int>(prep.stage_segments.size()) - 1;
  im.num_segments = static_cast<int>(prep.segments.size());
  im.num_port_words = static_cast<int>(prep.all_port_words.size());
  im.num_class_port_words = static_cast<int>(prep.class_port_words.size());
  im.out_words = prep.out_words;
  im.class_port = prep.class_port;
  im.cmp_key.upload(prep.cmp_key);
  im.cmp_off.upload(prep.cmp_off);
  im.ops.upload(prep.ops);
  im.segments.upload(prep.segments);
  im.stage_segments.upload(prep.stage_segments);
  im.port_planes.upload(prep.port_planes);
  im.all_port_words.upload(prep.all_port_words);
  im.class_port_words.upload(prep.class_port_words);
}

CudaBitsliceEngine::~CudaBitsliceEngine() = default;

void CudaBitsliceEngine::predict_device(const uint8_t* d_codes, int64_t n, int32_t* d_classes) {
  const Impl& im = *impl_;
  DIFFLUT_BITSLICE_CHECK(im.class_port >= 0,
                         "predict needs a port named class_idx; the program has ",
                         program_.ports.size(), " ports and none of them is");
  const BitslicePort& port = program_.ports[im.class_port];
  DIFFLUT_BITSLICE_CHECK(port.words == 1 && port.width <= 31, "port class_idx has ", port.words,
                         " words of ", port.width, " bits, expected one word of at most 31 bits");
  DIFFLUT_BITSLICE_CHECK(n >= 0, "expected n >= 0, found ", n);
  if (n == 0) return;
  DIFFLUT_BITSLICE_CHECK(d_classes != nullptr && (d_codes != nullptr || program_.input_words == 0),
                         "predict_device got a null pointer");
  im.launch(program_, d_codes, n, im.class_port_words.get<PortWord>(), im.num_class_port_words,
            reinterpret_cast<uint32_t*>(d_classes));
}

void CudaBitsliceEngine::predict(const uint8_t* codes, int64_t n, int32_t* classes) {
  DIFFLUT_BITSLICE_CHECK(n >= 0, "expected n >= 0, found ", n);
  if (n == 0) return;
  Impl& im = *impl_;
  const size_t code_bytes = static_cast<size_t>(n * program_.input_words);
  im.codes.reserve(std::max<size_t>(1, code_bytes));
  im.out.reserve(static_cast<size_t>(n) * sizeof(int32_t));
  cuda_memcpy_h2d(im.codes.get<void>(), codes, code_bytes);
  predict_device(im.codes.get<uint8_t>(), n, im.out.get<int32_t>());
  cuda_memcpy_d2h(classes, im.out.get<void>(), static_cast<size_t>(n) * sizeof(int32_t));
}

std::vector<std::vector<uint32_t>> CudaBitsliceEngine::run(const uint8_t* codes, int64_t n) {
  DIFFLUT_BITSLICE_CHECK(n >= 0, "expected n >= 0, found ", n);
  Impl& im = *impl_;
  std::vector<std::vector<uint32_t>> ports(program_.ports.size());
  for (size_t p = 0; p < ports.size(); ++p)
    ports[p].resize(static_cast<size_t>(n * program_.ports[p].words));
  if (n == 0 || im.out_words == 0) return ports;
  const size_t code_bytes = static_cast<size_t>(n * program_.input_words);
  const size_t out_bytes = static_cast<size_t>(n * im.out_words) * sizeof(uint32_t);
  im.codes.reserve(std::max<size_t>(1, code_bytes));
  im.out.reserve(out_bytes);
  cuda_memcpy_h2d(im.codes.get<void>(), codes, code_bytes);
  im.launch(program_, im.codes.get<uint8_t>(), n, im.all_port_words.get<PortWord>(),
            im.num_port_words, im.out.get<uint32_t>());
  std::vector<uint32_t> all(static_cast<size_t>(n * im.out_words));
  cuda_memcpy_d2h(all.data(), im.out.get<void>(), out_bytes);
  size_t at = 0;
  for (auto& port : ports) {
    std::copy(all.begin() + at, all.begin() + at + port.size(), port.begin());
    at += port.size();
  }
  return ports;
}

std::string CudaBitsliceEngine::layout() const {
  const Impl& im = *impl_;
  return str_cat(im.shared ? "shared" : "global", " scratch, ", 1 << im.log2_tile_words,
                 " words per tile, ", im.grid, " blocks x ", kBlockThreads, " threads; ",
                 im.num_cmp, " comparators, ", im.num_ops, " ops in ", im.num_stages,
                 " stages and ", im.num_segments, " segments, ", im.num_slots, " slots");
}

}  // namespace difflut::hdl
