// CPU dW of sparse learnable mappings over lists of inputs per slot: out[s, k] = sum over the batch
// of (2 x[b, idx[s, k]] - 1) g[b, s]. The sparse mapping's backward (idx = the candidates) and the
// gradient probe (idx = the probed inputs, lut/sparse_probe.h) both sum these terms.
//
// When x is binary (every entry 0 or 1: the encoder's bits, hard node outputs) the batch is read as
// bits. Each 32-sample chunk of an input column packs into one word, and a slot's 32 signed
// gradients into eight tables of 16 partial sums, one per 4-sample group of the chunk (entry m of
// table q holds sum_{j<4} (bit j of m ? +g : -g)[4q + j]). One dW term is then eight table look-ups
// and seven adds, instead of 32 multiply-adds over two float columns read at random. Other inputs
// take the float path (batch chunks transposed, sparse_dw_chunk). Either way every entry has one
// owner that sums in a fixed order: bit-identical for any thread count. The two paths differ from
// each other only by float rounding.
#pragma once
#include <cstdint>
#include <vector>

namespace difflut {

// Which way sparse_dw_over_batch reads x: `automatic` takes the bit path when x is binary and the
// lists hold at least 16 inputs a slot (below that the tables cost more than they save), the float
// path otherwise; the other two force a path (tests and bench_sparse_dw compare them; `bits`
// throws difflut::Error for an x that is not binary). Under `automatic`, a binary x with shorter
// lists, a batch of whole 32-sample words and a CPU with AVX-512 VL reads packed bits too but
// sums the float path's terms in the float path's order (each term +-g, so the same bits).
enum class SparseDwPath { automatic, bits, floats };

// x and g of one backward, read once (the bit path's packed words or the float path's transposed
// chunks of x) so that any slots' dW can then be summed from them: sparse_dw_over_batch below and
// the sparse mapping's fused optimizer step (lut/sparse_mapping_update_cpu.cpp), which sums a block
// of slots into a small buffer and updates their scores before moving on. x [B, F] and g [B, S]
// are row-major on the host and must outlive the batch (g is read in place).
template <class T>
class SparseDwBatch {
 public:
  SparseDwBatch(const T* x, const T* g, int64_t B, int64_t F, int64_t S, int64_t K,
                SparseDwPath path = SparseDwPath::automatic);
  // out[(s - s0) * K + k] += sum_b (2 x[b, idx[s * K + k]] - 1) g[b, s] for s in [s0, s1), k < K:
  // each 32-sample (bit path) or 64-sample (float path) chunk's sum added in turn, so any split of
  // the slots gives the same bits. Runs on the calling thread (call it from a parallel region).
  void add_slots(int64_t s0, int64_t s1, const int32_t* idx, T* out) const;
  bool bit_path() const { return bits_path_; }

 private:
  const T* g_;
  int64_t B_, F_, S_, K_;
  bool bits_path_ = false;
  bool float_order_bits_ = false;  // packed words summed in the float path's order (see above)
  std::vector<uint32_t> words_;    // bit path: [chunk, F]
  std::vector<T> xt_;              // float path: [chunk][F, n]
};

// out[s * K + k] += sum_b (2 x[b * F + idx[s * K + k]] - 1) g[b * S + s] for s < S, k < K (each
// 32-sample chunk's sum added in turn: bit path; each 64-sample chunk's: float path). x [B, F] and
// g [B, S] row-major on the host, idx entries in [0, F); T is float or double.
template <class T>
void sparse_dw_over_batch(const T* x, const T* g, int64_t B, int64_t F, int64_t S,
                          const int32_t* idx, int64_t K, T* out,
                          SparseDwPath path = SparseDwPath::automatic);

// True when every one of the `count` entries is exactly 0 or 1 (the bit path's condition).
template <class T>
bool all_binary(const T* x, int64_t count);

}  // namespace difflut
