// CPU dx of sparse learnable mappings: dx[b, i] += Σ over input i's kept CSR entries k (in list
// order) of g[b, slot[k]] · weight[k] (lut/sparse_mapping_math.h, sparse_dx_entry). The sparse
// mapping's backward builds the list (entries of softmax weight 0 left out) and calls this.
//
// Float on CPUs with AVX-512 F: the batch in chunks of 16 rows, g transposed per chunk so an entry's
// 16 gradients are one contiguous vector (one gather a slot), then for each input one fused
// multiply-add per entry into 16 lanes and one gather-add-scatter into dx. Each (b, i) still sums
// its entries in list order from zero, with one FMA a term; the portable loop (other CPUs, double)
// may round some terms separately (GCC contracts as it unrolls), so the two paths agree to float
// rounding. Every dx element has one owner: bit-identical for any thread count.
#pragma once
#include <cstdint>

namespace difflut {

// dx [B, F], g [B, S] row-major on the host; kept_offsets [F + 1] delimit input i's entries in
// slot/weight (slot values in [0, S)).
template <class T>
void sparse_dx_over_batch(const T* g, int64_t B, int64_t S, int64_t F, const int32_t* kept_offsets,
                          const int32_t* slot, const T* weight, T* dx);

}  // namespace difflut
