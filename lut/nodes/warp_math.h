// Per-sample math of the warp node (WARP-LUTs, the public DiffLUT's WARPNode): Walsh coefficients
// c_S for every subset S of the k inputs, on the signed inputs 2x − 1,
//   y = σ(Σ_S c_S Π_{l ∈ S} (2x_l − 1) / T),   eval 1[Σ_S c_S Π_{l ∈ S} (2 bit_l − 1) >= 0].
// The sum is multilinear in x, so it equals the multilinear extension of its corner values
//   w_a = Σ_S c_S Π_{l ∈ S} (2a_l − 1)   (a Walsh–Hadamard transform of c, 2^k·k adds),
// and the node is computed as σ(ML(w)(x) / T) with the probabilistic family's fold; post maps the
// corner gradients back to the coefficients with the transposed transform.
// Params per node: c [2^k] (bit l of S: input l in S). Option: temperature T (default 1).
#pragma once
#include "lut/nodes/node_init.h"
#include "lut/nodes/probabilistic_math.h"

namespace difflut::nodes {

struct WarpMath : ProbabilisticBase {
  static constexpr bool kUsesOptions = true;
  static void init(Tensor& p, const NodeConsts&, Generator& gen) { init_normal(p, gen, 0.1); }
  static void check(const NodeConsts& c, const std::string& who) {
    DIFFLUT_CHECK(std::isfinite(c.temperature) && c.temperature > 0, who,
                  ": expected temperature > 0, found ", c.temperature);
  }
  static int prep_size(const NodeConsts& c) { return 1 << c.k; }

  // In place over v [2^k]: per input l, (c_{S}, c_{S ∪ l}) -> (c_S − c_{S∪l}, c_S + c_{S∪l}), the
  // factor 2a_l − 1 of an address with a_l = 0 (−1) or a_l = 1 (+1).
  template <class V>
  DIFFLUT_HD static void walsh_to_corners(V* v, int k) {
    for (int l = 0; l < k; ++l)
      for (int a = 0; a < (1 << k); ++a)
        if (!((a >> l) & 1)) {
          const V lo = v[a], hi = v[a | (1 << l)];
          v[a] = lo - hi;
          v[a | (1 << l)] = lo + hi;
        }
  }
  // The transpose of walsh_to_corners: (g_0, g_1) -> (g_0 + g_1, g_1 − g_0) per input.
  template <class V>
  DIFFLUT_HD static void corners_to_walsh_transposed(V* v, int k) {
    for (int l = 0; l < k; ++l)
      for (int a = 0; a < (1 << k); ++a)
        if (!((a >> l) & 1)) {
          const V lo = v[a], hi = v[a | (1 << l)];
          v[a] = lo + hi;
          v[a | (1 << l)] = hi - lo;
        }
  }

  template <class T>
  DIFFLUT_HD static void prep(const T* p, T* q, const NodeConsts& c) {
    for (int a = 0; a < (1 << c.k); ++a) q[a] = p[a];
    walsh_to_corners(q, c.k);
  }
  template <class T>
  DIFFLUT_HD static T forward(const T* x, const T*, const T* q, const NodeConsts& c, T* s) {
    return node_sigmoid(ml_forward(q, x, c.k, s) / static_cast<T>(c.temperature));
  }
  template <class T>
  DIFFLUT_HD static void backward(const T* x, const T*, const T* q, const NodeConsts& c, T g, T* dx,
                                  double* acc, T* s) {
    const T inv_t = static_cast<T>(1.0 / c.temperature);
    const T y = node_sigmoid(ml_forward(q, x, c.k, s) * inv_t);
    ml_grad(q, x, c.k, g * y * (T(1) - y) * inv_t, dx, acc, s);
  }
  template <class T>
  DIFFLUT_HD static void post(const T*, const T*, const NodeConsts& c, double* acc) {
    corners_to_walsh_transposed(acc, c.k);
  }
  // w_a directly: Σ_S c_S (−1)^{|S \ a|}.
  template <class T>
  DIFFLUT_HD static T corner_logit(unsigned a, const T* p, const NodeConsts& c, T*) {
    T w = T(0);
    for (unsigned S = 0; S < (1u << c.k); ++S) {
      bool negative = false;
      for (int l = 0; l < c.k; ++l)
        if (((S & ~a) >> l) & 1u) negative = !negative;
      w += negative ? -p[S] : p[S];
    }
    return w;
  }
};

}  // namespace difflut::nodes
