// CPU kernels of the learnable mapping: column argmax, the gather forward, the dense dW, the
// sparse-softmax dx, and the fused "dW + optimizer step + next argmax" pass over W.
//
// Determinism: every output element has one owner that reduces in a fixed order (columns own their
// argmax and their fused update, rows of W own dW, inputs own dx), and block widths depend only on
// shapes, never on the thread count, so results are bit-identical for any DIFFLUT_NUM_THREADS.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "autograd/ops/matmul/matmul_kernels.h"
#include "lut/learnable_mapping.h"
#include "lut/learnable_mapping_kernels.h"
#include "lut/learnable_mapping_math.h"
#include "tensor/parallel.h"

#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace difflut {

namespace {

constexpr int64_t kArgmaxBlock = 1024;  // columns per argmax task (4 KiB row segments)
constexpr int64_t kSoftmaxBlock = 64;
// Largest batch the fused pass handles with partial-sum tables; larger ones use the GEMM product.
constexpr int64_t kMaxTableBatch = 64;  // columns per sparse-softmax candidate block
constexpr int64_t kDwRows = 4;          // rows of dW per register tile of the dense product
constexpr int64_t kDwCols = 1024;       // columns per cache tile of the dense product

// ---- argmax -----------------------------------------------------------------------------------
template <class T>
inline void argmax_row(const T* __restrict row,  // [n] W row segment
                       T* __restrict best,       // [n] running max
                       int32_t* __restrict idx,  // [n] running argmax
                       int32_t ii, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    const T p = row[j], b = best[j];
    const int32_t k = idx[j];
    const int32_t gt = -static_cast<int32_t>(p > b);  // strict: the first index wins ties
    best[j] = b < p ? p : b;
    idx[j] = (ii & gt) | (k & ~gt);
  }
}

template <class T>
void argmax_block(const T* w,  // [F, S]
                  int64_t F, int64_t S, int64_t s0, int64_t n,
                  T* best,         // [n] scratch
                  int32_t* idx) {  // [n] out: columns s0 .. s0 + n
  for (int64_t j = 0; j < n; ++j) {
    best[j] = w[s0 + j];
    idx[j] = 0;
  }
  for (int64_t i = 1; i < F; ++i) argmax_row(w + i * S + s0, best, idx, static_cast<int32_t>(i), n);
}

// ---- dense dW (standard path) -----------------------------------------------------------------
// dW[i, s] += sum_b (2 x[b, i] - 1) g[b, s], summed over b in order into a zeroed tile and then
// added, so two backward passes give exactly twice the gradient.
template <class T>
void dense_dw(const T* x,  // [B, F]
              const T* g,  // [B, S]
              T* dw,       // [F, S] accumulated
              int64_t B, int64_t F, int64_t S) {
  const int64_t row_tiles = (F + kDwRows - 1) / kDwRows;
  parallel_for(0, row_tiles, 1, [&](int64_t lo, int64_t hi) {
    std::vector<T> acc(static_cast<size_t>(kDwRows * kDwCols));
    for (int64_t t = lo; t < hi; ++t) {
      const int64_t i0 = t * kDwRows, nr = std::min(kDwRows, F - i0);
      for (int64_t s0 = 0; s0 < S; s0 += kDwCols) {
        const int64_t n = std::min(kDwCols, S - s0);
        std::fill(acc.begin(), acc.end(), T(0));
        for (int64_t b = 0; b < B; ++b) {
          const T* gr = g + b * S + s0;
          for (int64_t r = 0; r < nr; ++r) {
            const T a = T(2) * x[b * F + i0 + r] - T(1);
            T* ar = acc.data() + r * kDwCols;
            for (int64_t j = 0; j < n; ++j) ar[j] += a * gr[j];
          }
        }
        for (int64_t r = 0; r < nr; ++r) {
          T* d = dw + (i0 + r) * S + s0;
          const T* ar = acc.data() + r * kDwCols;
          for (int64_t j = 0; j < n; ++j) d[j] += ar[j];
        }
      }
    }
  });
}

// ---- sparse-softmax dx ------------------------------------------------------------------------
// dx[b, i] += sum_s g[b, s] P[i, s], P = softmax over i of W[:, s] / tau. Per block of columns the
// rows within the cutoff of each column's max (SoftmaxCutoff, learnable_mapping_math.h) are listed
// in row order with their exact weights; Z[s] sums them in row order. Then each input i owns
// dx[:, i] and walks its entries block by block.
template <class T>
struct SoftmaxEntry {
  int32_t s;
  T p;
};

