// Op rows of the built-in node types and the lut_regularizer op (shape and attribute validation,
// kernels per device), and their user-facing constructors declared in lut/node_ops.h.
#include <cmath>
#include <map>
#include <mutex>
#include <tuple>

#include "autograd/op_def.h"
#include "lut/node_ops.h"
#include "lut/nodes/node_kernels.h"

namespace difflut {

using nodes::NodeConsts;
using nodes::NodeKind;

namespace {

TensorMeta infer_node_op(NodeKind kind, const std::vector<TensorMeta>& in, const Attrs& attrs) {
  const char* op = nodes::node_op_name(kind);
  DIFFLUT_CHECK(attrs.ints.size() == 6 && attrs.floats.size() == 1, op,
                ": expected attrs ints {k, training, degree, width, depth, skip} and floats "
                "{temperature}, found ", attrs.ints.size(), " ints and ", attrs.floats.size(),
                " floats");
  const int64_t k = attrs.ints[0];
  DIFFLUT_CHECK(k >= 1 && k <= nodes::kMaxK, op, ": k must be in [1, ", nodes::kMaxK,
                "], found ", k);
  if (kind == NodeKind::difflogic)
    DIFFLUT_CHECK(k == 2, op, ": difflogic nodes are 2-input logic gates: expected k = 2, found k = ",
                  k);
  if (kind == NodeKind::polylut) {
    const int64_t D = attrs.ints[2];
    DIFFLUT_CHECK(D >= 1, op, ": expected a degree D >= 1, found ", D);
    const int64_t M = nodes::polylut_num_terms(static_cast<int>(k), static_cast<int>(std::min<int64_t>(D, 16)));
    DIFFLUT_CHECK(D <= 16 && M <= nodes::kPolyMaxTerms, op, ": k = ", k, " and degree ", D,
                  " give more than ", nodes::kPolyMaxTerms, " monomials (", M,
                  "); lower the degree");
    DIFFLUT_CHECK(attrs.tensors.size() == 1 && attrs.tensors[0].dtype() == DType::i32 &&
                      attrs.tensors[0].shape() == Shape({M, 2}),
                  op, ": expected the monomial table i32 [", M, ", 2] as attribute tensor");
  }
  if (kind == NodeKind::neurallut) {
    const int64_t W = attrs.ints[3], depth = attrs.ints[4], skip = attrs.ints[5];
    DIFFLUT_CHECK(W >= 1 && W <= nodes::kNeuralMaxWidth, op, ": expected a hidden width in [1, ",
                  nodes::kNeuralMaxWidth, "], found ", W);
    DIFFLUT_CHECK(depth >= 1 && depth <= nodes::kNeuralMaxDepth, op,
                  ": expected a depth (linear layers) in [1, ", nodes::kNeuralMaxDepth,
                  "], found ", depth);
    DIFFLUT_CHECK(skip >= 0, op, ": expected a skip interval >= 0 (0: none), found ", skip);
  }
  if (kind == NodeKind::probabilistic) {
    const double T = attrs.floats[0];
    DIFFLUT_CHECK(std::isfinite(T) && T > 0, op, ": expected a temperature T > 0, found ", T);
  }
  DIFFLUT_CHECK(in.size() == 2, op, ": expected 2 inputs (x, params), found ", in.size());
  const TensorMeta& x = in[0];
  const TensorMeta& p = in[1];
  DIFFLUT_CHECK(is_floating(x.dtype) && x.dtype == p.dtype, op,
                ": expected floating x and params of one dtype, found ", dtype_name(x.dtype),
                " and ", dtype_name(p.dtype));
  DIFFLUT_CHECK(x.shape.size() == 2 && p.shape.size() == 2, op,
                ": expected x [B, N*k] and params [N, P], found x ", shape_str(x.shape),
                " and params ", shape_str(p.shape));
  const int64_t N = p.shape[0];
  const int64_t P = nodes::node_num_params(kind, nodes::node_consts(kind, attrs));
  DIFFLUT_CHECK(p.shape[1] == P, op, ": expected params [N, ", P, "] for k = ", k, ", found ",
                shape_str(p.shape));
  DIFFLUT_CHECK(x.shape[1] == N * k, op, ": expected x [B, N*k] = [B, ", N * k, "] for ", N,
                " nodes and k = ", k, ", found x ", shape_str(x.shape));
  return TensorMeta{{x.shape[0], N}, x.dtype};
}

template <NodeKind kKind>
TensorMeta infer_node(const std::vector<TensorMeta>& in, const Attrs& attrs) {
  return infer_node_op(kKind, in, attrs);
}

TensorMeta infer_lut_regularizer(const std::vector<TensorMeta>& in, const Attrs& attrs) {
  DIFFLUT_CHECK(in.size() == 1, "lut_regularizer: expected 1 input (corner values), found ",
                in.size());
  DIFFLUT_CHECK(attrs.ints.size() == 2, "lut_regularizer: expected attrs ints {k, kind}");
  const int64_t k = attrs.ints[0], kind = attrs.ints[1];
  DIFFLUT_CHECK(k >= 1 && k <= nodes::kMaxK, "lut_regularizer: k must be in [1, ", nodes::kMaxK,
                "], found ", k);
  DIFFLUT_CHECK(kind == nodes::kRegFunctional || kind == nodes::kRegSpectral,
                "lut_regularizer: expected kind 0 (functional) or 1 (spectral), found ", kind);
  DIFFLUT_CHECK(is_floating(in[0].dtype) && in[0].shape.size() == 2 &&
                    in[0].shape[0] == (int64_t{1} << k),
                "lut_regularizer: expected floating corner values [2^k, N] = [", int64_t{1} << k,
                ", N], found ", dtype_name(in[0].dtype), " ", shape_str(in[0].shape));
  return TensorMeta{{in[0].shape[1]}, in[0].dtype};
}

OpDef node_row(const char* name, InferFn infer) {
  return OpDef{.name = name,
               .differentiable_inputs = {0, 1},
               .infer = infer,
               .forward = {nodes::node_lut_forward_cpu, DIFFLUT_CUDA_FN(nodes::node_lut_forward_cuda)},
               .backward = {nodes::node_lut_backward_cpu,
                            DIFFLUT_CUDA_FN(nodes::node_lut_backward_cuda)}};
}

// PolyLUT's monomial table on `dev`, built once per (k, D, device): the graph keeps a reference,
// and a per-call host-to-device copy would synchronise every forward. The cache is never destroyed
// (device memory must not be freed after the CUDA runtime shuts down).
Tensor cached_term_table(int k, int degree, Device dev) {
  static std::mutex mu;
  static auto* cache = new std::map<std::tuple<int, int, int>, Tensor>();
  std::lock_guard<std::mutex> lock(mu);
  Tensor& t = (*cache)[{k, degree, static_cast<int>(dev)}];
  if (!t.defined()) t = nodes::polylut_term_table(k, degree).to(dev);
  return t;
}

Var apply_node(NodeKind kind, OpKind op, Var x, Var params, int k, bool training, int degree,
               int width, int depth, int skip, double temperature) {
  const char* name = nodes::node_op_name(kind);
  DIFFLUT_CHECK(x.defined() && params.defined(), name, ": input is an undefined Var");
  Attrs at;
  at.ints = {k, training ? 1 : 0, degree, width, depth, skip};
  at.floats = {temperature};
  if (kind == NodeKind::polylut && k >= 1 && k <= nodes::kMaxK && degree >= 1 &&
      nodes::polylut_num_terms(k, std::min(degree, 16)) <= nodes::kPolyMaxTerms)
    at.tensors = {cached_term_table(k, degree, x.device())};
  return x.graph->apply(op, {x, params}, std::move(at));
}

}  // namespace

void register_node_type_ops(OpTable& t) {
  t.add(OpKind::linear_lut, node_row("linear_lut", infer_node<NodeKind::linear_lut>));
  t.add(OpKind::polylut, node_row("polylut", infer_node<NodeKind::polylut>));
  t.add(OpKind::neurallut, node_row("neurallut", infer_node<NodeKind::neurallut>));
  t.add(OpKind::probabilistic_lut,
        node_row("probabilistic_lut", infer_node<NodeKind::probabilistic>));
  t.add(OpKind::unbound_probabilistic_lut,
        node_row("unbound_probabilistic_lut", infer_node<NodeKind::unbound_probabilistic>));
  t.add(OpKind::hybrid_lut, node_row("hybrid_lut", infer_node<NodeKind::hybrid>));
  t.add(OpKind::difflogic_lut, node_row("difflogic_lut", infer_node<NodeKind::difflogic>));
  t.add(OpKind::lut_regularizer,
        OpDef{.name = "lut_regularizer",
              .differentiable_inputs = {0},
              .infer = infer_lut_regularizer,
              .forward = {nodes::lut_regularizer_forward_cpu,
                          DIFFLUT_CUDA_FN(nodes::lut_regularizer_forward_cuda)},
              .backward = {nodes::lut_regularizer_backward_cpu,
                           DIFFLUT_CUDA_FN(nodes::lut_regularizer_backward_cuda)}});
}

Var linear_lut(Var x, Var params, int k, bool training) {
  return apply_node(NodeKind::linear_lut, OpKind::linear_lut, x, params, k, training, 0, 0, 0, 0,
                    1.0);
}

Var polylut(Var x, Var params, int k, int degree, bool training) {
  return apply_node(NodeKind::polylut, OpKind::polylut, x, params, k, training, degree, 0, 0, 0,
                    1.0);
}

Var neurallut(Var x, Var params, int k, int width, int depth, int skip_interval, bool training) {
  return apply_node(NodeKind::neurallut, OpKind::neurallut, x, params, k, training, 0, width,
                    depth, skip_interval, 1.0);
}

Var probabilistic_lut(Var x, Var params, int k, double temperature, bool training) {
  return apply_node(NodeKind::probabilistic, OpKind::probabilistic_lut, x, params, k, training, 0,
                    0, 0, 0, temperature);
}

Var unbound_probabilistic_lut(Var x, Var params, int k, bool training) {
  return apply_node(NodeKind::unbound_probabilistic, OpKind::unbound_probabilistic_lut, x, params,
                    k, training, 0, 0, 0, 0, 1.0);
}

Var hybrid_lut(Var x, Var params, int k, bool training) {
  return apply_node(NodeKind::hybrid, OpKind::hybrid_lut, x, params, k, training, 0, 0, 0, 0,
                    1.0);
}

Var difflogic_lut(Var x, Var params, bool training) {
  return apply_node(NodeKind::difflogic, OpKind::difflogic_lut, x, params, 2, training, 0, 0, 0, 0,
                    1.0);
}

Var lut_regularizer(Var corner_values, int k, LutRegularizer kind) {
  DIFFLUT_CHECK(corner_values.defined(), "lut_regularizer: input is an undefined Var");
  Attrs at;
  at.ints = {k, kind == LutRegularizer::spectral ? nodes::kRegSpectral : nodes::kRegFunctional};
  return corner_values.graph->apply(OpKind::lut_regularizer, {corner_values}, std::move(at));
}

}  // namespace difflut
