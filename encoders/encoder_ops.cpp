// Op rows of the encoder family: the thermometer comparison x > thresholds, and level_code (the
// code word of the level a value reaches among its thresholds).
#include "encoders/encoder_ops.h"
#include "encoders/level_code_kernels.h"
#include "encoders/thermometer_kernels.h"

namespace difflut {

namespace {
// x [B, F] float, attrs.tensors = {thresholds [F, nb] of x's dtype} -> [B, F*nb] of x's dtype.
TensorMeta infer_thermometer(const std::vector<TensorMeta>& in, const Attrs& attrs) {
  DIFFLUT_CHECK(in.size() == 1, "thermometer: expected one input x [B, F], found ", in.size(),
                " inputs");
  const TensorMeta& x = in[0];
  DIFFLUT_CHECK(x.shape.size() == 2, "thermometer: expected x of shape [B, F], found ",
                shape_str(x.shape));
  DIFFLUT_CHECK(is_floating(x.dtype), "thermometer: expected x of dtype f32 or f64, found ",
                dtype_name(x.dtype));
  DIFFLUT_CHECK(attrs.tensors.size() == 1 && attrs.tensors[0].defined(),
                "thermometer: expected one attribute tensor (thresholds [F, nb]), found ",
                attrs.tensors.size());
  const Tensor& t = attrs.tensors[0];
  DIFFLUT_CHECK(t.dim() == 2 && t.size(1) >= 1,
                "thermometer: expected thresholds of shape [F, nb] with nb >= 1, found ",
                shape_str(t.shape()));
  DIFFLUT_CHECK(t.size(0) == x.shape[1], "thermometer: x ", shape_str(x.shape), " has ",
                x.shape[1], " features but thresholds ", shape_str(t.shape()), " has ", t.size(0),
                " rows");
  DIFFLUT_CHECK(t.dtype() == x.dtype, "thermometer: expected thresholds of x's dtype ",
                dtype_name(x.dtype), ", found ", dtype_name(t.dtype()));
  return TensorMeta{{x.shape[0], x.shape[1] * t.size(1)}, x.dtype};
}
// x [B, F] float, attrs.tensors = {thresholds [F, T], strict [T], table [T+1, nb]} of x's dtype.
TensorMeta infer_level_code(const std::vector<TensorMeta>& in, const Attrs& attrs) {
  DIFFLUT_CHECK(in.size() == 1 && in[0].shape.size() == 2 && is_floating(in[0].dtype),
                "level_code: expected one input x [B, F] of dtype f32 or f64");
  const TensorMeta& x = in[0];
  DIFFLUT_CHECK(attrs.tensors.size() == 3,
                "level_code: expected attribute tensors {thresholds, strict, table}, found ",
                attrs.tensors.size());
  const Tensor &t = attrs.tensors[0], &s = attrs.tensors[1], &tab = attrs.tensors[2];
  DIFFLUT_CHECK(t.defined() && t.dim() == 2 && t.size(0) == x.shape[1] && t.size(1) >= 1,
                "level_code: expected thresholds [", x.shape[1], ", T >= 1], found ",
                t.defined() ? shape_str(t.shape()) : std::string("none"));
  DIFFLUT_CHECK(s.defined() && s.dim() == 1 && s.size(0) == t.size(1),
                "level_code: expected strict flags [", t.size(1), "]");
  DIFFLUT_CHECK(tab.defined() && tab.dim() == 2 && tab.size(0) == t.size(1) + 1 && tab.size(1) >= 1,
                "level_code: expected table [", t.size(1) + 1, ", nb >= 1]");
  for (const Tensor* a : {&t, &s, &tab})
    DIFFLUT_CHECK(a->dtype() == x.dtype, "level_code: expected attribute tensors of x's dtype ",
                  dtype_name(x.dtype), ", found ", dtype_name(a->dtype()));
  return TensorMeta{{x.shape[0], x.shape[1] * tab.size(1)}, x.dtype};
}
}  // namespace

OpKind level_code_op() {
  static const OpKind kind = register_op(
      OpDef{.name = "level_code",
            .differentiable_inputs = {},  // piecewise constant: no gradient into raw inputs
            .infer = infer_level_code,
            .forward = {level_code_forward_cpu, DIFFLUT_CUDA_FN(level_code_forward_cuda)},
            .backward = {}});
  return kind;
}

OpKind thermometer_op() {
  static const OpKind kind = register_op(
      OpDef{.name = "thermometer",
            .differentiable_inputs = {},  // a step function: no gradient flows into raw inputs
            .infer = infer_thermometer,
            .forward = {thermometer_forward_cpu, DIFFLUT_CUDA_FN(thermometer_forward_cuda)},
            .backward = {}});
  return kind;
}

void encoders::register_ops() {
  thermometer_op();
  level_code_op();
}

}  // namespace difflut