template <class T>
void sparse_dx(const T* w,          // [F, S]
               const int32_t* idx,  // [S] argmax per column
               const T* g,          // [B, S]
               T* dx,               // [B, F] accumulated
               int64_t B, int64_t F, int64_t S, T tau) {
  const int64_t nblk = (S + kSoftmaxBlock - 1) / kSoftmaxBlock;
  std::vector<std::vector<SoftmaxEntry<T>>> entries(static_cast<size_t>(nblk));
  std::vector<std::vector<int64_t>> rowptr(static_cast<size_t>(nblk));
  const T cutoff = SoftmaxCutoff<T>::value;
  parallel_for(0, nblk, 1, [&](int64_t lo, int64_t hi) {
    T wmax[kSoftmaxBlock], z[kSoftmaxBlock];
    for (int64_t k = lo; k < hi; ++k) {
      const int64_t s0 = k * kSoftmaxBlock, n = std::min(kSoftmaxBlock, S - s0);
      for (int64_t j = 0; j < n; ++j) {
        wmax[j] = w[static_cast<int64_t>(idx[s0 + j]) * S + s0 + j];
        z[j] = T(0);
      }
      auto& E = entries[static_cast<size_t>(k)];
      auto& R = rowptr[static_cast<size_t>(k)];
      R.assign(static_cast<size_t>(F + 1), 0);
      for (int64_t i = 0; i < F; ++i) {
        const T* row = w + i * S + s0;
        for (int64_t j = 0; j < n; ++j) {
          const T d = (row[j] - wmax[j]) / tau;
          if (d >= -cutoff) {
            const T e = std::exp(d);
            z[j] += e;
            E.push_back({static_cast<int32_t>(s0 + j), e});
          }
        }
        R[static_cast<size_t>(i + 1)] = static_cast<int64_t>(E.size());
      }
      for (auto& e : E) e.p /= z[e.s - s0];
    }
  });
  // g transposed to [S, B] so that each entry reads one contiguous row.
  std::vector<T> gt(static_cast<size_t>(S * B));
  parallel_for(0, S, 256, [&](int64_t lo, int64_t hi) {
    for (int64_t s = lo; s < hi; ++s)
      for (int64_t b = 0; b < B; ++b) gt[static_cast<size_t>(s * B + b)] = g[b * S + s];
  });
  parallel_for(0, F, 16, [&](int64_t lo, int64_t hi) {
    std::vector<T> acc(static_cast<size_t>(B));
    for (int64_t i = lo; i < hi; ++i) {
      std::fill(acc.begin(), acc.end(), T(0));
      for (int64_t k = 0; k < nblk; ++k) {
        const auto& E = entries[static_cast<size_t>(k)];
        const auto& R = rowptr[static_cast<size_t>(k)];
        for (int64_t e = R[static_cast<size_t>(i)]; e < R[static_cast<size_t>(i + 1)]; ++e) {
          const SoftmaxEntry<T>& en = E[static_cast<size_t>(e)];
          const T* gs = gt.data() + static_cast<int64_t>(en.s) * B;
          for (int64_t b = 0; b < B; ++b) acc[static_cast<size_t>(b)] += en.p * gs[b];
        }
      }
      for (int64_t b = 0; b < B; ++b) dx[b * F + i] += acc[static_cast<size_t>(b)];
    }
  });
}

// ---- the fused update -------------------------------------------------------------------------
enum class GradMode { zero, tables, dense, product };
enum class OptMode { adam, sgd_momentum, sgd };

// Everything the fused pass reads besides W and the optimizer state.
template <class T>
struct FusedGrad {
  int64_t B = 0;
  int bits = 6;                    // samples per chunk (tables mode): 1 to 8
  int64_t C = 0;                   // chunks: ceil(B / bits)
  const T* g = nullptr;            // [B, S]
  const uint8_t* masks = nullptr;  // [F, C] tables mode: bit j of masks[i, c] = x[bits c + j, i]
  const T* a = nullptr;            // [F, B] dense mode: 2 x[b, i] - 1, transposed
  const T* xtg = nullptr;          // [F, S] product mode: xᵀ g from the blocked CPU GEMM
};

// acc[j] = 2 sum_c rows[c][j] - colsum[j], summing c in order (the masked-sum step of the tables
// mode). Only additions, so an AVX2 build of the same loop rounds exactly like the SSE2 one; x86-64
// machines with AVX2 get it through a runtime check (the library is built for baseline x86-64).
template <class T>
inline void sum_table_rows_generic(T* __restrict acc, const T* const* rows, int64_t C,
                                   const T* __restrict colsum, int64_t n) {
  // Tiles of kTile columns stay in registers while the C rows stream through.
  constexpr int64_t kTile = 32;
  int64_t j0 = 0;
  for (; j0 + kTile <= n; j0 += kTile) {
    T a[kTile];
    for (int64_t t = 0; t < kTile; ++t) a[t] = rows[0][j0 + t];
    for (int64_t c = 1; c < C; ++c) {
      const T* __restrict rc = rows[c] + j0;
      for (int64_t t = 0; t < kTile; ++t) a[t] += rc[t];
    }
    for (int64_t t = 0; t < kTile; ++t) acc[j0 + t] = T(2) * a[t] - colsum[j0 + t];
  }
  for (int64_t j = j0; j < n; ++j) {
    T a = rows[0][j];
    for (int64_t c = 1; c < C; ++c) a += rows[c][j];
    acc[j] = T(2) * a - colsum[j];
  }
}

