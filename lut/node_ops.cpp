// Op rows of LUT nodes and GroupSum (shape inference and validation, kernels per device), and the
// user-facing constructors declared in lut/node_ops.h.
#include "lut/node_ops.h"

#include <cmath>

#include "autograd/op_def.h"
#include "lut/custom_lut_kernels.h"
#include "lut/group_sum_kernels.h"
#include "lut/lut_ops.h"
#include "lut/node_registry.h"
#include "lut/nodes/dwn_kernels.h"

namespace difflut {

namespace {

void check_k(const char* op, int64_t k) {
  DIFFLUT_CHECK(k >= 1 && k <= kDwnMaxK, op, ": k must be in [1, ", kDwnMaxK, "], found ", k,
                " (addresses are stored as u8 and tables are 2^k wide)");
}

// x [B, N*k] and a per-node tensor [N, P] of one floating dtype; returns N.
int64_t check_node_inputs(const char* op, const std::vector<TensorMeta>& in, int64_t k,
                          const char* second) {
  DIFFLUT_CHECK(in.size() == 2, op, ": expected 2 inputs (x, ", second, "), found ", in.size());
  const TensorMeta& x = in[0];
  const TensorMeta& t = in[1];
  DIFFLUT_CHECK(is_floating(x.dtype), op, ": expected a floating x, found ", dtype_name(x.dtype));
  DIFFLUT_CHECK(x.dtype == t.dtype, op, ": expected x and ", second, " of one dtype, found ",
                dtype_name(x.dtype), " and ", dtype_name(t.dtype));
  DIFFLUT_CHECK(x.shape.size() == 2, op, ": expected x [B, N*k], found ", shape_str(x.shape));
  DIFFLUT_CHECK(t.shape.size() == 2, op, ": expected ", second, " [N, P], found ",
                shape_str(t.shape));
  const int64_t N = t.shape[0];
  DIFFLUT_CHECK(x.shape[1] == N * k, op, ": expected x [B, N*k] = [B, ", N * k, "] for ", second,
                " ", shape_str(t.shape), " and k = ", k, ", found x ", shape_str(x.shape));
  return N;
}

TensorMeta infer_dwn_lut(const std::vector<TensorMeta>& in, const Attrs& attrs) {
  DIFFLUT_CHECK(attrs.ints.size() == 1 && attrs.floats.size() == 2,
                "dwn_lut: expected attrs ints {k} and floats {alpha, beta}, found ",
                attrs.ints.size(), " ints and ", attrs.floats.size(), " floats");
  const int64_t k = attrs.ints[0];
  check_k("dwn_lut", k);
  DIFFLUT_CHECK(std::isfinite(attrs.floats[0]) && std::isfinite(attrs.floats[1]),
                "dwn_lut: expected finite alpha and beta, found ", attrs.floats[0], " and ",
                attrs.floats[1]);
  const int64_t N = check_node_inputs("dwn_lut", in, k, "table");
  DIFFLUT_CHECK(in[1].shape[1] == (int64_t{1} << k), "dwn_lut: expected table [N, 2^k] = [", N,
                ", ", int64_t{1} << k, "] for k = ", k, ", found ", shape_str(in[1].shape));
  return TensorMeta{{in[0].shape[0], N}, in[0].dtype};
}

TensorMeta infer_group_sum(const std::vector<TensorMeta>& in, const Attrs& attrs) {
  DIFFLUT_CHECK(in.size() == 1, "group_sum: expected 1 input, found ", in.size());
  DIFFLUT_CHECK(attrs.ints.size() == 1 && attrs.floats.size() == 1,
                "group_sum: expected attrs ints {C} and floats {tau}");
  const int64_t C = attrs.ints[0];
  const double tau = attrs.floats[0];
  DIFFLUT_CHECK(is_floating(in[0].dtype), "group_sum: expected a floating input, found ",
                dtype_name(in[0].dtype));
  DIFFLUT_CHECK(in[0].shape.size() == 2 && in[0].shape[1] >= 1,
                "group_sum: expected x [B, M] with M >= 1, found ", shape_str(in[0].shape));
  DIFFLUT_CHECK(C >= 1, "group_sum: expected a number of groups C >= 1, found ", C);
  DIFFLUT_CHECK(std::isfinite(tau) && tau > 0, "group_sum: expected tau > 0, found ", tau);
  return TensorMeta{{in[0].shape[0], C}, in[0].dtype};
}

const NodeType& context_type(const char* op, const Attrs& attrs) {
  DIFFLUT_CHECK(attrs.context != nullptr, op,
                ": expected attrs.context to hold the node type, found null");
  return custom_lut_type(attrs);
}

TensorMeta infer_custom_lut(const std::vector<TensorMeta>& in, const Attrs& attrs) {
  DIFFLUT_CHECK(attrs.ints.size() == 2, "custom_lut: expected attrs ints {k, training}, found ",
                attrs.ints.size(), " ints");
  const NodeType& type = context_type("custom_lut", attrs);
  const int64_t k = attrs.ints[0];
  check_k("custom_lut", k);
  const int64_t N = check_node_inputs("custom_lut", in, k, "params");
  const int64_t P = type.num_params(static_cast<int>(k));
  DIFFLUT_CHECK(in[1].shape[1] == P, "custom_lut: node type '", type.name(),
                "' expects params [N, ", P, "] for k = ", k, ", found ", shape_str(in[1].shape));
  return TensorMeta{{in[0].shape[0], N}, in[0].dtype};
}

TensorMeta infer_custom_lut_reg(const std::vector<TensorMeta>& in, const Attrs& attrs) {
  DIFFLUT_CHECK(in.size() == 1, "custom_lut_reg: expected 1 input (params), found ", in.size());
  DIFFLUT_CHECK(attrs.ints.size() == 1, "custom_lut_reg: expected attrs ints {k}, found ",
                attrs.ints.size(), " ints");
  const NodeType& type = context_type("custom_lut_reg", attrs);
  const int64_t k = attrs.ints[0];
  check_k("custom_lut_reg", k);
  DIFFLUT_CHECK(is_floating(in[0].dtype), "custom_lut_reg: expected floating params, found ",
                dtype_name(in[0].dtype));
  const int64_t P = type.num_params(static_cast<int>(k));
  DIFFLUT_CHECK(in[0].shape.size() == 2 && in[0].shape[1] == P, "custom_lut_reg: node type '",
                type.name(), "' expects params [N, ", P, "] for k = ", k, ", found ",
                shape_str(in[0].shape));
  return TensorMeta{{1}, in[0].dtype};
}

Graph& graph_of(Var v, const char* op) {
  DIFFLUT_CHECK(v.defined(), op, ": input is an undefined Var");
  return *v.graph;
}

}  // namespace

OpKind dwn_lut_op() {
  static const OpKind kind = register_op(
      OpDef{.name = "dwn_lut",
            .differentiable_inputs = {0, 1},
            .infer = infer_dwn_lut,
            .forward = {dwn_lut_forward_cpu, DIFFLUT_CUDA_FN(dwn_lut_forward_cuda)},
            .backward = {dwn_lut_backward_cpu, DIFFLUT_CUDA_FN(dwn_lut_backward_cuda)}});
  return kind;
}

OpKind group_sum_op() {
  static const OpKind kind = register_op(
      OpDef{.name = "group_sum",
            .differentiable_inputs = {0},
            .infer = infer_group_sum,
            .forward = {group_sum_forward_cpu, DIFFLUT_CUDA_FN(group_sum_forward_cuda)},
            .backward = {group_sum_backward_cpu, DIFFLUT_CUDA_FN(group_sum_backward_cuda)}});
  return kind;
}

OpKind custom_lut_op() {
  static const OpKind kind = register_op(
      OpDef{.name = "custom_lut",
            .differentiable_inputs = {0, 1},
            .infer = infer_custom_lut,
            .forward = {custom_lut_forward_cpu, DIFFLUT_CUDA_FN(custom_lut_forward_cuda)},
            .backward = {custom_lut_backward_cpu, DIFFLUT_CUDA_FN(custom_lut_backward_cuda)}});
  return kind;
}

OpKind custom_lut_reg_op() {
  static const OpKind kind = register_op(OpDef{
      .name = "custom_lut_reg",
      .differentiable_inputs = {0},
      .infer = infer_custom_lut_reg,
      .forward = {custom_lut_reg_forward_cpu, DIFFLUT_CUDA_FN(custom_lut_reg_forward_cuda)},
      .backward = {custom_lut_reg_backward_cpu, DIFFLUT_CUDA_FN(custom_lut_reg_backward_cuda)}});
  return kind;
}

double dwn_default_alpha(int k) { return 0.5 * std::pow(0.75, k - 1); }

Var dwn_lut(Var x, Var table, int k, double alpha, double beta) {
  graph_of(table, "dwn_lut");
  Attrs at;
  at.ints = {k};
  at.floats = {alpha, beta};
  return graph_of(x, "dwn_lut").apply(dwn_lut_op(), {x, table}, std::move(at));
}

Var dwn_lut(Var x, Var table, int k) {
  return dwn_lut(x, table, k, dwn_default_alpha(k), kDwnDefaultBeta);
}

Var group_sum(Var x, int64_t num_groups, double tau) {
  Attrs at;
  at.ints = {num_groups};
  at.floats = {tau};
  return graph_of(x, "group_sum").apply(group_sum_op(), {x}, std::move(at));
}

Var custom_lut(Var x, Var params, const std::shared_ptr<NodeType>& type, int k, bool training) {
  DIFFLUT_CHECK(type != nullptr, "custom_lut: expected a node type, found null");
  graph_of(params, "custom_lut");
  Attrs at;
  at.ints = {k, training ? 1 : 0};
  at.context = std::shared_ptr<void>(type);  // holds the NodeType* subobject; cast back exactly
  return graph_of(x, "custom_lut").apply(custom_lut_op(), {x, params}, std::move(at));
}

Var custom_lut_reg(Var params, const std::shared_ptr<NodeType>& type, int k) {
  DIFFLUT_CHECK(type != nullptr, "custom_lut_reg: expected a node type, found null");
  Attrs at;
  at.ints = {k};
  at.context = std::shared_ptr<void>(type);
  return graph_of(params, "custom_lut_reg").apply(custom_lut_reg_op(), {params}, std::move(at));
}

}  // namespace difflut
