// Op rows of the built-in node types and the lut_regularizer op (shape and attribute validation,
// kernels per device), and their user-facing constructors declared in lut/node_ops.h.
#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <mutex>
#include <tuple>

#include "autograd/op_def.h"
#include "lut/lut_ops.h"
#include "lut/node_ops.h"
#include "lut/nodes/node_kernels.h"

namespace difflut {

using nodes::NodeConsts;
using nodes::NodeKind;

namespace {

TensorMeta infer_node_op(NodeKind kind, const std::vector<TensorMeta>& in, const Attrs& attrs) {
  const char* op = nodes::node_op_name(kind);
  DIFFLUT_CHECK(
      attrs.ints.size() == 7 && attrs.floats.size() == 2, op,
      ": expected attrs ints {k, training, degree, width, depth, skip, signed_amplitudes} "
      "and floats {temperature, max_amplitude}, found ",
      attrs.ints.size(), " ints and ", attrs.floats.size(), " floats");
  const int64_t k = attrs.ints[0];
  DIFFLUT_CHECK(k >= 1 && k <= nodes::kMaxK, op, ": k must be in [1, ", nodes::kMaxK, "], found ",
                k);
  NodeConsts opts;  // the options as the type's check reads them (no term table yet)
  opts.k = static_cast<int>(k);
  opts.degree = static_cast<int>(std::clamp<int64_t>(attrs.ints[2], -1, 1 << 20));
  opts.width = static_cast<int>(std::clamp<int64_t>(attrs.ints[3], -1, 1 << 20));
  opts.depth = static_cast<int>(std::clamp<int64_t>(attrs.ints[4], -1, 1 << 20));
  opts.skip = static_cast<int>(std::clamp<int64_t>(attrs.ints[5], -1, 1 << 20));
  opts.signed_amplitudes = attrs.ints[6] != 0;
  opts.temperature = attrs.floats[0];
  opts.max_amplitude = attrs.floats[1];
  bool term_table = false;
  nodes::dispatch_node_math(kind, [&](auto m) {
    using M = decltype(m);
    nodes::node_check<M>(opts, op);
    term_table = nodes::node_uses_term_table<M>();
  });
  if (term_table) {
    const int64_t M = nodes::polylut_num_terms(opts.k, opts.degree);
    DIFFLUT_CHECK(attrs.tensors.size() == 1 && attrs.tensors[0].dtype() == DType::i32 &&
                      attrs.tensors[0].shape() == Shape({M, 2}),
                  op, ": expected the monomial table i32 [", M, ", 2] as attribute tensor");
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
  DIFFLUT_CHECK(
      is_floating(in[0].dtype) && in[0].shape.size() == 2 && in[0].shape[0] == (int64_t{1} << k),
      "lut_regularizer: expected floating corner values [2^k, N] = [", int64_t{1} << k,
      ", N], found ", dtype_name(in[0].dtype), " ", shape_str(in[0].shape));
  return TensorMeta{{in[0].shape[1]}, in[0].dtype};
}

OpDef node_row(const char* name, InferFn infer) {
  return OpDef{
      .name = name,
      .differentiable_inputs = {0, 1},
      .infer = infer,
      .forward = {nodes::node_lut_forward_cpu, DIFFLUT_CUDA_FN(nodes::node_lut_forward_cuda)},
      .backward = {nodes::node_lut_backward_cpu, DIFFLUT_CUDA_FN(nodes::node_lut_backward_cuda)}};
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

}  // namespace

Var nodes::apply_builtin_node(NodeKind kind, Var x, Var params, int k, bool training,
                              const NodeConsts& o) {
  const char* name = node_op_name(kind);
  DIFFLUT_CHECK(x.defined() && params.defined(), name, ": input is an undefined Var");
  Attrs at;
  at.ints = {k, training ? 1 : 0, o.degree, o.width, o.depth, o.skip, o.signed_amplitudes ? 1 : 0};
  at.floats = {o.temperature, o.max_amplitude};
  bool term_table = false;
  dispatch_node_math(kind, [&](auto m) { term_table = node_uses_term_table<decltype(m)>(); });
  if (term_table && k >= 1 && k <= kMaxK && o.degree >= 1 && o.degree <= 16 &&
      polylut_num_terms(k, o.degree) <= kPolyMaxTerms)
    at.tensors = {cached_term_table(k, o.degree, x.device())};
  return x.graph->apply(builtin_node_op(kind), {x, params}, std::move(at));
}

OpKind nodes::builtin_node_op(NodeKind kind) {
  static const std::array<OpKind, kNumNodeKinds> kinds = [] {
    std::array<OpKind, kNumNodeKinds> k{};
#define DIFFLUT_NODE_ROW(type, op, Math) \
  k[static_cast<int>(NodeKind::type)] = register_op(node_row(#op, infer_node<NodeKind::type>));
    DIFFLUT_BUILTIN_NODES(DIFFLUT_NODE_ROW)
#undef DIFFLUT_NODE_ROW
    return k;
  }();
  return kinds[static_cast<size_t>(kind)];
}

OpKind lut_regularizer_op() {
  static const OpKind kind =
      register_op(OpDef{.name = "lut_regularizer",
                        .differentiable_inputs = {0},
                        .infer = infer_lut_regularizer,
                        .forward = {nodes::lut_regularizer_forward_cpu,
                                    DIFFLUT_CUDA_FN(nodes::lut_regularizer_forward_cuda)},
                        .backward = {nodes::lut_regularizer_backward_cpu,
                                     DIFFLUT_CUDA_FN(nodes::lut_regularizer_backward_cuda)}});
  return kind;
}

namespace {
// The named constructors below: default options with the given ones set.
NodeConsts with_options(int degree, int width, int depth, int skip, double temperature) {
  NodeConsts o;
  o.degree = degree;
  o.width = width;
  o.depth = depth;
  o.skip = skip;
  o.temperature = temperature;
  return o;
}
const NodeConsts kDefaults{};
}  // namespace

Var linear_lut(Var x, Var params, int k, bool training) {
  return nodes::apply_builtin_node(NodeKind::linear_lut, x, params, k, training, kDefaults);
}

Var polylut(Var x, Var params, int k, int degree, bool training) {
  return nodes::apply_builtin_node(NodeKind::polylut, x, params, k, training,
                                   with_options(degree, 8, 2, 2, 1.0));
}

Var neurallut(Var x, Var params, int k, int width, int depth, int skip_interval, bool training) {
  return nodes::apply_builtin_node(NodeKind::neurallut, x, params, k, training,
                                   with_options(2, width, depth, skip_interval, 1.0));
}

Var probabilistic_lut(Var x, Var params, int k, double temperature, bool training) {
  return nodes::apply_builtin_node(NodeKind::probabilistic, x, params, k, training,
                                   with_options(2, 8, 2, 2, temperature));
}

Var unbound_probabilistic_lut(Var x, Var params, int k, bool training) {
  return nodes::apply_builtin_node(NodeKind::unbound_probabilistic, x, params, k, training,
                                   kDefaults);
}

Var hybrid_lut(Var x, Var params, int k, bool training) {
  return nodes::apply_builtin_node(NodeKind::hybrid, x, params, k, training, kDefaults);
}

Var difflogic_lut(Var x, Var params, bool training) {
  return nodes::apply_builtin_node(NodeKind::difflogic, x, params, 2, training, kDefaults);
}

Var lut_regularizer(Var corner_values, int k, LutRegularizer kind) {
  DIFFLUT_CHECK(corner_values.defined(), "lut_regularizer: input is an undefined Var");
  Attrs at;
  at.ints = {k, kind == LutRegularizer::spectral ? nodes::kRegSpectral : nodes::kRegFunctional};
  return corner_values.graph->apply(lut_regularizer_op(), {corner_values}, std::move(at));
}

}  // namespace difflut