#if defined(__GNUC__) && defined(__x86_64__)  // also under -march=native, where it is a plain call
#define DIFFLUT_LM_AVX2_DISPATCH 1
// Written with intrinsics: left to itself (under -march=native) GCC vectorises the generic loop
// across the row pointers with gathers, which made this step 2-3x slower than plain loads. The
// chunk count is a template parameter so that the row pointers live in registers.
template <int kC>
__attribute__((target("avx2"))) void sum_table_rows_avx2_fixed(float* __restrict acc,
                                                               const float* const* rows,
                                                               const float* __restrict colsum,
                                                               int64_t n) {
  const float* r[kC];
  for (int c = 0; c < kC; ++c) r[c] = rows[c];
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    __m256 a0 = _mm256_loadu_ps(r[0] + j), a1 = _mm256_loadu_ps(r[0] + j + 8);
    for (int c = 1; c < kC; ++c) {
      a0 = _mm256_add_ps(a0, _mm256_loadu_ps(r[c] + j));
      a1 = _mm256_add_ps(a1, _mm256_loadu_ps(r[c] + j + 8));
    }
    // 2a is exact, so 2a - colsum rounds once whether or not it is contracted to an FMA.
    _mm256_storeu_ps(acc + j, _mm256_sub_ps(_mm256_add_ps(a0, a0), _mm256_loadu_ps(colsum + j)));
    _mm256_storeu_ps(acc + j + 8,
                     _mm256_sub_ps(_mm256_add_ps(a1, a1), _mm256_loadu_ps(colsum + j + 8)));
  }
  for (; j < n; ++j) {
    float a = r[0][j];
    for (int c = 1; c < kC; ++c) a += r[c][j];
    acc[j] = 2.0f * a - colsum[j];
  }
}

__attribute__((target("avx2"))) void sum_table_rows_avx2(float* __restrict acc,
                                                         const float* const* rows, int64_t C,
                                                         const float* __restrict colsum,
                                                         int64_t n) {
  switch (C) {
    case 1: return sum_table_rows_avx2_fixed<1>(acc, rows, colsum, n);
    case 2: return sum_table_rows_avx2_fixed<2>(acc, rows, colsum, n);
    case 3: return sum_table_rows_avx2_fixed<3>(acc, rows, colsum, n);
    case 4: return sum_table_rows_avx2_fixed<4>(acc, rows, colsum, n);
    case 5: return sum_table_rows_avx2_fixed<5>(acc, rows, colsum, n);
    case 6: return sum_table_rows_avx2_fixed<6>(acc, rows, colsum, n);
    case 7: return sum_table_rows_avx2_fixed<7>(acc, rows, colsum, n);
    case 8: return sum_table_rows_avx2_fixed<8>(acc, rows, colsum, n);
    case 9: return sum_table_rows_avx2_fixed<9>(acc, rows, colsum, n);
    case 10: return sum_table_rows_avx2_fixed<10>(acc, rows, colsum, n);
    case 11: return sum_table_rows_avx2_fixed<11>(acc, rows, colsum, n);
    case 12: return sum_table_rows_avx2_fixed<12>(acc, rows, colsum, n);
    case 13: return sum_table_rows_avx2_fixed<13>(acc, rows, colsum, n);
    case 14: return sum_table_rows_avx2_fixed<14>(acc, rows, colsum, n);
    case 15: return sum_table_rows_avx2_fixed<15>(acc, rows, colsum, n);
    case 16: return sum_table_rows_avx2_fixed<16>(acc, rows, colsum, n);
    default: break;
  }
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    __m256 a = _mm256_loadu_ps(rows[0] + j);
    for (int64_t c = 1; c < C; ++c) a = _mm256_add_ps(a, _mm256_loadu_ps(rows[c] + j));
    _mm256_storeu_ps(acc + j, _mm256_sub_ps(_mm256_add_ps(a, a), _mm256_loadu_ps(colsum + j)));
  }
  for (; j < n; ++j) {
    float a = rows[0][j];
    for (int64_t c = 1; c < C; ++c) a += rows[c][j];
    acc[j] = 2.0f * a - colsum[j];
  }
}
const bool kHasAvx2 = __builtin_cpu_supports("avx2");
#endif

template <class T>
inline void sum_table_rows(T* acc, const T* const* rows, int64_t C, const T* colsum, int64_t n) {
#ifdef DIFFLUT_LM_AVX2_DISPATCH
  if constexpr (std::is_same_v<T, float>) {
    if (kHasAvx2) {
      sum_table_rows_avx2(acc, rows, C, colsum, n);
      return;
    }
  }
#endif
  sum_table_rows_generic(acc, rows, C, colsum, n);
}

// The running argmax update of one row segment, written with integer masks instead of a select so
// that GCC vectorises it (a plain ?: becomes control flow there). Strict >: the first index wins.
template <class T>
inline void track_argmax(T p, T& best, int32_t& bidx, int32_t ii) {
  const T b = best;
  const int32_t k = bidx;
  const int32_t gt = -static_cast<int32_t>(p > b);
  best = b < p ? p : b;
  bidx = (ii & gt) | (k & ~gt);
}

