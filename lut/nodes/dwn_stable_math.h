// Per-sample math of the dwn_stable node (the public DiffLUT's DWNStableNode, whose autograd
// function is called GradientStabilized): a DWN lookup of a sigmoid table with the extended
// finite-difference input gradient, both gradients scaled by s = 1.25 (the published
// gradient_scale; a parameter there that never receives a gradient, so a constant here):
//   forward   y = σ(θ_addr(x)),   addr = Σ_l 1[x_l >= 0.5] << l
//   dL/dx_l   = s·g·Σ_a (2a_l − 1) σ(θ_a) / (H(a, addr) without bit l + 1)
//   dL/dθ_a   = s·g·σ'(θ_a) at a = addr (0 elsewhere)
//   eval      1[θ_addr >= 0]
// It differs from dwn in math, not only in numerics: the table is σ(θ) in (0, 1) rather than
// θ clipped, and the EFD sums every address with weight 1/(H + 1) rather than dwn's α·β^H.
// Params per node: θ [2^k].
#pragma once
#include "lut/nodes/node_init.h"
#include "lut/nodes/probabilistic_math.h"

namespace difflut::nodes {

struct DwnStableMath : ProbabilisticBase {
  static constexpr double kGradientScale = 1.25;
  static void init(Tensor& p, const NodeConsts&, Generator& gen) { init_normal(p, gen, 0.1); }
  // q = [σ(θ_a) for every a | the EFD gradient G[a·k + l] for every address a and input l].
  static int prep_size(const NodeConsts& c) { return (1 << c.k) * (c.k + 1); }
  static constexpr int scratch_size(int) { return 1; }

  template <class T>
  DIFFLUT_HD static void prep(const T* p, T* q, const NodeConsts& c) {
    const int K = 1 << c.k;
    sigmoid_table(p, q, c.k, T(1));
    T* G = q + K;
    for (int a = 0; a < K; ++a)
      for (int l = 0; l < c.k; ++l) {
        const unsigned mask = static_cast<unsigned>(K - 1) & ~(1u << l);
        T sum = T(0);
        for (int b = 0; b < K; ++b) {
          int h = 0;  // Hamming distance of a and b outside bit l
          for (unsigned d = (static_cast<unsigned>(a ^ b)) & mask; d; d &= d - 1) ++h;
          const T v = q[b] / T(h + 1);
          sum += ((b >> l) & 1) ? v : -v;
        }
        G[a * c.k + l] = sum;
      }
  }
  static constexpr bool kLookupForward = true;  // forward = q[address]: the CPU reads 16 at once
  template <class T>
  DIFFLUT_HD static T forward(const T* x, const T*, const T* q, const NodeConsts& c, T*) {
    return q[node_address(x, c.k)];
  }
  template <class T>
  DIFFLUT_HD static void backward(const T* x, const T*, const T* q, const NodeConsts& c, T g, T* dx,
                                  double* acc, T*) {
    const unsigned a = node_address(x, c.k);
    const T gs = g * T(kGradientScale);
    const T* G = q + (1 << c.k) + a * c.k;
    for (int l = 0; l < c.k; ++l) dx[l] += gs * G[l];
    if (acc) acc[a] += static_cast<double>(gs);
  }
  template <class T>
  DIFFLUT_HD static void post(const T*, const T* q, const NodeConsts& c, double* acc) {
    sigmoid_chain(q, c.k, 1.0, acc);
  }
};

}  // namespace difflut::nodes
