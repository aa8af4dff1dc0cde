// Thin constructors for the core ops: pack attributes, call Graph::apply.
#include "autograd/ops.h"

namespace difflut {

namespace {
Graph& graph_of(Var v, const char* op) {
  DIFFLUT_CHECK(v.defined(), op, ": input is an undefined Var");
  return *v.graph;
}
Var unary(OpKind k, Var a, std::vector<double> floats = {}) {
  Attrs at;
  at.floats = std::move(floats);
  return graph_of(a, op_name(k)).apply(k, {a}, std::move(at));
}
Var binary(OpKind k, Var a, Var b) {
  graph_of(b, op_name(k));
  return graph_of(a, op_name(k)).apply(k, {a, b});
}
Var axis_op(OpKind k, Var a, std::vector<int64_t> ints) {
  Attrs at;
  at.ints = std::move(ints);
  return graph_of(a, op_name(k)).apply(k, {a}, std::move(at));
}
}  // namespace

Var add(Var a, Var b) { return binary(OpKind::add, a, b); }
Var sub(Var a, Var b) { return binary(OpKind::sub, a, b); }
Var mul(Var a, Var b) { return binary(OpKind::mul, a, b); }
Var div(Var a, Var b) { return binary(OpKind::div, a, b); }
Var add_scalar(Var a, double s) { return unary(OpKind::add_scalar, a, {s}); }
Var mul_scalar(Var a, double s) { return unary(OpKind::mul_scalar, a, {s}); }
Var pow_scalar(Var a, double p) { return unary(OpKind::pow_scalar, a, {p}); }
Var neg(Var a) { return unary(OpKind::neg, a); }
Var exp(Var a) { return unary(OpKind::exp, a); }
Var log(Var a) { return unary(OpKind::log, a); }
Var sigmoid(Var a) { return unary(OpKind::sigmoid, a); }
Var tanh(Var a) { return unary(OpKind::tanh, a); }
Var relu(Var a) { return unary(OpKind::relu, a); }
Var clamp(Var a, double lo, double hi) {
  DIFFLUT_CHECK(lo <= hi, "clamp: expected lo <= hi, found lo=", lo, " hi=", hi);
  return unary(OpKind::clamp, a, {lo, hi});
}
Var threshold_ste(Var a, double t) { return unary(OpKind::threshold_ste, a, {t}); }

Var sum(Var a, int axis, bool keepdim) { return axis_op(OpKind::sum, a, {axis, keepdim}); }
Var mean(Var a, int axis, bool keepdim) { return axis_op(OpKind::mean, a, {axis, keepdim}); }
Var max(Var a, int axis, bool keepdim) { return axis_op(OpKind::max, a, {axis, keepdim}); }
Var argmax(Var a, int axis, bool keepdim) { return axis_op(OpKind::argmax, a, {axis, keepdim}); }
Var sum_all(Var a) { return sum(reshape(a, {-1}), 0, true); }
Var mean_all(Var a) { return mean(reshape(a, {-1}), 0, true); }

Var matmul(Var a, Var b) { return binary(OpKind::matmul, a, b); }
Var softmax(Var a, int axis) { return axis_op(OpKind::softmax, a, {axis}); }
Var log_softmax(Var a, int axis) { return axis_op(OpKind::log_softmax, a, {axis}); }
Var cross_entropy(Var logits, Var labels) { return binary(OpKind::cross_entropy, logits, labels); }

Var reshape(Var a, const Shape& shape) { return axis_op(OpKind::reshape, a, shape); }
Var transpose(Var a) { return axis_op(OpKind::transpose, a, {}); }
Var concat(const std::vector<Var>& parts, int axis) {
  DIFFLUT_CHECK(!parts.empty(), "concat: expected at least one input");
  Attrs at;
  at.ints = {axis};
  return graph_of(parts[0], "concat").apply(OpKind::concat, parts, std::move(at));
}
Var slice(Var a, int axis, int64_t start, int64_t end) {
  return axis_op(OpKind::slice, a, {axis, start, end});
}
Var gather(Var x, const Tensor& index) {
  Attrs at;
  at.tensors = {index};
  return graph_of(x, "gather").apply(OpKind::gather, {x}, std::move(at));
}
Var gather(Var x, const Tensor& index, const Tensor& csr_offsets, const Tensor& csr_positions) {
  Attrs at;
  at.tensors = {index, csr_offsets, csr_positions};
  return graph_of(x, "gather").apply(OpKind::gather, {x}, std::move(at));
}

GatherInverse make_gather_inverse(const Tensor& index, int64_t num_inputs, Device device) {
  DIFFLUT_CHECK(index.dim() == 1, "gather: expected a 1-D index, found ", index.describe());
  std::vector<int64_t> idx = DIFFLUT_DISPATCH_INDEX(index.dtype(), "gather", [&] {
    std::vector<index_t> v = index.to_vector<index_t>();
    return std::vector<int64_t>(v.begin(), v.end());
  });
  std::vector<int32_t> offsets(static_cast<size_t>(num_inputs) + 1, 0);
  for (size_t m = 0; m < idx.size(); ++m) {
    DIFFLUT_CHECK(idx[m] >= 0 && idx[m] < num_inputs, "gather: index[", m, "] = ", idx[m],
                  " is outside [0, ", num_inputs, ")");
    offsets[static_cast<size_t>(idx[m]) + 1]++;
  }
  for (size_t f = 0; f < static_cast<size_t>(num_inputs); ++f) offsets[f + 1] += offsets[f];
  std::vector<int32_t> fill(offsets.begin(), offsets.end() - 1);
  std::vector<int32_t> positions(idx.size());
  for (size_t m = 0; m < idx.size(); ++m)
    positions[static_cast<size_t>(fill[static_cast<size_t>(idx[m])]++)] = static_cast<int32_t>(m);
  return GatherInverse{Tensor::from_vector(offsets, {num_inputs + 1}, device),
                       Tensor::from_vector(positions, {static_cast<int64_t>(idx.size())}, device)};
}

}  // namespace difflut
