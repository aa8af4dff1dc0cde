// Op rows of the encoder family: the thermometer comparison x > thresholds.
#include "encoders/encoder_ops.h"
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
}  // namespace

OpKind thermometer_op() {
  static const OpKind kind = register_op(
      OpDef{.name = "thermometer",
            .differentiable_inputs = {},  // a step function: no gradient flows into raw inputs
            .infer = infer_thermometer,
            .forward = {thermometer_forward_cpu, DIFFLUT_CUDA_FN(thermometer_forward_cuda)},
            .backward = {}});
  return kind;
}

void encoders::register_ops() { thermometer_op(); }

}  // namespace difflut
