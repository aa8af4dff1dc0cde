// AVX-512 pieces of the CPU lane backward (see node_lanes_avx512.h).
#include "lut/nodes/node_lanes_avx512.h"

#include "tensor/error.h"
#include "tensor/x86_intrinsics.h"

namespace difflut::nodes {

#ifdef DIFFLUT_X86_INTRINSICS

namespace {

constexpr int W = 16;

__attribute__((target("avx512f"))) inline __mmask16 first_lanes(int nl) {
  return static_cast<__mmask16>((1u << nl) - 1u);
}

// lane_tree_sum<8> of the 16 lanes: r[l] + r[l + 8], then + 4, + 2, + 1 (float additions commute,
// so each level is the same rounding as the portable tree's).
__attribute__((target("avx512f"))) inline float tree_sum16(__m512 v) {
  const __m256 lo = _mm512_castps512_ps256(v);
  const __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
  const __m256 s8 = _mm256_add_ps(lo, hi);
  const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
  const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  return _mm_cvtss_f32(_mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1)));
}

}  // namespace

bool lanes_avx512_usable(int64_t x_stride) {
  return kCpuHasAvx512f && x_stride >= 0 && x_stride < (int64_t{1} << 27);
}

__attribute__((target("avx512f"))) void load_lanes16(const float* x0, int64_t x_stride, int k,
                                                     const float* g0, int64_t g_stride, int nl,
                                                     float* xs, float* gs) {
  const __mmask16 m = first_lanes(nl);
  const __m512 zero = _mm512_setzero_ps();
  const __m512i xo = lane_strides16(x_stride);
  for (int l = 0; l < k; ++l)
    _mm512_storeu_ps(xs + l * W, _mm512_mask_i32gather_ps(zero, m, xo, x0 + l, 4));
  _mm512_storeu_ps(gs, _mm512_mask_i32gather_ps(zero, m, lane_strides16(g_stride), g0, 4));
}

__attribute__((target("avx512f"))) void add_lanes16(const float* dxs, int k, int nl, float* gx0,
                                                    int64_t x_stride) {
  const __mmask16 m = first_lanes(nl);
  const __m512i xo = lane_strides16(x_stride);
  for (int l = 0; l < k; ++l) {
    const __m512 old = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, xo, gx0 + l, 4);
    _mm512_mask_i32scatter_ps(gx0 + l, m, xo, _mm512_add_ps(old, _mm512_loadu_ps(dxs + l * W)), 4);
  }
}

__attribute__((target("avx512f"))) bool corner_lanes16(const float* w, int k, const float* xs,
                                                       const float* gs, float* dxs, double* acc) {
  const __m512 zero = _mm512_setzero_ps(), one = _mm512_set1_ps(1.0f);
  __mmask16 off = 0;
  __m512i addr = _mm512_setzero_si512();
  for (int l = 0; l < k; ++l) {
    const __m512 v = _mm512_loadu_ps(xs + l * W);
    const __mmask16 nonzero = _mm512_cmp_ps_mask(v, zero, _CMP_NEQ_UQ);  // x != 0, NaN included
    off |= nonzero & _mm512_cmp_ps_mask(v, one, _CMP_NEQ_UQ);
    addr = _mm512_mask_or_epi32(addr, nonzero, addr, _mm512_set1_epi32(1 << l));
  }
  if (off) return false;
  const __m512 g = _mm512_loadu_ps(gs);
  for (int m = 0; m < k; ++m) {
    const __m512i bit = _mm512_set1_epi32(1 << m);
    const __m512 w1 = _mm512_i32gather_ps(_mm512_or_si512(addr, bit), w, 4);
    const __m512 w0 = _mm512_i32gather_ps(_mm512_andnot_si512(bit, addr), w, 4);
    // As the portable path: d = g·Δ from zero, then added to the zeroed dx.
    _mm512_storeu_ps(dxs + m * W, _mm512_add_ps(zero, _mm512_mul_ps(g, _mm512_sub_ps(w1, w0))));
  }
  if (!acc) return true;
  alignas(64) int32_t lane_addr[W];
  _mm512_store_si512(lane_addr, addr);
  // One tree sum per corner some lane sits on: g in that corner's lanes, +0 in the others.
  for (__mmask16 left = 0xFFFF; left;) {
    const int32_t a = lane_addr[__builtin_ctz(left)];
    const __mmask16 on = _mm512_cmpeq_epi32_mask(addr, _mm512_set1_epi32(a));
    acc[a] += static_cast<double>(tree_sum16(_mm512_maskz_mov_ps(on, g)));
    left = static_cast<__mmask16>(left & ~on);
  }
  return true;
}

__attribute__((target("avx512f"))) void add_corner_sums16(const float* adj, int K, double* acc) {
  for (int a = 0; a < K; ++a)
    acc[a] += static_cast<double>(tree_sum16(_mm512_loadu_ps(adj + a * W)));
}

#else  // no x86 intrinsics: never usable, so never called

bool lanes_avx512_usable(int64_t) { return false; }
void load_lanes16(const float*, int64_t, int, const float*, int64_t, int, float*, float*) {
  DIFFLUT_FAIL("load_lanes16: AVX-512 lanes are not compiled in");
}
void add_lanes16(const float*, int, int, float*, int64_t) {
  DIFFLUT_FAIL("add_lanes16: AVX-512 lanes are not compiled in");
}
bool corner_lanes16(const float*, int, const float*, const float*, float*, double*) {
  DIFFLUT_FAIL("corner_lanes16: AVX-512 lanes are not compiled in");
}
void add_corner_sums16(const float*, int, double*) {
  DIFFLUT_FAIL("add_corner_sums16: AVX-512 lanes are not compiled in");
}

#endif

}  // namespace difflut::nodes