// The optimizer step of one row segment and the running argmax of its columns (kFirst starts the
// argmax at this row). Restrict pointers and a by-value copy of the coefficients let the compiler
// vectorise it (the f32 Adam row has an explicit SSE2 version below: without -fno-math-errno GCC
// will not vectorise std::sqrt).
template <class T, OptMode kOpt, bool kFirst>
inline void update_row(T* __restrict wr,          // [n] W row segment
                       T* __restrict mr,          // [n] first moment / velocity (or null)
                       T* __restrict vr,          // [n] second moment (or null)
                       const T* __restrict acc,   // [n] gradient row segment
                       T* __restrict best,        // [n] running max
                       int32_t* __restrict bidx,  // [n] running argmax
                       int32_t ii, int64_t j0, int64_t n, const MappingOptCoeffs<T> co) {
  for (int64_t j = j0; j < n; ++j) {
    T p;
    if constexpr (kOpt == OptMode::adam) {
      p = lm_adam(wr[j], acc[j], mr[j], vr[j], co);
    } else if constexpr (kOpt == OptMode::sgd_momentum) {
      p = lm_sgd(wr[j], acc[j], mr[j], co);
    } else {
      T unused = T(0);
      p = lm_sgd(wr[j], acc[j], unused, co);
    }
    wr[j] = p;
    if constexpr (kFirst) {
      best[j] = p;
      bidx[j] = ii;
    } else {
      track_argmax(p, best[j], bidx[j], ii);
    }
  }
}

#if defined(__SSE2__)
// f32 Adam row, four lanes at a time: the same operations in the same order as lm_adam (sqrtps and
// divps round like their scalar forms; max/min with the bound first reproduce the clamp's
// comparisons, NaN included), so results equal the scalar path bit for bit.
template <bool kTrack, bool kFirst>
inline void adam_row_sse(float* __restrict wr, float* __restrict mr, float* __restrict vr,
                         const float* __restrict acc, float* __restrict best,
                         int32_t* __restrict bidx, int32_t ii, int64_t n,
                         const MappingOptCoeffs<float> co) {
  const __m128 decay = _mm_set1_ps(co.decay_factor), l2 = _mm_set1_ps(co.l2);
  const __m128 b1 = _mm_set1_ps(co.beta1), omb1 = _mm_set1_ps(co.one_minus_beta1);
  const __m128 b2 = _mm_set1_ps(co.beta2), omb2 = _mm_set1_ps(co.one_minus_beta2);
  const __m128 eps = _mm_set1_ps(co.eps);
  const __m128 step = _mm_set1_ps(co.step_size);
  const __m128 lo = _mm_set1_ps(co.lo), hi = _mm_set1_ps(co.hi);
  const __m128i iiv = _mm_set1_epi32(ii);
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    __m128 x = _mm_mul_ps(_mm_loadu_ps(wr + j), decay);
    const __m128 g = _mm_add_ps(_mm_loadu_ps(acc + j), _mm_mul_ps(l2, x));
    const __m128 mi = _mm_add_ps(_mm_mul_ps(b1, _mm_loadu_ps(mr + j)), _mm_mul_ps(omb1, g));
    const __m128 vi =
        _mm_add_ps(_mm_mul_ps(b2, _mm_loadu_ps(vr + j)), _mm_mul_ps(_mm_mul_ps(omb2, g), g));
    const __m128 denom = _mm_add_ps(_mm_sqrt_ps(vi), eps);
    x = _mm_sub_ps(x, _mm_mul_ps(step, _mm_div_ps(mi, denom)));
    x = _mm_min_ps(hi, _mm_max_ps(lo, x));  // x < lo ? lo : x, then x > hi ? hi : x
    _mm_storeu_ps(mr + j, mi);
    _mm_storeu_ps(vr + j, vi);
    _mm_storeu_ps(wr + j, x);
    if constexpr (kTrack && kFirst) {
      _mm_storeu_ps(best + j, x);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(bidx + j), iiv);
    } else if constexpr (kTrack) {
      const __m128 b = _mm_loadu_ps(best + j);
      const __m128i k = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bidx + j));
      const __m128 gtf = _mm_cmpgt_ps(x, b);
      const __m128i gt = _mm_castps_si128(gtf);
      _mm_storeu_ps(best + j, _mm_or_ps(_mm_and_ps(gtf, x), _mm_andnot_ps(gtf, b)));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(bidx + j),
                       _mm_or_si128(_mm_and_si128(gt, iiv), _mm_andnot_si128(gt, k)));
    }
  }
  for (; j < n; ++j) {
    const float p = lm_adam(wr[j], acc[j], mr[j], vr[j], co);
    wr[j] = p;
    if constexpr (kTrack && kFirst) {
      best[j] = p;
      bidx[j] = ii;
    } else if constexpr (kTrack) {
      track_argmax(p, best[j], bidx[j], ii);
    }
  }
}
#endif

