// Per-sample math of the gradient_stabilized node (the public DiffLUT's GradientStabilizedNode): a
// DWN lookup of a sigmoid table whose input gradient depends only on how close the input is to the
// threshold and on the node's table range, not on the table's shape:
//   forward   y = σ(θ_addr(x)),  addr = Σ_l 1[x_l >= 0.5] << l       eval 1[θ_addr >= 0]
//   dL/dθ_a   = s g σ'(θ_a) at a = addr (0 elsewhere)
//   dL/dx_l   = s g · sign_l · clamp(1 − 2|x_l − ½|, 0, 1) · (max_a σ(θ_a) − min_a σ(θ_a)),
//               sign_l = +1 if x_l >= ½ else −1
// with s = 1 (the published gradient_scale starts at 1 and its backward returns no gradient for
// it, so it stays 1). The input gradient is a surrogate (the forward is piecewise constant in x).
// Params per node: θ [2^k]; init θ ~ N(0, 0.05²) (the published init).
#pragma once
#include "lut/nodes/node_init.h"
#include "lut/nodes/probabilistic_math.h"

namespace difflut::nodes {

struct GradientStabilizedMath : ProbabilisticBase {
  static void init(Tensor& p, const NodeConsts&, Generator& gen) { init_normal(p, gen, 0.05); }
  // q = [σ(θ_a) for every a | max_a σ(θ_a) − min_a σ(θ_a)].
  static int prep_size(const NodeConsts& c) { return (1 << c.k) + 1; }
  static constexpr int scratch_size(int) { return 1; }

  template <class T>
  DIFFLUT_HD static void prep(const T* p, T* q, const NodeConsts& c) {
    const int K = 1 << c.k;
    sigmoid_table(p, q, c.k, T(1));
    T lo = q[0], hi = q[0];
    for (int a = 1; a < K; ++a) {
      lo = q[a] < lo ? q[a] : lo;
      hi = q[a] > hi ? q[a] : hi;
    }
    q[K] = hi - lo;
  }
  template <class T>
  DIFFLUT_HD static T forward(const T* x, const T*, const T* q, const NodeConsts& c, T*) {
    return q[node_address(x, c.k)];
  }
  template <class T>
  DIFFLUT_HD static void backward(const T* x, const T*, const T* q, const NodeConsts& c, T g, T* dx,
                                  double* acc, T*) {
    const T range = q[1 << c.k];
    for (int l = 0; l < c.k; ++l) {
      const T d = x[l] - T(0.5);
      T near = T(1) - T(2) * (d < T(0) ? -d : d);
      near = near < T(0) ? T(0) : (near > T(1) ? T(1) : near);
      const T v = g * near * range;
      dx[l] += x[l] >= T(0.5) ? v : -v;
    }
    if (acc) acc[node_address(x, c.k)] += static_cast<double>(g);
  }
  template <class T>
  DIFFLUT_HD static void post(const T*, const T* q, const NodeConsts& c, double* acc) {
    sigmoid_chain(q, c.k, 1.0, acc);
  }
};

}  // namespace difflut::nodes
