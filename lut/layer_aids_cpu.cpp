// CPU kernels of bit_flip and grad_stabilize. grad_stabilize's sums run in double: per row in
// column order, then (layerwise) over the rows in row order, so the result does not depend on the
// thread count. bit_flip's float path draws eight Philox counters at once in AVX-512 registers
// where the CPU has them, the same draws and the same decisions as bit_flip_mask.
#include <algorithm>
#include <cmath>
#include <vector>

#include "lut/layer_aids_kernels.h"
#include "tensor/parallel.h"
#include "tensor/x86_intrinsics.h"

namespace difflut {

namespace {
constexpr int64_t kGrain = 16384;

// Per-row sums of (g - centre)^power, power 1 or 2; centre per row (batchwise) or one for all.
template <class T>
std::vector<double> row_sums(const T* g, int64_t B, int64_t N, const std::vector<double>& centre,
                             bool per_row, int power) {
  std::vector<double> out(static_cast<size_t>(B));
  parallel_for(0, B, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, N)),
               [&](int64_t lo, int64_t hi) {
                 for (int64_t b = lo; b < hi; ++b) {
                   const double c = centre.empty() ? 0.0 : centre[per_row ? b : 0];
                   double acc = 0.0;
                   for (int64_t j = 0; j < N; ++j) {
                     const double d = static_cast<double>(g[b * N + j]) - c;
                     acc += power == 1 ? d : d * d;
                   }
                   out[b] = acc;
                 }
               });
  return out;
}

// Row sums -> the per-row (batchwise) or single (layerwise) mean over `count` elements each.
std::vector<double> means(const std::vector<double>& sums, bool per_row, int64_t count) {
  if (per_row) {
    std::vector<double> m(sums.size());
    for (size_t b = 0; b < sums.size(); ++b) m[b] = sums[b] / static_cast<double>(count);
    return m;
  }
  double total = 0.0;
  for (double s : sums) total += s;
  return {total / static_cast<double>(count)};
}
template <class T>
void bit_flip_range(const T* x, T* y, int64_t lo, int64_t hi, uint64_t key, double p) {
  for (int64_t i = lo; i < hi; ++i)
    y[i] = bit_flip_mask(static_cast<uint64_t>(i), key, p) ? T(1) - x[i] : x[i];
}

#ifdef DIFFLUT_X86_INTRINSICS
// The integer form of bit_flip_mask's test: d * 2^-53 < p  <=>  d < ceil(p * 2^53) for integers d.
uint64_t bit_flip_threshold(double p) {
  const double two53 = 9007199254740992.0;
  const double t = std::ceil(p * two53);  // exact: a power-of-two scaling, then an integer
  if (!(t > 0)) return 0;                 // p <= 0 or NaN: nothing flips, as d * 2^-53 < p says
  return t >= two53 ? uint64_t(1) << 53 : static_cast<uint64_t>(t);
}

// bit_flip_range for float with Philox4x32-10 on eight counters at once: each 64-bit lane holds one
// counter's 32-bit words in its low half (vpmuludq multiplies exactly those), and the high halves
// carry junk that only the final masks remove. bit_flip_mask flips element i when its 53-bit draw
// d (philox_bits53, as in philox_uniform_f64) satisfies d * 2^-53 < p; both sides are exact doubles, so that is
// the integer test d < bit_flip_threshold(p): the same decisions, bit for bit, as the scalar loop.
__attribute__((target("avx512f"))) void bit_flip_range_avx512(const float* x, float* y, int64_t lo,
                                                              int64_t hi, uint64_t key, double p) {
  const uint64_t threshold = bit_flip_threshold(p);
  const __m512i m0 = _mm512_set1_epi64(kPhiloxM0), m1 = _mm512_set1_epi64(kPhiloxM1);
  const __m512i low32 = _mm512_set1_epi64(0xFFFFFFFFu);
  const __m512i limit = _mm512_set1_epi64(static_cast<long long>(threshold));
  const __m512i step8 = _mm512_set1_epi64(8);
  __m512i k0[10], k1[10];  // the round keys, as philox4x32 bumps them
  uint32_t a = static_cast<uint32_t>(key), b = static_cast<uint32_t>(key >> 32);
  for (int r = 0; r < 10; ++r, a += kPhiloxW0, b += kPhiloxW1) {
    k0[r] = _mm512_set1_epi64(a);
    k1[r] = _mm512_set1_epi64(b);
  }
  const __m512 one = _mm512_set1_ps(1.0f);
  __m512i ctr = _mm512_add_epi64(_mm512_set1_epi64(lo), _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7));
  int64_t i = lo;
  for (; i + 16 <= hi; i += 16) {
    __mmask16 flip = 0;
    for (int half = 0; half < 2; ++half, ctr = _mm512_add_epi64(ctr, step8)) {
      __m512i c0 = ctr, c1 = _mm512_srli_epi64(ctr, 32), c2 = _mm512_setzero_si512(),
              c3 = _mm512_setzero_si512();
      for (int r = 0; r < 10; ++r) {
        const __m512i p0 = _mm512_mul_epu32(m0, c0), p1 = _mm512_mul_epu32(m1, c2);
        c0 = _mm512_xor_si512(_mm512_xor_si512(_mm512_srli_epi64(p1, 32), c1), k0[r]);
        c1 = p1;
        c2 = _mm512_xor_si512(_mm512_xor_si512(_mm512_srli_epi64(p0, 32), c3), k1[r]);
        c3 = p0;
      }
      // philox_bits53 per lane (the two shifted words do not overlap: | is its ^ and & mask).
      const __m512i draw = _mm512_or_si512(_mm512_slli_epi64(_mm512_and_si512(c0, low32), 21),
                                           _mm512_srli_epi64(_mm512_and_si512(c1, low32), 11));
      flip |= static_cast<__mmask16>(_mm512_cmplt_epu64_mask(draw, limit) << (8 * half));
    }
    const __m512 v = _mm512_loadu_ps(x + i);
    _mm512_storeu_ps(y + i, _mm512_mask_sub_ps(v, flip, one, v));
  }
  bit_flip_range(x, y, i, hi, key, p);
}
#endif