#ifdef DIFFLUT_LM_AVX2_DISPATCH
// The same f32 Adam row eight lanes at a time (AVX without FMA: every operation rounds exactly like
// the SSE2 and scalar versions, so the result does not depend on which one ran).
template <bool kTrack, bool kFirst>
__attribute__((target("avx2"))) void adam_row_avx2(float* __restrict wr, float* __restrict mr,
                                                   float* __restrict vr,
                                                   const float* __restrict acc,
                                                   float* __restrict best, int32_t* __restrict bidx,
                                                   int32_t ii, int64_t n,
                                                   const MappingOptCoeffs<float> co,
                                                   int64_t next_row = 0) {  // elements; 0: none
  const __m256 decay = _mm256_set1_ps(co.decay_factor), l2 = _mm256_set1_ps(co.l2);
  const __m256 b1 = _mm256_set1_ps(co.beta1), omb1 = _mm256_set1_ps(co.one_minus_beta1);
  const __m256 b2 = _mm256_set1_ps(co.beta2), omb2 = _mm256_set1_ps(co.one_minus_beta2);
  const __m256 eps = _mm256_set1_ps(co.eps);
  const __m256 step = _mm256_set1_ps(co.step_size);
  const __m256 lo = _mm256_set1_ps(co.lo), hi = _mm256_set1_ps(co.hi);
  const __m256 iiv = _mm256_castsi256_ps(_mm256_set1_epi32(ii));
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    if (next_row != 0 && (j & 15) == 0) {
      _mm_prefetch(reinterpret_cast<const char*>(wr + next_row + j), _MM_HINT_T1);
      _mm_prefetch(reinterpret_cast<const char*>(mr + next_row + j), _MM_HINT_T1);
      _mm_prefetch(reinterpret_cast<const char*>(vr + next_row + j), _MM_HINT_T1);
    }
    __m256 x = _mm256_mul_ps(_mm256_loadu_ps(wr + j), decay);
    const __m256 g = _mm256_add_ps(_mm256_loadu_ps(acc + j), _mm256_mul_ps(l2, x));
    const __m256 mi =
        _mm256_add_ps(_mm256_mul_ps(b1, _mm256_loadu_ps(mr + j)), _mm256_mul_ps(omb1, g));
    const __m256 vi = _mm256_add_ps(_mm256_mul_ps(b2, _mm256_loadu_ps(vr + j)),
                                    _mm256_mul_ps(_mm256_mul_ps(omb2, g), g));
    const __m256 denom = _mm256_add_ps(_mm256_sqrt_ps(vi), eps);
    x = _mm256_sub_ps(x, _mm256_mul_ps(step, _mm256_div_ps(mi, denom)));
    x = _mm256_min_ps(hi, _mm256_max_ps(lo, x));
    _mm256_storeu_ps(mr + j, mi);
    _mm256_storeu_ps(vr + j, vi);
    _mm256_storeu_ps(wr + j, x);
    if constexpr (kTrack && kFirst) {
      _mm256_storeu_ps(best + j, x);
      _mm256_storeu_ps(reinterpret_cast<float*>(bidx + j), iiv);
    } else if constexpr (kTrack) {
      const __m256 b = _mm256_loadu_ps(best + j);
      const __m256 k = _mm256_loadu_ps(reinterpret_cast<const float*>(bidx + j));
      const __m256 gt = _mm256_cmp_ps(x, b, _CMP_GT_OQ);
      _mm256_storeu_ps(best + j, _mm256_blendv_ps(b, x, gt));
      _mm256_storeu_ps(reinterpret_cast<float*>(bidx + j), _mm256_blendv_ps(k, iiv, gt));
    }
  }
  if (j < n) {
    adam_row_sse<kTrack, kFirst>(wr + j, mr + j, vr + j, acc + j, kTrack ? best + j : nullptr,
                                 kTrack ? bidx + j : nullptr, ii, n - j, co);
  }
}
#endif

template <class T, OptMode kOpt, bool kFirst>
inline void update_row_fast(T* wr, T* mr, T* vr, const T* acc, T* best, int32_t* bidx, int32_t ii,
                            int64_t n, const MappingOptCoeffs<T>& co, int64_t next_row) {
#if defined(__SSE2__)
  if constexpr (std::is_same_v<T, float> && kOpt == OptMode::adam) {
#ifdef DIFFLUT_LM_AVX2_DISPATCH
    if (kHasAvx2) {
      adam_row_avx2<true, kFirst>(wr, mr, vr, acc, best, bidx, ii, n, co, next_row);
      return;
    }
#endif
    adam_row_sse<true, kFirst>(wr, mr, vr, acc, best, bidx, ii, n, co);
    return;
  }
#endif
  update_row<T, kOpt, kFirst>(wr, mr, vr, acc, best, bidx, ii, 0, n, co);
}

// Adam over a contiguous span without argmax (the unfused baseline): the SSE2 row where it exists.
template <class T>
bool adam_span_fast(T*, const T*, T*, T*, int64_t, const MappingOptCoeffs<T>&) {
  return false;
}
#if defined(__SSE2__)
template <>
bool adam_span_fast<float>(float* w, const float* g, float* m, float* v, int64_t n,
                           const MappingOptCoeffs<float>& co) {
#ifdef DIFFLUT_LM_AVX2_DISPATCH
  if (kHasAvx2) {
    adam_row_avx2<false, false>(w, m, v, g, nullptr, nullptr, 0, n, co);
    return true;
  }
#endif
  adam_row_sse<false, false>(w, m, v, g, nullptr, nullptr, 0, n, co);
  return true;
}
#endif

