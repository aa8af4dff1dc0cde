// Per-sample math of the probabilistic_stable node (the public DiffLUT's ProbabilisticStableNode):
// the probabilistic node with T = 1 forward, and an input gradient rescaled per (sample, node) so
// that its L1 norm follows the output gradient's (the published "gradient stabilisation"):
//   forward   y = Σ_a σ(θ_a) Pr(a | x)                    eval 1[θ_addr >= 0]
//   dL/dθ_a   = g σ'(θ_a) Pr(a | x)                        (unchanged)
//   dL/dx     = s · r,  r = g ∂y/∂x (the exact gradient),
//               s = clamp(α ln(1 + k/1) |g| / (‖r‖₁ + 1e-6), 0.1, 10),  α = 1
// (I/O = k/1: one node has k inputs and one output; α, 0.1 and 10 are the published defaults.) The
// scale is a function of the sample's gradients, not differentiated: the input gradient is a
// surrogate, no longer the gradient of y. Params per node: θ [2^k]; init θ ~ N(0, 2/(2^k + 1)).
#pragma once
#include <cmath>

#include "lut/nodes/node_init.h"
#include "lut/nodes/probabilistic_math.h"

namespace difflut::nodes {

struct ProbabilisticStableMath : ProbabilisticBase {
  static constexpr double kAlpha = 1.0, kScaleMin = 0.1, kScaleMax = 10.0, kEps = 1e-6;
  static void init(Tensor& p, const NodeConsts& c, Generator& gen) {  // the published Xavier std
    init_normal(p, gen, std::sqrt(2.0 / static_cast<double>((1 << c.k) + 1)));
  }
  static int prep_size(const NodeConsts& c) { return 1 << c.k; }
  template <class T>
  DIFFLUT_HD static void prep(const T* p, T* q, const NodeConsts& c) {
    sigmoid_table(p, q, c.k, T(1));
  }
  template <class T>
  DIFFLUT_HD static T forward(const T* x, const T*, const T* q, const NodeConsts& c, T* s) {
    return ml_forward(q, x, c.k, s);
  }
  template <class T>
  DIFFLUT_HD static void backward(const T* x, const T*, const T* q, const NodeConsts& c, T g, T* dx,
                                  double* acc, T* s) {
    T r[kMaxK];
    for (int l = 0; l < c.k; ++l) r[l] = T(0);
    ml_grad(q, x, c.k, g, r, acc, s);
    T l1 = T(0);
    for (int l = 0; l < c.k; ++l) l1 += r[l] < T(0) ? -r[l] : r[l];
    const T ag = g < T(0) ? -g : g;
    // ln(1 + k): log1p of an integer, computed in T like the rest.
    const T ratio = static_cast<T>(kAlpha) * node_log(T(1) + T(c.k));
    T scale = ratio * ag / (l1 + static_cast<T>(kEps));
    scale = scale < T(kScaleMin) ? T(kScaleMin) : (scale > T(kScaleMax) ? T(kScaleMax) : scale);
    for (int l = 0; l < c.k; ++l) dx[l] += scale * r[l];
  }
  template <class T>
  DIFFLUT_HD static void post(const T*, const T* q, const NodeConsts& c, double* acc) {
    sigmoid_chain(q, c.k, 1.0, acc);
  }
};

}  // namespace difflut::nodes
