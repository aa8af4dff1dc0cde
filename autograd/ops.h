// The user-facing op functions. Each appends one node to the inputs' graph (see graph.h) and returns
// its value. Attribute conventions for each kind are documented here once; kernels rely on them.
#pragma once
#include <vector>

#include "autograd/graph.h"

namespace difflut {

// --- elementwise, numpy broadcasting (trailing dims aligned; extent 1 or missing broadcasts) ---
Var add(Var a, Var b);
Var sub(Var a, Var b);
Var mul(Var a, Var b);
Var div(Var a, Var b);
Var add_scalar(Var a, double s);  // attrs.floats = {s}
Var mul_scalar(Var a, double s);  // attrs.floats = {s}
Var pow_scalar(Var a, double p);  // attrs.floats = {p}; x^p
Var neg(Var a);
Var exp(Var a);
Var log(Var a);
Var sigmoid(Var a);
Var tanh(Var a);
Var relu(Var a);
Var clamp(Var a, double lo, double hi);  // attrs.floats = {lo, hi}; grad passes on [lo, hi]
// 1 where x >= t else 0 (same dtype); backward passes the gradient straight through unchanged.
Var threshold_ste(Var a, double t = 0.5);  // attrs.floats = {t}

inline Var operator+(Var a, Var b) { return add(a, b); }
inline Var operator-(Var a, Var b) { return sub(a, b); }
inline Var operator*(Var a, Var b) { return mul(a, b); }
inline Var operator/(Var a, Var b) { return div(a, b); }
inline Var operator-(Var a) { return neg(a); }
inline Var operator+(Var a, double s) { return add_scalar(a, s); }
inline Var operator-(Var a, double s) { return add_scalar(a, -s); }
inline Var operator*(Var a, double s) { return mul_scalar(a, s); }
inline Var operator*(double s, Var a) { return mul_scalar(a, s); }
inline Var operator/(Var a, double s) { return mul_scalar(a, 1.0 / s); }

// --- reductions along one axis (negative axis counts from the end) -----------------------------
Var sum(Var a, int axis, bool keepdim = false);   // attrs.ints = {axis, keepdim}
Var mean(Var a, int axis, bool keepdim = false);  // attrs.ints = {axis, keepdim}
Var max(Var a, int axis, bool keepdim = false);   // attrs.ints = {axis, keepdim}; grad to first max
Var argmax(Var a, int axis, bool keepdim = false);  // i64 output, first index on ties; no gradient
Var sum_all(Var a);                                 // reshape to [numel] then sum axis 0 -> [1]
Var mean_all(Var a);

// --- dense -------------------------------------------------------------------------------------
Var matmul(Var a, Var b);               // [M, K] x [K, N] -> [M, N]
Var softmax(Var a, int axis = -1);      // attrs.ints = {axis}
Var log_softmax(Var a, int axis = -1);  // attrs.ints = {axis}
// Mean over the batch of -log_softmax(logits)[b, label[b]]; logits [B, C] float, labels [B] i32/i64.
// Returns shape [1]. Labels outside [0, C) are an error.
Var cross_entropy(Var logits, Var labels);

// --- shape and indexing -------------------------------------------------------------------------
Var reshape(Var a, const Shape& shape);                  // attrs.ints = shape (one -1 allowed)
Var transpose(Var a);                                    // 2-D only: [M, N] -> [N, M]
Var concat(const std::vector<Var>& parts, int axis);     // attrs.ints = {axis}
Var slice(Var a, int axis, int64_t start, int64_t end);  // attrs.ints = {axis, start, end}
// out[b, m] = x[b, index[m]] for x [B, F] and index [M] (i32 or i64, on x's device) -> [B, M].
// Backward scatters through a CSR inverse of index (per-input ownership, no atomics).
// attrs.tensors = {index} or {index, csr_offsets [F+1] i32, csr_positions [M] i32} when the inverse
// is precomputed (mapping layers do this once at construction; see make_gather_inverse).
Var gather(Var x, const Tensor& index);
Var gather(Var x, const Tensor& index, const Tensor& csr_offsets, const Tensor& csr_positions);

// The CSR inverse of an index vector over `num_inputs` sources: for source f, the positions m with
// index[m] == f are csr_positions[csr_offsets[f] .. csr_offsets[f+1]) in increasing m. Host-built,
// returned on `device` as i32 tensors.
struct GatherInverse {
  Tensor offsets;    // [num_inputs + 1] i32
  Tensor positions;  // [M] i32
};
GatherInverse make_gather_inverse(const Tensor& index, int64_t num_inputs, Device device);

}  // namespace difflut