// One pass over a block of columns [s0, s0 + n): for each row i in order, the gradient row, the
// optimizer step, the clamp and the running argmax (strict >, so the first index wins ties).
//
// Binary x (tables mode): dW[i, s] = 2 sum_{b: x[b,i] = 1} g[b, s] - sum_b g[b, s]. The batch is cut
// into chunks of `bits` samples; for each chunk c, table[c][v][s] = sum of g[b, s] over the samples
// b of chunk c whose bit is set in v (entry v built from entry v & (v - 1) plus one row of g). The
// masked sum for row i is then sum_c table[c][masks[i, c]][s]: B / bits adds instead of B
// multiply-adds.
template <class T, GradMode kGrad, OptMode kOpt>
void fused_block(T* w, T* m, T* v,  // [F, S] each (m/v may be null when kOpt does not use them)
                 const FusedGrad<T>& gr, const MappingOptCoeffs<T>& co, int64_t F, int64_t S,
                 int64_t s0, int64_t n, int64_t sb,
                 T* tab,          // [C, 2^bits, sb] tables mode, [B, sb] dense mode
                 T* colsum,       // [sb]
                 T* acc,          // [sb]
                 T* best,         // [sb]
                 int32_t* bidx,   // [sb]
                 const T** rows,  // [C] scratch
                 int32_t* idx)    // [S] out
{
  const int64_t B = gr.B, C = gr.C;
  const int entries = 1 << gr.bits;
  if constexpr (kGrad == GradMode::tables || kGrad == GradMode::product) {
    for (int64_t c = 0; kGrad == GradMode::tables && c < C; ++c) {
      T* tc = tab + c * entries * sb;
      std::fill(tc, tc + n, T(0));
      for (int vv = 1; vv < entries; ++vv) {
        const T* src = tc + static_cast<int64_t>(vv & (vv - 1)) * sb;
        T* dst = tc + static_cast<int64_t>(vv) * sb;
        const int64_t b = gr.bits * c + __builtin_ctz(static_cast<unsigned>(vv));
        if (b < B) {
          const T* grow = gr.g + b * S + s0;
          for (int64_t j = 0; j < n; ++j) dst[j] = src[j] + grow[j];
        } else {
          std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(T));  // never addressed
        }
      }
    }
    std::fill(colsum, colsum + n, T(0));
    for (int64_t b = 0; b < B; ++b) {
      const T* grow = gr.g + b * S + s0;
      for (int64_t j = 0; j < n; ++j) colsum[j] += grow[j];
    }
  } else if constexpr (kGrad == GradMode::dense) {
    for (int64_t b = 0; b < B; ++b)
      std::memcpy(tab + b * sb, gr.g + b * S + s0, static_cast<size_t>(n) * sizeof(T));
  } else {
    std::fill(acc, acc + n, T(0));
  }

  for (int64_t i = 0; i < F; ++i) {
    if constexpr (kGrad == GradMode::tables) {
      const uint8_t* mk = gr.masks + i * C;
      for (int64_t c = 0; c < C; ++c)
        rows[c] = tab + (c * entries + static_cast<int64_t>(mk[c])) * sb;
      sum_table_rows(acc, rows, C, colsum, n);
    } else if constexpr (kGrad == GradMode::product) {
      const T* xr = gr.xtg + i * S + s0;
      for (int64_t j = 0; j < n; ++j) acc[j] = T(2) * xr[j] - colsum[j];
    } else if constexpr (kGrad == GradMode::dense) {
      const T* ai = gr.a + i * B;
      std::fill(acc, acc + n, T(0));
      for (int64_t b = 0; b < B; ++b) {
        const T ab = ai[b];
        const T* gb = tab + b * sb;
        for (int64_t j = 0; j < n; ++j) acc[j] += ab * gb[j];
      }
    }
    // The row segments are separate 4-8 KiB runs, 4 S bytes apart: the AVX2 Adam row prefetches
    // the next row's W, m and v into L2 while it works (21 -> 16 ms per step at B = 32, 2-core Zen 4).
    const int64_t pf = i + 1 < F ? S : 0;
    T* wr = w + i * S + s0;
    T* mr = (kOpt != OptMode::sgd) ? m + i * S + s0 : nullptr;
    T* vr = (kOpt == OptMode::adam) ? v + i * S + s0 : nullptr;
    if (i == 0) {
      update_row_fast<T, kOpt, true>(wr, mr, vr, acc, best, bidx, 0, n, co, pf);
    } else {
      update_row_fast<T, kOpt, false>(wr, mr, vr, acc, best, bidx, static_cast<int32_t>(i), n, co,
                                      pf);
    }
  }
  std::memcpy(idx + s0, bidx, static_cast<size_t>(n) * sizeof(int32_t));
}

// Block width of the fused pass. Column blocks are walked row by row, so each row segment is a
// separate run of memory: runs of >= 4 KiB (1024 f32) keep the hardware prefetchers and the TLB
// effective (1 KiB runs measured 1.5-2x slower here, even though their tables fit in L2). 8 KiB
// runs help a little more when the block's tables (C * 2^bits * sb values) stay within 8 MiB, a core's
// fair share of L3. The per-column arithmetic does not depend on the width.
int64_t fused_block_width(int64_t C, int bits, size_t elem) {
  const size_t tables_at_2048 = static_cast<size_t>(C) * (size_t{1} << bits) * 2048 * elem;
  return tables_at_2048 <= (size_t{8} << 20) ? 2048 : 1024;
}

// Per-thread scratch of the fused pass, kept across steps (pool threads live as long as the
// process): the tables are 1-8 MiB per thread, and allocating and zero-filling them every step was
// pure overhead, since the pass writes every entry before it reads it.
template <class T>
struct FusedScratch {
  std::vector<T> tab, colsum, acc, best;
  std::vector<int32_t> bidx;
  std::vector<const T*> rows;
};

