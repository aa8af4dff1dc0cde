// Per-node math of the lut_regularizer op, shared by both devices. A node's corner values F[a]
// (its soft output at every address a) are read with a stride (column j of F [2^k, N]).
//   functional: R = (1/(2^k k)) Σ_a Σ_l (F[a] − F[a ⊕ 2^l])²         (bit-flip sensitivity)
//   spectral:   R = Σ_S |S| f̂(S)²,  f̂ = 2^-k · WHT(F)              (degree-weighted spectrum)
// WHT is the unnormalised Walsh–Hadamard transform, its own transpose (H[S] = Σ_a F[a] (−1)^{|a∧S|}).
#pragma once
#include "lut/nodes/node_math_common.h"

namespace difflut::nodes {

DIFFLUT_HD int reg_popcount(unsigned v) {
  int n = 0;
  for (; v; v &= v - 1) ++n;
  return n;
}

// In-place unnormalised Walsh–Hadamard transform of h[a * stride], a < 2^k.
DIFFLUT_HD void reg_wht(double* h, int k, long long stride) {
  const int K = 1 << k;
  for (int m = 0; m < k; ++m)
    for (int a = 0; a < K; ++a)
      if (!((a >> m) & 1)) {
        const double u = h[a * stride], v = h[(a | (1 << m)) * stride];
        h[a * stride] = u + v;
        h[(a | (1 << m)) * stride] = u - v;
      }
}

template <class T>
DIFFLUT_HD double reg_functional(const T* F, long long stride, int k) {
  const int K = 1 << k;
  double s = 0.0;
  for (int a = 0; a < K; ++a)
    for (int l = 0; l < k; ++l) {
      const double d =
          static_cast<double>(F[a * stride]) - static_cast<double>(F[(a ^ (1 << l)) * stride]);
      s += d * d;
    }
  return s / (static_cast<double>(K) * k);
}

// ADDS g · dR/dF into dF.
template <class T>
DIFFLUT_HD void reg_functional_backward(const T* F, long long stride, int k, double g, T* dF) {
  const int K = 1 << k;
  const double scale = 4.0 * g / (static_cast<double>(K) * k);
  for (int a = 0; a < K; ++a) {
    double s = 0.0;
    for (int l = 0; l < k; ++l)
      s += static_cast<double>(F[a * stride]) - static_cast<double>(F[(a ^ (1 << l)) * stride]);
    dF[a * stride] += static_cast<T>(scale * s);
  }
}

// h: scratch [2^k] with stride hs.
template <class T>
DIFFLUT_HD double reg_spectral(const T* F, long long stride, int k, double* h, long long hs) {
  const int K = 1 << k;
  for (int a = 0; a < K; ++a) h[a * hs] = static_cast<double>(F[a * stride]);
  reg_wht(h, k, hs);
  double s = 0.0;
  for (int S = 1; S < K; ++S) s += reg_popcount(static_cast<unsigned>(S)) * h[S * hs] * h[S * hs];
  return s / (static_cast<double>(K) * K);
}

// dR/dF = (2/4^k) · WHT(|S| · WHT(F)). ADDS g · dR/dF into dF (stride like F).
template <class T>
DIFFLUT_HD void reg_spectral_backward(const T* F, long long stride, int k, double g, T* dF,
                                      double* h, long long hs) {
  const int K = 1 << k;
  for (int a = 0; a < K; ++a) h[a * hs] = static_cast<double>(F[a * stride]);
  reg_wht(h, k, hs);
  for (int S = 0; S < K; ++S) h[S * hs] *= reg_popcount(static_cast<unsigned>(S));
  reg_wht(h, k, hs);
  const double scale = 2.0 * g / (static_cast<double>(K) * K);
  for (int a = 0; a < K; ++a) dF[a * stride] += static_cast<T>(scale * h[a * hs]);
}

}  // namespace difflut::nodes