// The vector kernel where this CPU has it (float only: double is the gradchecks' type).
void bit_flip_fast(const float* x, float* y, int64_t lo, int64_t hi, uint64_t key, double p) {
#ifdef DIFFLUT_X86_INTRINSICS
  if (kCpuHasAvx512f) return bit_flip_range_avx512(x, y, lo, hi, key, p);
#endif
  bit_flip_range(x, y, lo, hi, key, p);
}
void bit_flip_fast(const double* x, double* y, int64_t lo, int64_t hi, uint64_t key, double p) {
  bit_flip_range(x, y, lo, hi, key, p);
}

}  // namespace

void bit_flip_forward_cpu(OpCall& c) {
  const Tensor& x = *c.in[0];
  const uint64_t key = static_cast<uint64_t>(c.attrs.ints[0]);
  const double p = c.attrs.floats[0];
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "bit_flip", [&] {
    const scalar_t* xp = x.data<scalar_t>();
    scalar_t* yp = c.out->data<scalar_t>();
    parallel_for(0, x.numel(), kGrain,
                 [&](int64_t lo, int64_t hi) { bit_flip_fast(xp, yp, lo, hi, key, p); });
  });
}

void bit_flip_backward_cpu(OpCall& c) {
  if (!c.grad_in[0]) return;
  DIFFLUT_DISPATCH_FLOAT(c.grad_out->dtype(), "bit_flip", [&] {
    const scalar_t* gy = c.grad_out->data<scalar_t>();
    scalar_t* gx = c.grad_in[0]->data<scalar_t>();
    parallel_for(0, c.grad_out->numel(), kGrain, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) gx[i] += gy[i];
    });
  });
}

// The identity on any device: the output is a view of the input (as reshape's is).
void grad_stabilize_forward(OpCall& c) { *c.out = *c.in[0]; }

void grad_stabilize_backward_cpu(OpCall& c) {
  if (!c.grad_in[0]) return;
  const Tensor& gy = *c.grad_out;
  const int64_t B = gy.size(0), N = gy.size(1);
  if (B * N == 0) return;
  const bool per_row = c.attrs.ints[0] != 0, subtract_mean = c.attrs.ints[1] != 0;
  const double target = c.attrs.floats[0], eps = c.attrs.floats[1];
  const int64_t count = per_row ? N : B * N;
  DIFFLUT_DISPATCH_FLOAT(gy.dtype(), "grad_stabilize", [&] {
    const scalar_t* g = gy.data<scalar_t>();
    scalar_t* gx = c.grad_in[0]->data<scalar_t>();
    std::vector<double> centre;
    if (subtract_mean) centre = means(row_sums(g, B, N, {}, per_row, 1), per_row, count);
    const std::vector<double> var = means(row_sums(g, B, N, centre, per_row, 2), per_row, count);
    std::vector<double> scale(var.size());
    for (size_t i = 0; i < var.size(); ++i) scale[i] = std::sqrt(target / (var[i] + eps));
    parallel_for(0, B, std::max<int64_t>(1, kGrain / N), [&](int64_t lo, int64_t hi) {
      for (int64_t b = lo; b < hi; ++b) {
        const size_t r = per_row ? static_cast<size_t>(b) : 0;
        const double ctr = centre.empty() ? 0.0 : centre[r];
        for (int64_t j = 0; j < N; ++j)
          gx[b * N + j] +=
              static_cast<scalar_t>((static_cast<double>(g[b * N + j]) - ctr) * scale[r]);
      }
    });
  });
}

}  // namespace difflut