template <class T>
FusedScratch<T>& fused_scratch(size_t tab_size, size_t sb, size_t chunks) {
  thread_local FusedScratch<T> s;
  auto grow = [](auto& v, size_t n) {
    if (v.size() < n) v.resize(n);
  };
  grow(s.tab, tab_size);
  grow(s.colsum, sb);
  grow(s.acc, sb);
  grow(s.best, sb);
  grow(s.bidx, sb);
  grow(s.rows, chunks);
  return s;
}

template <class T, GradMode kGrad, OptMode kOpt>
void fused_update(T* w, T* m, T* v, const FusedGrad<T>& gr, const MappingOptCoeffs<T>& co,
                  int64_t F, int64_t S, int64_t sb, int32_t* idx) {
  const int64_t nblk = (S + sb - 1) / sb;
  size_t tab_size = 0;
  if constexpr (kGrad == GradMode::tables) tab_size = static_cast<size_t>((gr.C << gr.bits) * sb);
  if constexpr (kGrad == GradMode::dense) tab_size = static_cast<size_t>(gr.B * sb);
  parallel_for(0, nblk, 1, [&](int64_t lo, int64_t hi) {
    FusedScratch<T>& sc = fused_scratch<T>(tab_size, static_cast<size_t>(sb),
                                           static_cast<size_t>(std::max<int64_t>(gr.C, 1)));
    for (int64_t k = lo; k < hi; ++k) {
      const int64_t s0 = k * sb;
      fused_block<T, kGrad, kOpt>(w, m, v, gr, co, F, S, s0, std::min(sb, S - s0), sb,
                                  sc.tab.data(), sc.colsum.data(), sc.acc.data(), sc.best.data(),
                                  sc.bidx.data(), sc.rows.data(), idx);
    }
  });
}

template <class T, GradMode kGrad>
void fused_update_opt(T* w, T* m, T* v, const FusedGrad<T>& gr, const MappingOptCoeffs<T>& co,
                      int64_t F, int64_t S, int64_t sb, int32_t* idx) {
  if (co.adam) {
    fused_update<T, kGrad, OptMode::adam>(w, m, v, gr, co, F, S, sb, idx);
  } else if (co.has_momentum) {
    fused_update<T, kGrad, OptMode::sgd_momentum>(w, m, v, gr, co, F, S, sb, idx);
  } else {
    fused_update<T, kGrad, OptMode::sgd>(w, m, v, gr, co, F, S, sb, idx);
  }
}

}  // namespace

void learnable_mapping_argmax_cpu(const Tensor& w, Tensor& idx) {
  const int64_t F = w.size(0), S = w.size(1);
  int32_t* ip = idx.data<int32_t>();
  DIFFLUT_DISPATCH_FLOAT(w.dtype(), "learnable_mapping", [&] {
    const scalar_t* wp = w.data<scalar_t>();
    parallel_for(0, (S + kArgmaxBlock - 1) / kArgmaxBlock, 1, [&](int64_t lo, int64_t hi) {
      std::vector<scalar_t> best(static_cast<size_t>(kArgmaxBlock));
      for (int64_t k = lo; k < hi; ++k) {
        const int64_t s0 = k * kArgmaxBlock;
        argmax_block(wp, F, S, s0, std::min(kArgmaxBlock, S - s0), best.data(), ip + s0);
      }
    });
  });
}

void learnable_mapping_forward_cpu(OpCall& c) {
  const Tensor& x = *c.in[0];
  const Tensor& w = *c.in[1];
  Tensor idx = learnable_mapping_forward_index(w, learnable_mapping_state_of(c));
  const int64_t B = x.size(0), F = x.size(1), S = w.size(1);
  const int32_t* ip = idx.data<int32_t>();
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "learnable_mapping", [&] {
    const scalar_t* xp = x.data<scalar_t>();
    scalar_t* out = c.out->data<scalar_t>();
    parallel_for(0, B, std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(S, 1)),
                 [&](int64_t lo, int64_t hi) {
                   for (int64_t b = lo; b < hi; ++b)
                     for (int64_t s = 0; s < S; ++s) out[b * S + s] = xp[b * F + ip[s]];
                 });
  });
  c.saved.push_back(idx);
}

void learnable_mapping_backward_cpu(OpCall& c) {
  const Tensor& x = *c.in[0];
  const Tensor& w = *c.in[1];
  const Tensor& g = *c.grad_out;
  const int64_t B = x.size(0), F = x.size(1), S = w.size(1);
  if (c.grad_in[1]) {
    if (!c.grad_in[1]->defined()) {
      learnable_mapping_stash(c);
    } else {
      DIFFLUT_DISPATCH_FLOAT(x.dtype(), "learnable_mapping", [&] {
        dense_dw(x.data<scalar_t>(), g.data<scalar_t>(), c.grad_in[1]->data<scalar_t>(), B, F, S);
      });
    }
  }
  if (c.grad_in[0]) {
    DIFFLUT_ASSERT(!c.saved.empty());
    const int32_t* ip = c.saved[0].data<int32_t>();
    DIFFLUT_DISPATCH_FLOAT(x.dtype(), "learnable_mapping", [&] {
      sparse_dx(w.data<scalar_t>(), ip, g.data<scalar_t>(), c.grad_in[0]->data<scalar_t>(), B, F, S,
                static_cast<scalar_t>(c.attrs.floats[0]));
    });
  }
}

