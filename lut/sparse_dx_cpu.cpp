// CPU dx of sparse learnable mappings (see sparse_dx_cpu.h).
#include "lut/sparse_dx_cpu.h"

#include <algorithm>
#include <memory>
#include <type_traits>

#include "lut/sparse_mapping_math.h"
#include "tensor/parallel.h"
#include "tensor/x86_intrinsics.h"

namespace difflut {

namespace {

template <class T>
void dx_rows(const T* g, int64_t B, int64_t S, int64_t F, const int32_t* kept, const int32_t* slot,
             const T* weight, T* dx) {
  parallel_for(0, B, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t b = lo; b < hi; ++b)
      for (int64_t i = 0; i < F; ++i)
        dx[b * F + i] += sparse_dx_entry(g + b * S, slot, weight, kept[i], kept[i + 1]);
  });
}

#ifdef DIFFLUT_X86_INTRINSICS
constexpr int kLanes = 16;

// gt [S][16] = g rows b0 .. b0 + nl - 1 transposed (lanes nl.. zero): one gather a slot.
__attribute__((target("avx512f"))) void transpose_chunk(const float* g, int64_t S, int64_t b0,
                                                        int nl, int64_t lo, int64_t hi, float* gt) {
  const __mmask16 m = static_cast<__mmask16>((1u << nl) - 1u);
  const __m512i rows = lane_strides16(S);
  for (int64_t s = lo; s < hi; ++s)
    _mm512_storeu_ps(gt + s * kLanes,
                     _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, rows, g + b0 * S + s, 4));
}

// dx rows b0 .. b0 + nl - 1, inputs [lo, hi): 16 lanes of FMAs per entry, then dx += the lanes.
__attribute__((target("avx512f"))) void dx_chunk(const float* gt, int64_t F, int64_t b0, int nl,
                                                 const int32_t* kept, const int32_t* slot,
                                                 const float* weight, int64_t lo, int64_t hi,
                                                 float* dx) {
  const __mmask16 m = static_cast<__mmask16>((1u << nl) - 1u);
  const __m512i rows = lane_strides16(F);
  float* base = dx + b0 * F;
  for (int64_t i = lo; i < hi; ++i) {
    __m512 acc = _mm512_setzero_ps();
    for (int32_t k = kept[i]; k < kept[i + 1]; ++k)
      acc = _mm512_fmadd_ps(_mm512_loadu_ps(gt + static_cast<int64_t>(slot[k]) * kLanes),
                            _mm512_set1_ps(weight[k]), acc);
    const __m512 old = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, rows, base + i, 4);
    _mm512_mask_i32scatter_ps(base + i, m, rows, _mm512_add_ps(old, acc), 4);
  }
}

void dx_avx512(const float* g, int64_t B, int64_t S, int64_t F, const int32_t* kept,
               const int32_t* slot, const float* weight, float* dx) {
  // Every entry is written by transpose_chunk before it is read: no zero fill of 16·S floats a step.
  const std::unique_ptr<float[]> gt(new float[static_cast<size_t>(S * kLanes)]);
  for (int64_t b0 = 0; b0 < B; b0 += kLanes) {
    const int nl = static_cast<int>(std::min<int64_t>(kLanes, B - b0));
    parallel_for(0, S, 2048,
                 [&](int64_t lo, int64_t hi) { transpose_chunk(g, S, b0, nl, lo, hi, gt.get()); });
    parallel_for(0, F, 512, [&](int64_t lo, int64_t hi) {
      dx_chunk(gt.get(), F, b0, nl, kept, slot, weight, lo, hi, dx);
    });
  }
}
#endif

}  // namespace

template <class T>
void sparse_dx_over_batch(const T* g, int64_t B, int64_t S, int64_t F, const int32_t* kept_offsets,
                          const int32_t* slot, const T* weight, T* dx) {
#ifdef DIFFLUT_X86_INTRINSICS
  // The gathers' 32-bit offsets: 15 rows of S (or F) floats.
  if constexpr (std::is_same_v<T, float>) {
    if (kCpuHasAvx512f && std::max(S, F) < (int64_t{1} << 27)) {
      dx_avx512(g, B, S, F, kept_offsets, slot, weight, dx);
      return;
    }
  }
#endif
  dx_rows(g, B, S, F, kept_offsets, slot, weight, dx);
}

template void sparse_dx_over_batch<float>(const float*, int64_t, int64_t, int64_t, const int32_t*,
                                          const int32_t*, const float*, float*);
template void sparse_dx_over_batch<double>(const double*, int64_t, int64_t, int64_t, const int32_t*,
                                           const int32_t*, const double*, double*);

}  // namespace difflut
