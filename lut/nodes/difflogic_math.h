// Per-sample math of the difflogic node (Petersen et al., NeurIPS 2022): a 2-input node holding a
// softmax distribution over the 16 two-input logic gates, relaxed to real inputs:
//   y = Σ_i softmax(θ)_i · gate_i(a, b),   a = input 0, b = input 1;   eval: the argmax gate.
// The gates in Petersen's order, with their relaxations (each is the multilinear interpolation of
// its truth table, so y is the multilinear extension of the corner values c = Σ_i s_i tt_i):
//    0 false 0          4 ¬a∧b  b − ab        8 nor   1 − (a + b − ab)   12 ¬a    1 − a
//    1 and   ab         5 b     b             9 xnor  1 − (a + b − 2ab)  13 ¬a∨b  1 − a + ab
//    2 a∧¬b  a − ab     6 xor   a + b − 2ab  10 ¬b    1 − b              14 nand  1 − ab
//    3 a     a          7 or    a + b − ab   11 a∨¬b  1 − b + ab         15 true  1
// Params per node: 16 logits.
#pragma once
#include "lut/nodes/node_init.h"
#include "lut/nodes/node_math_common.h"

namespace difflut::nodes {

constexpr int kDiffLogicGates = 16;

// Truth table of gate i as a 4-bit mask: bit (a + 2b) is gate_i(a, b).
DIFFLUT_HD unsigned difflogic_gate_mask(int i) {
  constexpr unsigned kMasks[kDiffLogicGates] = {0, 8, 2, 10, 4, 12, 6, 14,
                                                1, 9, 3, 11, 5, 13, 7, 15};
  return kMasks[i];
}

// The gate with the largest logit (the first on ties).
template <class T>
DIFFLUT_HD int difflogic_argmax(const T* p) {
  int best = 0;
  for (int i = 1; i < kDiffLogicGates; ++i)
    if (p[i] > p[best]) best = i;
  return best;
}

struct DiffLogicMath {
  static int num_params(const NodeConsts&) { return kDiffLogicGates; }
  static void init(Tensor& p, const NodeConsts&, Generator& gen) { init_normal(p, gen, 1.0); }
  static void check(const NodeConsts& c, const std::string& who) {
    DIFFLUT_CHECK(c.k <= 0 || c.k == 2, who,
                  ": difflogic nodes are 2-input logic gates: expected "
                  "k = 2 (model.params.num_inputs=2), found k = ",
                  c.k);
  }
  // q = softmax(θ) [16], then the corner values c [4].
  static int prep_size(const NodeConsts&) { return kDiffLogicGates + 4; }
  static constexpr int scratch_size(int) { return 8; }

  template <class T>
  DIFFLUT_HD static void prep(const T* p, T* q, const NodeConsts&) {
    const T mx = p[difflogic_argmax(p)];
    T sum = T(0);
    for (int i = 0; i < kDiffLogicGates; ++i) {
      q[i] = node_exp(p[i] - mx);
      sum += q[i];
    }
    for (int i = 0; i < kDiffLogicGates; ++i) q[i] /= sum;
    for (int a = 0; a < 4; ++a) {
      T v = T(0);
      for (int i = 0; i < kDiffLogicGates; ++i)
        if ((difflogic_gate_mask(i) >> a) & 1u) v += q[i];
      q[kDiffLogicGates + a] = v;
    }
  }
  template <class T>
  DIFFLUT_HD static T forward(const T* x, const T*, const T* q, const NodeConsts&, T* s) {
    return ml_forward(q + kDiffLogicGates, x, 2, s);
  }
  template <class T>
  DIFFLUT_HD static void backward(const T* x, const T*, const T* q, const NodeConsts&, T g, T* dx,
                                  double* acc, T* s) {
    const T* cv = q + kDiffLogicGates;
    T* levels = s;
    T* adj = s + 4;
    ml_forward(cv, x, 2, levels);
    ml_backward(cv, x, 2, levels, g, dx, adj);
    if (acc)  // dL/ds_i = g · gate_i(a, b) = Σ_{a: tt_i[a] = 1} g · Pr(a | x)
      for (int i = 0; i < kDiffLogicGates; ++i) {
        const unsigned mask = difflogic_gate_mask(i);
        T v = T(0);
        for (int a = 0; a < 4; ++a)
          if ((mask >> a) & 1u) v += adj[a];
        acc[i] += static_cast<double>(v);
      }
  }
  // Softmax Jacobian: dθ_i = s_i (ds_i − Σ_j s_j ds_j).
  template <class T>
  DIFFLUT_HD static void post(const T*, const T* q, const NodeConsts&, double* acc) {
    double dot = 0.0;
    for (int i = 0; i < kDiffLogicGates; ++i) dot += static_cast<double>(q[i]) * acc[i];
    for (int i = 0; i < kDiffLogicGates; ++i) acc[i] = static_cast<double>(q[i]) * (acc[i] - dot);
  }
  template <class T>
  DIFFLUT_HD static T corner_logit(unsigned a, const T* p, const NodeConsts&, T*) {
    return ((difflogic_gate_mask(difflogic_argmax(p)) >> a) & 1u) ? T(1) : T(-1);
  }
};

}  // namespace difflut::nodes