void learnable_mapping_optimizer_pass_cpu(Tensor& w, const Tensor& dw, Tensor* m, Tensor* v,
                                          const OptimizerStep& step, double lo, double hi) {
  DIFFLUT_DISPATCH_FLOAT(w.dtype(), "learnable_mapping", [&] {
    using T = scalar_t;
    const MappingOptCoeffs<T> co = make_mapping_opt_coeffs<T>(step, lo, hi);
    T* wp = w.data<T>();
    const T* gp = dw.data<T>();
    T* mp = m ? m->data<T>() : nullptr;
    T* vp = v ? v->data<T>() : nullptr;
    parallel_for(0, w.numel(), 1 << 16, [&](int64_t k0, int64_t k1) {
      if (co.adam && adam_span_fast(wp + k0, gp + k0, mp + k0, vp + k0, k1 - k0, co)) return;
      if (co.adam) {
        for (int64_t k = k0; k < k1; ++k) wp[k] = lm_adam(wp[k], gp[k], mp[k], vp[k], co);
      } else if (co.has_momentum) {
        for (int64_t k = k0; k < k1; ++k) wp[k] = lm_sgd(wp[k], gp[k], mp[k], co);
      } else {
        for (int64_t k = k0; k < k1; ++k) {
          T unused = T(0);
          wp[k] = lm_sgd(wp[k], gp[k], unused, co);
        }
      }
    });
  });
}

void learnable_mapping_update_cpu(Tensor& w, Tensor* m, Tensor* v, const Tensor* x, const Tensor* g,
                                  const OptimizerStep& step, double lo, double hi, Tensor& idx) {
  const int64_t F = w.size(0), S = w.size(1);
  const int64_t B = x ? x->size(0) : 0;
  int32_t* ip = idx.data<int32_t>();
  DIFFLUT_DISPATCH_FLOAT(w.dtype(), "learnable_mapping", [&] {
    using T = scalar_t;
    const MappingOptCoeffs<T> co = make_mapping_opt_coeffs<T>(step, lo, hi);
    T* wp = w.data<T>();
    T* mp = m ? m->data<T>() : nullptr;
    T* vp = v ? v->data<T>() : nullptr;
    FusedGrad<T> gr;
    if (B == 0) {
      fused_update_opt<T, GradMode::zero>(wp, mp, vp, gr, co, F, S, 2048, ip);
      return;
    }
    const T* xp = x->data<T>();
    gr.B = B;
    // Chunks of 6 samples (64-entry tables: 3 MiB per block of 2048 columns at B = 32, mostly in
    // L2) measured fastest at B = 32 and 64 on a 2-core Zen 4 (bench_learnable_mapping): chunks of
    // 8 build 4x larger tables that live in L3 (25 vs 20 ms per step at B = 32), chunks of 4 double
    // the lookups (60 vs 30 ms at B = 64). Up to 8 samples form a single chunk.
    gr.bits = B <= 8 ? static_cast<int>(B) : 6;
    gr.C = (B + gr.bits - 1) / gr.bits;
    const int64_t sb = fused_block_width(gr.C, gr.bits, sizeof(T));
    gr.g = g->data<T>();
    bool binary = true;
    for (int64_t k = 0; k < B * F && binary; ++k) binary = xp[k] == T(0) || xp[k] == T(1);
    if (B > kMaxTableBatch) {
      // Large batches: the tables cost B/8 adds per weight and outgrow the caches, while the blocked
      // GEMM computes xᵀg at tens of GFLOP/s; the pass then reads dW = 2·xᵀg − Σ_b g (any x).
      // [F, S] from the caching allocator: reused across steps, not zeroed (the GEMM overwrites it).
      Tensor xtg = Tensor::empty({F, S}, DTypeOf<T>::value);
      gemm_cpu<T>(/*trans_a=*/true, /*trans_b=*/false, F, S, B, xp, F, gr.g, S, xtg.data<T>(), S,
                  /*accumulate=*/false);
      gr.xtg = xtg.data<T>();
      fused_update_opt<T, GradMode::product>(wp, mp, vp, gr, co, F, S, 2048, ip);
    } else if (binary) {
      std::vector<uint8_t> masks(static_cast<size_t>(F * gr.C));
      parallel_for(0, F, 256, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i)
          for (int64_t c = 0; c < gr.C; ++c) {
            unsigned byte = 0;
            for (int64_t j = 0; j < gr.bits && gr.bits * c + j < B; ++j)
              byte |= (xp[(gr.bits * c + j) * F + i] != T(0) ? 1u : 0u) << j;
            masks[static_cast<size_t>(i * gr.C + c)] = static_cast<uint8_t>(byte);
          }
      });
      gr.masks = masks.data();
      fused_update_opt<T, GradMode::tables>(wp, mp, vp, gr, co, F, S, sb, ip);
    } else {
      std::vector<T> a(static_cast<size_t>(F * B));
      for (int64_t b = 0; b < B; ++b)
        for (int64_t i = 0; i < F; ++i)
          a[static_cast<size_t>(i * B + b)] = T(2) * xp[b * F + i] - T(1);
      gr.a = a.data();
      fused_update_opt<T, GradMode::dense>(wp, mp, vp, gr, co, F, S, 1024, ip);
    }
  });
}

}  // namespace difflut
