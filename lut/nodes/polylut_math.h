// Per-sample math of the polylut node (PolyLUT, Andronic & Constantinides 2023): a linear model over
// every monomial of the k inputs of total degree <= D, then a sigmoid:
//   y = σ(Σ_m w_m Π_l x_l^{e_ml}),  Σ_l e_ml <= D;  eval 1[z(bits) >= 0].
// Like the original DiffLUT, monomials carry powers (x_l^2, ...): there are C(k + D, D) of them
// (28 for k = 6, D = 2). On bits x^e = x, so the eval function only sees the multilinear part.
//
// Monomials are numbered by degree (term 0 is the constant 1); term m > 0 is its parent term
// times one variable, parent < m (poly_table[m] = {parent, variable}), so one pass computes all
// monomial values and the reverse pass all their input gradients, O(#terms) per sample.
#pragma once
#include "lut/nodes/node_init.h"
#include "lut/nodes/node_math_common.h"

namespace difflut::nodes {

// C(k + D, D): the number of monomials of k inputs up to degree D, computed exactly step by step.
inline int64_t polylut_num_terms(int k, int degree) {
  int64_t n = 1;
  for (int i = 1; i <= degree; ++i) n = n * (k + i) / i;
  return n;
}

struct PolyLutMath {
  static constexpr bool kUsesOptions = true;
  static constexpr bool kUsesTermTable = true;
  static int num_params(const NodeConsts& c) { return c.num_terms; }
  static void init(Tensor& p, const NodeConsts&, Generator& gen) { init_normal(p, gen, 0.1); }
  static void check(const NodeConsts& c, const std::string& who) {
    DIFFLUT_CHECK(c.degree >= 1, who, ": expected degree >= 1, found ", c.degree);
    if (c.k <= 0) return;
    const int64_t M = polylut_num_terms(c.k, c.degree < 16 ? c.degree : 16);
    DIFFLUT_CHECK(c.degree <= 16 && M <= kPolyMaxTerms, who, ": k = ", c.k, " and degree ",
                  c.degree, " give more than ", kPolyMaxTerms, " monomials (", M,
                  "); lower the degree");
  }
  static int prep_size(const NodeConsts&) { return 0; }
  static constexpr int scratch_size(int) { return 2 * kPolyMaxTerms; }

  // Monomial values of x into mono [M]; returns z = Σ_m w_m mono_m.
  template <class T>
  DIFFLUT_HD static T logit(const T* x, const T* p, const NodeConsts& c, T* mono) {
    mono[0] = T(1);
    T z = p[0];
    for (int m = 1; m < c.num_terms; ++m) {
      mono[m] = mono[c.poly_table[2 * m]] * x[c.poly_table[2 * m + 1]];
      z += p[m] * mono[m];
    }
    return z;
  }
  template <class T>
  DIFFLUT_HD static void prep(const T*, T*, const NodeConsts&) {}
  template <class T>
  DIFFLUT_HD static T forward(const T* x, const T* p, const T*, const NodeConsts& c, T* s) {
    return node_sigmoid(logit(x, p, c, s));
  }
  template <class T>
  DIFFLUT_HD static void backward(const T* x, const T* p, const T*, const NodeConsts& c, T g, T* dx,
                                  double* acc, T* s) {
    T* mono = s;
    T* adj = s + kPolyMaxTerms;  // dL/d(monomial m)
    const T y = node_sigmoid(logit(x, p, c, mono));
    const T dz = g * y * (T(1) - y);
    const int M = c.num_terms;
    for (int m = 0; m < M; ++m) {
      adj[m] = dz * p[m];
      if (acc) acc[m] += static_cast<double>(dz * mono[m]);
    }
    // Children have larger indices than parents: descending m finishes every adj[m] before use.
    for (int m = M - 1; m >= 1; --m) {
      const int parent = c.poly_table[2 * m], var = c.poly_table[2 * m + 1];
      dx[var] += adj[m] * mono[parent];
      adj[parent] += adj[m] * x[var];
    }
  }
  template <class T>
  DIFFLUT_HD static void post(const T*, const T*, const NodeConsts&, double*) {}
  template <class T>
  DIFFLUT_HD static T corner_logit(unsigned a, const T* p, const NodeConsts& c, T* s) {
    return logit_at_corner<PolyLutMath>(a, p, c, s);
  }
};

}  // namespace difflut::nodes
