// Per-sample math of the probabilistic node family. With the input distribution
// Pr(a | x) = Π_j p_j(a_j), p_j(1) = x_j, p_j(0) = 1 − x_j (inputs in [0, 1] are bit probabilities):
//   probabilistic:          y = Σ_a σ(θ_a/T) Pr(a | x)        eval 1[θ_addr >= 0]
//   unbound_probabilistic:  y = σ(Σ_a θ_a Pr(a | x))           eval 1[θ_addr >= 0]
//   hybrid:                 y = σ(θ_addr(x))  (DWN-style lookup at the binarised address) in the
//                           forward, the probabilistic node's gradients (with T = 1) backward;
//                           eval 1[θ_addr >= 0]
// Params per node: θ [2^k]. All three use the multilinear fold of node_math_common.h, whose input
// gradient never divides by x (exact at binary inputs).
#pragma once
#include <cstdint>

#include "lut/nodes/node_init.h"
#include "lut/nodes/node_math_common.h"

namespace difflut::nodes {

// Shared parts: θ per address, eval by the sign of θ_addr (σ(θ/T) >= 0.5 exactly when θ >= 0).
struct ProbabilisticBase {
  static int num_params(const NodeConsts& c) { return 1 << c.k; }
  static constexpr int scratch_size(int kmax) { return 2 << kmax; }  // levels + adjoints
  template <class T>
  DIFFLUT_HD static T corner_logit(unsigned a, const T* p, const NodeConsts&, T*) {
    return p[a];
  }
  // q_a = σ(θ_a / t) for every address.
  template <class T>
  DIFFLUT_HD static void sigmoid_table(const T* p, T* q, int k, T inv_t) {
    for (int a = 0; a < (1 << k); ++a) q[a] = node_sigmoid(p[a] * inv_t);
  }
  // Backward of y = ML(w)(x) scaled by g: dx and the corner gradients g·Pr(a | x) into acc.
  template <class T>
  DIFFLUT_HD static void ml_grad(const T* w, const T* x, int k, T g, T* dx, double* acc, T* s) {
    T* levels = s;
    T* adj = s + (1 << k);
    ml_forward(w, x, k, levels);
    ml_backward(w, x, k, levels, g, dx, adj);
    if (acc)
      for (int a = 0; a < (1 << k); ++a) acc[a] += static_cast<double>(adj[a]);
  }
  // ml_grad for W samples at once (lane-major, see ml_grad_lanes): each corner's W lane gradients
  // are summed in float by a fixed pairwise tree (vectorised; the order never depends on threads),
  // then added to acc in double. Lanes all on corners (binary inputs) take the O(k) path, which
  // gives the same values (kCornerPath = false forces the fold, for the test that says so): only
  // the corners some lane sits on have a non-zero sum, and their rows are summed by the same tree.
  template <int W, class T, bool kCornerPath = true>
  static void ml_grad_lanes_acc(const T* w, const T* x, int k, const T* g, T* dx, double* acc,
                                T* s) {
    T* levels = s;
    T* adj = s + (W << k);
    if (kCornerPath && lanes_on_corners<W>(x, k)) {
      unsigned addr[W];
      ml_grad_lanes_corners<W>(w, x, k, g, dx, addr);
      if (!acc) return;
      for (int l = 0; l < W; ++l)
        for (int i = 0; i < W; ++i) adj[addr[l] * W + i] = T(0);
      for (int l = 0; l < W; ++l) adj[addr[l] * W + l] = g[l];
      uint64_t summed[(1 << kMaxK) / 64] = {};  // corners whose row was summed already
      for (int l = 0; l < W; ++l) {
        const unsigned a = addr[l];
        if ((summed[a / 64] >> (a % 64)) & 1u) continue;
        summed[a / 64] |= uint64_t{1} << (a % 64);
        acc[a] += static_cast<double>(lane_tree_sum<W / 2>(adj + a * W));
      }
      return;
    }
    ml_grad_lanes<W>(w, x, k, g, dx, levels, adj);
    if (!acc) return;
    for (int a = 0; a < (1 << k); ++a)
      acc[a] += static_cast<double>(lane_tree_sum<W / 2>(adj + a * W));
  }
  // acc_a (a sum of dL/dq_a) times dq_a/dθ_a = q_a (1 − q_a) / t.
  template <class T>
  DIFFLUT_HD static void sigmoid_chain(const T* q, int k, double inv_t, double* acc) {
    for (int a = 0; a < (1 << k); ++a) {
      const double qa = static_cast<double>(q[a]);
      acc[a] *= qa * (1.0 - qa) * inv_t;
    }
  }
};

struct ProbabilisticMath : ProbabilisticBase {
  static constexpr bool kUsesOptions = true;
  static void init(Tensor& p, const NodeConsts&, Generator& gen) { init_normal(p, gen, 1.0); }
  static void check(const NodeConsts& c, const std::string& who) {
    DIFFLUT_CHECK(std::isfinite(c.temperature) && c.temperature > 0, who,
                  ": expected temperature > 0, found ", c.temperature);
  }
  static int prep_size(const NodeConsts& c) { return 1 << c.k; }
  template <class T>
  DIFFLUT_HD static void prep(const T* p, T* q, const NodeConsts& c) {
    sigmoid_table(p, q, c.k, static_cast<T>(1.0 / c.temperature));
  }
  template <class T>
  DIFFLUT_HD static T forward(const T* x, const T*, const T* q, const NodeConsts& c, T* s) {
    return ml_forward(q, x, c.k, s);
  }
  template <class T>
  DIFFLUT_HD static void backward(const T* x, const T*, const T* q, const NodeConsts& c, T g, T* dx,
                                  double* acc, T* s) {
    ml_grad(q, x, c.k, g, dx, acc, s);
  }
  static constexpr bool kLaneBackward = true;
  static constexpr bool kMultilinearLanes =
      true;  // backward_lanes = ml_grad_lanes_acc over q  // backward_lanes: W samples at once on the CPU
  template <int W, class T>
  static void backward_lanes(const T* x, const T*, const T* q, const NodeConsts& c, const T* g,
                             T* dx, double* acc, T* s) {
    ml_grad_lanes_acc<W>(q, x, c.k, g, dx, acc, s);
  }
  template <class T>
  DIFFLUT_HD static void post(const T*, const T* q, const NodeConsts& c, double* acc) {
    sigmoid_chain(q, c.k, 1.0 / c.temperature, acc);
  }
};

struct UnboundProbabilisticMath : ProbabilisticBase {
  static void init(Tensor& p, const NodeConsts&, Generator& gen) { init_normal(p, gen, 1.0); }
  static int prep_size(const NodeConsts&) { return 0; }
  template <class T>
  DIFFLUT_HD static void prep(const T*, T*, const NodeConsts&) {}
  template <class T>
  DIFFLUT_HD static T forward(const T* x, const T* p, const T*, const NodeConsts& c, T* s) {
    return node_sigmoid(ml_forward(p, x, c.k, s));
  }
  template <class T>
  DIFFLUT_HD static void backward(const T* x, const T* p, const T*, const NodeConsts& c, T g, T* dx,
                                  double* acc, T* s) {
    const T y = node_sigmoid(ml_forward(p, x, c.k, s));
    ml_grad(p, x, c.k, g * y * (T(1) - y), dx, acc, s);
  }
  template <class T>
  DIFFLUT_HD static void post(const T*, const T*, const NodeConsts&, double*) {}
};

struct HybridMath : ProbabilisticBase {
  static void init(Tensor& p, const NodeConsts&, Generator& gen) { init_normal(p, gen, 0.1); }
  static int prep_size(const NodeConsts& c) { return 1 << c.k; }
  template <class T>
  DIFFLUT_HD static void prep(const T* p, T* q, const NodeConsts& c) {
    sigmoid_table(p, q, c.k, T(1));
  }
  static constexpr bool kLookupForward = true;  // forward = q[address]: the CPU reads 16 at once
  template <class T>
  DIFFLUT_HD static T forward(const T* x, const T*, const T* q, const NodeConsts& c, T*) {
    return q[node_address(x, c.k)];
  }
  template <class T>
  DIFFLUT_HD static void backward(const T* x, const T*, const T* q, const NodeConsts& c, T g, T* dx,
                                  double* acc, T* s) {
    ml_grad(q, x, c.k, g, dx, acc, s);
  }
  static constexpr bool kLaneBackward = true;
  static constexpr bool kMultilinearLanes = true;  // backward_lanes = ml_grad_lanes_acc over q
  template <int W, class T>
  static void backward_lanes(const T* x, const T*, const T* q, const NodeConsts& c, const T* g,
                             T* dx, double* acc, T* s) {
    ml_grad_lanes_acc<W>(q, x, c.k, g, dx, acc, s);
  }
  template <class T>
  DIFFLUT_HD static void post(const T*, const T* q, const NodeConsts& c, double* acc) {
    sigmoid_chain(q, c.k, 1.0, acc);
  }
};

}  // namespace difflut::nodes
