// Shared pieces of the built-in node types' per-sample math (lut/nodes/*_math.h): the constants an
// op passes to its kernels, numerics helpers, and the multilinear fold the probabilistic family
// and difflogic are built on. Everything here compiles for the CPU (.cpp) and the GPU (.cu).
#pragma once
#include <cmath>
#include <cstdint>
#include <string>

#include "tensor/error.h"
#include "tensor/host_device.h"


namespace difflut::nodes {

// Limits of the built-in node ops (addresses are 2^k tables; per-sample scratch is fixed-size).
constexpr int kMaxK = 8;
constexpr int kPolyMaxTerms = 256;   // monomials of a polylut node
constexpr int kNeuralMaxWidth = 32;  // hidden width of a neurallut node
constexpr int kNeuralMaxDepth = 6;   // linear layers of a neurallut node


// Per-op constants every kernel receives (plain data, copied to the GPU by value).
struct NodeConsts {
  int k = 0;
  int num_params = 0;  // P: parameters per node
  int degree = 2;      // polylut: maximum monomial degree D
  int num_terms = 0;   // polylut: number of monomials (= P)
  const int32_t* poly_table =
      nullptr;                         // polylut: [num_terms, 2] (parent term, variable), op device
  int width = 8, depth = 2, skip = 2;  // neurallut: hidden width, linear layers, skip interval
  double temperature = 1.0;            // probabilistic: T in σ(θ/T)
  double max_amplitude = 8.0;          // fourier: A in y = b + A Σ_f â_f cos(...)
  bool signed_amplitudes = false;      // fourier: â normalised by Σ a (published) not Σ |a|
};

DIFFLUT_HD float node_exp(float x) { return ::expf(x); }
DIFFLUT_HD double node_exp(double x) { return ::exp(x); }
DIFFLUT_HD float node_cos(float x) { return ::cosf(x); }
DIFFLUT_HD double node_cos(double x) { return ::cos(x); }
DIFFLUT_HD float node_sin(float x) { return ::sinf(x); }
DIFFLUT_HD double node_sin(double x) { return ::sin(x); }
DIFFLUT_HD float node_log(float x) { return ::logf(x); }
DIFFLUT_HD double node_log(double x) { return ::log(x); }

// σ(z) = 1 / (1 + e^-z): e^-z overflows to inf for very negative z, giving exactly 0 (no NaN).
template <class T>
DIFFLUT_HD T node_sigmoid(T z) {
  return T(1) / (T(1) + node_exp(-z));
}

// The address of k inputs read as bits x >= 0.5 (input l is bit l).
template <class T>
DIFFLUT_HD unsigned node_address(const T* x, int k) {
  unsigned a = 0;
  for (int l = 0; l < k; ++l) a |= static_cast<unsigned>(x[l] >= T(0.5)) << l;
  return a;
}

// Multilinear extension of corner values w [2^k] at x [k]:
//   f(x) = Σ_a w[a] Π_j p_j(a_j),  p_j(1) = x_j, p_j(0) = 1 − x_j.
// Computed by folding one input at a time (bit 0 first): level m+1 holds, for every setting of
// bits m+1..k-1, (1 − x_m)·level_m[..0] + x_m·level_m[..1]. That is 2^k − 1 lerps instead of the
// 2^k·k products of the direct sum. Levels 1..k are written to `levels` [2^k] (level m at offset
// 2^k − 2^(k−m+1)) for the reverse pass; the result is level k.
template <class T>
DIFFLUT_HD T ml_forward(const T* w, const T* x, int k, T* levels) {
  const T* cur = w;
  T* out = levels;
  int n = 1 << k;
  for (int m = 0; m < k; ++m) {
    n >>= 1;
    const T xm = x[m], om = T(1) - xm;
    for (int a = 0; a < n; ++a) out[a] = om * cur[2 * a] + xm * cur[2 * a + 1];
    cur = out;
    out += n;
  }
  return cur[0];
}

// Reverse pass of ml_forward for an output gradient g: ADDS df/dx_m · g into dx[m] and writes
// adj[a] = g · Π_j p_j(a_j) (the gradient of every corner value w[a]) into adj [2^k].
// The input gradient is Σ_a w[a] (2a_m − 1) Π_{j≠m} p_j(a_j), obtained as the difference of the two
// halves of level m weighted by the adjoints of level m+1: no division by x_m or x_m(1 − x_m), so it
// is exact at binary inputs (the original DiffLUT kernels divide and fail there). O(2^k) per sample
// for all k input gradients and all 2^k corner gradients together.
template <class T>
DIFFLUT_HD void ml_backward(const T* w, const T* x, int k, const T* levels, T g, T* dx, T* adj) {
  const int K = 1 << k;
  adj[0] = g;
  int n = 1;  // entries of level m+1
  for (int m = k - 1; m >= 0; --m) {
    const T* cur = m == 0 ? w : levels + (K - (2 << (k - m)));
    const T xm = x[m], om = T(1) - xm;
    T d = T(0);
    // Descending a: adj[2a], adj[2a+1] >= a are overwritten only after adj[a..] were read.
    for (int a = n - 1; a >= 0; --a) {
      const T v = adj[a];
      d += v * (cur[2 * a + 1] - cur[2 * a]);
      adj[2 * a + 1] = v * xm;
      adj[2 * a] = v * om;
    }
    dx[m] += d;
    n <<= 1;
  }
}

// DIFFLUT_LANE_LOOP before a loop over the lanes of ml_grad_lanes: its arrays never overlap within
// one iteration, which GCC cannot prove for pointers into one scratch buffer (without it, it falls
// back to scalar code).
#if defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__)
#define DIFFLUT_LANE_LOOP _Pragma("GCC ivdep") _Pragma("GCC unroll 1")
#else
#define DIFFLUT_LANE_LOOP
#endif

// ml_forward + ml_backward for W samples of one node at once (the CPU backward's hot loop,
// vectorised across samples): values are lane-major, entry r of sample s at v[r * W + s]. w [2^k]
// are the node's corner values (shared by the lanes), x [k][W], g [W]; ADDS into dx [k][W]; leaves
// adj [2^k][W] = the corner gradients per sample; levels [2^k][W] is scratch. Per lane the same
// operations as the scalar functions above.
template <int W, class T>
inline void ml_grad_lanes(const T* w, const T* x, int k, const T* g, T* dx, T* levels, T* adj) {
  const int K = 1 << k;
  int n = K >> 1;
  for (int a = 0; a < n; ++a) {  // level 1 from the broadcast corner values
    const T w0 = w[2 * a], w1 = w[2 * a + 1];
    T* o = levels + a * W;
    DIFFLUT_LANE_LOOP
    for (int s = 0; s < W; ++s) o[s] = (T(1) - x[s]) * w0 + x[s] * w1;
  }
  const T* cur = levels;
  T* out = levels + n * W;
  for (int m = 1; m < k; ++m) {
    n >>= 1;
    const T* xm = x + m * W;
    for (int a = 0; a < n; ++a) {
      const T* c0 = cur + 2 * a * W;
      const T* c1 = c0 + W;
      T* o = out + a * W;
      DIFFLUT_LANE_LOOP
      for (int s = 0; s < W; ++s) o[s] = (T(1) - xm[s]) * c0[s] + xm[s] * c1[s];
    }
    cur = out;
    out += n * W;
  }
  for (int s = 0; s < W; ++s) adj[s] = g[s];
  n = 1;
  for (int m = k - 1; m >= 0; --m) {
    const T* xm = x + m * W;
    const T* lv = m == 0 ? nullptr : levels + (K - (2 << (k - m))) * W;
    T d[W], v[W];
    for (int s = 0; s < W; ++s) d[s] = T(0);
    for (int a = n - 1; a >= 0; --a) {  // descending, as in ml_backward
      T* a0 = adj + 2 * a * W;
      T* a1 = a0 + W;
      DIFFLUT_LANE_LOOP
      for (int s = 0; s < W; ++s) v[s] = adj[a * W + s];
      if (m == 0) {
        const T diff = w[2 * a + 1] - w[2 * a];
        DIFFLUT_LANE_LOOP
        for (int s = 0; s < W; ++s) d[s] += v[s] * diff;
      } else {
        const T* l0 = lv + 2 * a * W;
        const T* l1 = l0 + W;
        DIFFLUT_LANE_LOOP
        for (int s = 0; s < W; ++s) d[s] += v[s] * (l1[s] - l0[s]);
      }
      DIFFLUT_LANE_LOOP
      for (int s = 0; s < W; ++s) {
        a1[s] = v[s] * xm[s];
        a0[s] = v[s] * (T(1) - xm[s]);
      }
    }
    DIFFLUT_LANE_LOOP
    for (int s = 0; s < W; ++s) dx[m * W + s] += d[s];
    n <<= 1;
  }
}

// True when every lane's k inputs are exactly 0 or 1 (x [k][W], lane-major).
template <int W, class T>
inline bool lanes_on_corners(const T* x, int k) {
  unsigned off = 0;  // an integer count, so the loop vectorises
  for (int i = 0; i < k * W; ++i) off += static_cast<unsigned>((x[i] != T(0)) & (x[i] != T(1)));
  return off == 0;
}

// ml_grad_lanes where lanes_on_corners holds (a first layer reads encoder bits): each lane's fold is
// the corner value at its address addr[s], and the reverse pass reaches that one corner, so the
// lane's corner gradients are g at addr[s] and 0 elsewhere (left to the caller), and
// dx_m = g (w[addr with bit m] − w[addr without it]). O(k) per lane instead of O(2^k), and the same
// values bit for bit: at binary inputs the lerps of ml_grad_lanes copy corner values exactly and
// all its other terms are zeros.
template <int W, class T>
inline void ml_grad_lanes_corners(const T* w, const T* x, int k, const T* g, T* dx,
                                  unsigned* addr) {
  for (int s = 0; s < W; ++s) {
    unsigned a = 0;
    for (int l = 0; l < k; ++l) a |= static_cast<unsigned>(x[l * W + s] != T(0)) << l;
    addr[s] = a;
    for (int m = 0; m < k; ++m) {
      // d first, then dx += d, as the fold rounds them (never one fused dx + g·Δ).
      T d = T(0);
      d += g[s] * (w[a | (1u << m)] - w[a & ~(1u << m)]);
      dx[m * W + s] += d;
    }
  }
}

// Σ_l r[l] over 2H lanes by a fixed pairwise tree (r[l] += r[l + H], then H/2, ...): each level is
// one fixed-size vector operation. Overwrites r; returns the sum.
template <int H, class T>
inline T lane_tree_sum(T* r) {
  for (int l = 0; l < H; ++l) r[l] += r[l + H];
  if constexpr (H > 1)
    return lane_tree_sum<H / 2>(r);
  else
    return r[0];
}

// The eval logit at address a for node types whose evaluation is their training logit at binary
// inputs: input l is bit l of a (DESIGN.md §3), then Math::logit.
template <class Math, class T>
DIFFLUT_HD T logit_at_corner(unsigned a, const T* p, const NodeConsts& c, T* s) {
  T bits[kMaxK];
  for (int l = 0; l < c.k; ++l) bits[l] = ((a >> l) & 1u) ? T(1) : T(0);
  return Math::logit(bits, p, c, s);
}

}  // namespace difflut::nodes
