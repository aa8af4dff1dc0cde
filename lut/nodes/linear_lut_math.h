// Per-sample math of the linear_lut node: y = σ(Σ_l w_l x_l + b); eval 1[Σ_l w_l bit_l + b >= 0].
// Params per node: w_0..w_{k-1}, b (P = k + 1).
//
// Every built-in node type's math struct has the same static interface (used by the generic
// kernels in node_kernels_{cpu.cpp,cuda.cu}):
//   num_params(c)                        P, parameters per node (host)
//   prep_size(c), prep(p, q, c)          optional per-node precomputation q [Q] from params (Q = 0:
//                                        none), e.g. σ(θ/T) once per node instead of per sample
//   scratch_size(kmax)                   per-sample scratch elements the functions below may use
//   forward(x, p, q, c, s)               soft output for one sample's k inputs x
//   backward(x, p, q, c, g, dx, acc, s)  ADDS g·dy/dx into dx [k] and g·dy/dparams (or a linear
//                                        pre-image of it, see post) into acc [P] (double; may be null)
//   post(p, q, c, acc)                   turns the batch sum of acc into dL/dparams, in place
//   corner_logit(a, p, c, s)             eval: node output at address a is 1[corner_logit >= 0]
//   init(params, c, gen)                 host: initial values of params [N, P]
// and optionally check / kUsesOptions / kUsesTermTable (see node_math.h).
#pragma once
#include "lut/nodes/node_init.h"
#include "lut/nodes/node_math_common.h"

namespace difflut::nodes {

struct LinearLutMath {
  static int num_params(const NodeConsts& c) { return c.k + 1; }
  static void init(Tensor& p, const NodeConsts& c, Generator& gen) {  // w ~ N(0, 0.1²), b = 0
    init_normal(p, gen, 0.1);
    init_column(p, c.k, 0.0);
  }
  static int prep_size(const NodeConsts&) { return 0; }
  static constexpr int scratch_size(int) { return 1; }

  template <class T>
  DIFFLUT_HD static T logit(const T* x, const T* p, int k) {
    T z = p[k];
    for (int l = 0; l < k; ++l) z += p[l] * x[l];
    return z;
  }
  template <class T>
  DIFFLUT_HD static void prep(const T*, T*, const NodeConsts&) {}
  template <class T>
  DIFFLUT_HD static T forward(const T* x, const T* p, const T*, const NodeConsts& c, T*) {
    return node_sigmoid(logit(x, p, c.k));
  }
  template <class T>
  DIFFLUT_HD static void backward(const T* x, const T* p, const T*, const NodeConsts& c, T g, T* dx,
                                  double* acc, T*) {
    const T y = node_sigmoid(logit(x, p, c.k));
    const T dz = g * y * (T(1) - y);
    for (int l = 0; l < c.k; ++l) dx[l] += dz * p[l];
    if (acc) {
      for (int l = 0; l < c.k; ++l) acc[l] += static_cast<double>(dz * x[l]);
      acc[c.k] += static_cast<double>(dz);
    }
  }
  template <class T>
  DIFFLUT_HD static void post(const T*, const T*, const NodeConsts&, double*) {}
  template <class T>
  DIFFLUT_HD static T corner_logit(unsigned a, const T* p, const NodeConsts& c, T*) {
    T z = p[c.k];
    for (int l = 0; l < c.k; ++l)
      if ((a >> l) & 1u) z += p[l];
    return z;
  }
};

}  // namespace difflut::nodes
