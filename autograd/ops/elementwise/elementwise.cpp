// Op rows of the elementwise family (binary with broadcasting, scalar, unary, threshold_ste).
#include "autograd/op_def.h"
#include "autograd/ops/broadcast.h"
#include "autograd/ops/elementwise/elementwise_kernels.h"

namespace difflut {

namespace {
// A tensor's describe() without the device (shape inference sees only dtypes and shapes; the
// engine has already checked that all inputs share one device).
std::string meta_str(const TensorMeta& m) {
  return str_cat(dtype_name(m.dtype), shape_str(m.shape));
}

// Two operands of one floating dtype whose shapes broadcast; the output has the broadcast shape.
template <OpKind K>
TensorMeta infer_binary(const std::vector<TensorMeta>& in, const Attrs&) {
  const char* op = op_name(K);
  DIFFLUT_CHECK(in.size() == 2, op, ": expected 2 inputs, found ", in.size());
  const TensorMeta& a = in[0];
  const TensorMeta& b = in[1];
  DIFFLUT_CHECK(a.dtype == b.dtype && is_floating(a.dtype), op,
                ": expected two operands of the same floating dtype (f32 or f64), found ",
                meta_str(a), " and ", meta_str(b));
  Shape out;
  DIFFLUT_CHECK(broadcast_shapes(a.shape, b.shape, out), op, ": shapes ", shape_str(a.shape),
                " and ", shape_str(b.shape),
                " do not broadcast (aligned from the last dim, extents must be equal or 1)");
  DIFFLUT_CHECK(out.size() <= static_cast<size_t>(kMaxBroadcastDims), op, ": expected at most ",
                kMaxBroadcastDims, " dims, found ", meta_str(a), " and ", meta_str(b));
  return TensorMeta{out, a.dtype};
}

// One floating input and `NumFloats` scalar attributes; the output is shaped like the input.
template <OpKind K, size_t NumFloats>
TensorMeta infer_unary(const std::vector<TensorMeta>& in, const Attrs& attrs) {
  const char* op = op_name(K);
  DIFFLUT_CHECK(in.size() == 1, op, ": expected 1 input, found ", in.size());
  DIFFLUT_CHECK(is_floating(in[0].dtype), op, ": expected a floating input (f32 or f64), found ",
                meta_str(in[0]));
  DIFFLUT_CHECK(attrs.floats.size() == NumFloats, op, ": expected ", NumFloats,
                " float attribute(s), found ", attrs.floats.size());
  if constexpr (K == OpKind::clamp)
    DIFFLUT_CHECK(attrs.floats[0] <= attrs.floats[1], op,
                  ": expected lo <= hi, found lo=", attrs.floats[0], " hi=", attrs.floats[1]);
  return in[0];
}
}  // namespace

void register_elementwise_ops(OpTable& t) {
  // --- binary, broadcasting: the gradient of a broadcast operand is summed to its shape ---------
  t.add(OpKind::add, OpDef{.name = "add",
                           .differentiable_inputs = {0, 1},
                           .infer = infer_binary<OpKind::add>,
                           .forward = {add_forward_cpu, DIFFLUT_CUDA_FN(add_forward_cuda)},
                           .backward = {add_backward_cpu, DIFFLUT_CUDA_FN(add_backward_cuda)}});
  t.add(OpKind::sub, OpDef{.name = "sub",
                           .differentiable_inputs = {0, 1},
                           .infer = infer_binary<OpKind::sub>,
                           .forward = {sub_forward_cpu, DIFFLUT_CUDA_FN(sub_forward_cuda)},
                           .backward = {sub_backward_cpu, DIFFLUT_CUDA_FN(sub_backward_cuda)}});
  t.add(OpKind::mul, OpDef{.name = "mul",
                           .differentiable_inputs = {0, 1},
                           .infer = infer_binary<OpKind::mul>,
                           .forward = {mul_forward_cpu, DIFFLUT_CUDA_FN(mul_forward_cuda)},
                           .backward = {mul_backward_cpu, DIFFLUT_CUDA_FN(mul_backward_cuda)}});
  t.add(OpKind::div, OpDef{.name = "div",
                           .differentiable_inputs = {0, 1},
                           .infer = infer_binary<OpKind::div>,
                           .forward = {div_forward_cpu, DIFFLUT_CUDA_FN(div_forward_cuda)},
                           .backward = {div_backward_cpu, DIFFLUT_CUDA_FN(div_backward_cuda)}});

  // --- scalar attribute: attrs.floats = {s} or {p} ----------------------------------------------
  t.add(OpKind::add_scalar,
        OpDef{.name = "add_scalar",
              .differentiable_inputs = {0},
              .infer = infer_unary<OpKind::add_scalar, 1>,
              .forward = {add_scalar_forward_cpu, DIFFLUT_CUDA_FN(add_scalar_forward_cuda)},
              .backward = {add_scalar_backward_cpu, DIFFLUT_CUDA_FN(add_scalar_backward_cuda)}});
  t.add(OpKind::mul_scalar,
        OpDef{.name = "mul_scalar",
              .differentiable_inputs = {0},
              .infer = infer_unary<OpKind::mul_scalar, 1>,
              .forward = {mul_scalar_forward_cpu, DIFFLUT_CUDA_FN(mul_scalar_forward_cuda)},
              .backward = {mul_scalar_backward_cpu, DIFFLUT_CUDA_FN(mul_scalar_backward_cuda)}});
  t.add(OpKind::pow_scalar,
        OpDef{.name = "pow_scalar",
              .differentiable_inputs = {0},
              .infer = infer_unary<OpKind::pow_scalar, 1>,
              .forward = {pow_scalar_forward_cpu, DIFFLUT_CUDA_FN(pow_scalar_forward_cuda)},
              .backward = {pow_scalar_backward_cpu, DIFFLUT_CUDA_FN(pow_scalar_backward_cuda)}});

  // --- unary ------------------------------------------------------------------------------------
  t.add(OpKind::neg, OpDef{.name = "neg",
                           .differentiable_inputs = {0},
                           .infer = infer_unary<OpKind::neg, 0>,
                           .forward = {neg_forward_cpu, DIFFLUT_CUDA_FN(neg_forward_cuda)},
                           .backward = {neg_backward_cpu, DIFFLUT_CUDA_FN(neg_backward_cuda)}});
  t.add(OpKind::exp, OpDef{.name = "exp",
                           .differentiable_inputs = {0},
                           .infer = infer_unary<OpKind::exp, 0>,
                           .forward = {exp_forward_cpu, DIFFLUT_CUDA_FN(exp_forward_cuda)},
                           .backward = {exp_backward_cpu, DIFFLUT_CUDA_FN(exp_backward_cuda)}});
  t.add(OpKind::log, OpDef{.name = "log",
                           .differentiable_inputs = {0},
                           .infer = infer_unary<OpKind::log, 0>,
                           .forward = {log_forward_cpu, DIFFLUT_CUDA_FN(log_forward_cuda)},
                           .backward = {log_backward_cpu, DIFFLUT_CUDA_FN(log_backward_cuda)}});
  t.add(OpKind::sigmoid,
        OpDef{.name = "sigmoid",
              .differentiable_inputs = {0},
              .infer = infer_unary<OpKind::sigmoid, 0>,
              .forward = {sigmoid_forward_cpu, DIFFLUT_CUDA_FN(sigmoid_forward_cuda)},
              .backward = {sigmoid_backward_cpu, DIFFLUT_CUDA_FN(sigmoid_backward_cuda)}});
  t.add(OpKind::tanh, OpDef{.name = "tanh",
                            .differentiable_inputs = {0},
                            .infer = infer_unary<OpKind::tanh, 0>,
                            .forward = {tanh_forward_cpu, DIFFLUT_CUDA_FN(tanh_forward_cuda)},
                            .backward = {tanh_backward_cpu, DIFFLUT_CUDA_FN(tanh_backward_cuda)}});
  t.add(OpKind::relu, OpDef{.name = "relu",
                            .differentiable_inputs = {0},
                            .infer = infer_unary<OpKind::relu, 0>,
                            .forward = {relu_forward_cpu, DIFFLUT_CUDA_FN(relu_forward_cuda)},
                            .backward = {relu_backward_cpu, DIFFLUT_CUDA_FN(relu_backward_cuda)}});
  // attrs.floats = {lo, hi}; the gradient passes where lo <= x <= hi.
  t.add(OpKind::clamp,
        OpDef{.name = "clamp",
              .differentiable_inputs = {0},
              .infer = infer_unary<OpKind::clamp, 2>,
              .forward = {clamp_forward_cpu, DIFFLUT_CUDA_FN(clamp_forward_cuda)},
              .backward = {clamp_backward_cpu, DIFFLUT_CUDA_FN(clamp_backward_cuda)}});
  // attrs.floats = {t}; out = 1[x >= t] in x's dtype, backward passes grad_out through unchanged.
  t.add(OpKind::threshold_ste,
        OpDef{.name = "threshold_ste",
              .differentiable_inputs = {0},
              .infer = infer_unary<OpKind::threshold_ste, 1>,
              .forward = {threshold_ste_forward_cpu, DIFFLUT_CUDA_FN(threshold_ste_forward_cuda)},
              .backward = {threshold_ste_backward_cpu,
                           DIFFLUT_CUDA_FN(threshold_ste_backward_cuda)}});
}

}  // namespace difflut
