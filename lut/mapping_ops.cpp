// Op row of mapping layers: the DWN learnable mapping (kernels in lut/learnable_mapping_*).
#include "lut/learnable_mapping_kernels.h"
#include "lut/lut_ops.h"

namespace difflut {

namespace {
// x [B, F] float, W [F, S] of the same dtype, attrs.floats = {tau > 0} -> [B, S].
TensorMeta infer_learnable_mapping(const std::vector<TensorMeta>& in, const Attrs& attrs) {
  DIFFLUT_CHECK(in.size() == 2, "learnable_mapping: expected 2 inputs (x, W), found ", in.size());
  const TensorMeta& x = in[0];
  const TensorMeta& w = in[1];
  DIFFLUT_CHECK(is_floating(x.dtype), "learnable_mapping: expected a floating x, found ",
                dtype_name(x.dtype));
  DIFFLUT_CHECK(w.dtype == x.dtype, "learnable_mapping: expected W of x's dtype ",
                dtype_name(x.dtype), ", found ", dtype_name(w.dtype));
  DIFFLUT_CHECK(x.shape.size() == 2, "learnable_mapping: expected x of shape [B, F], found ",
                shape_str(x.shape));
  DIFFLUT_CHECK(w.shape.size() == 2, "learnable_mapping: expected W of shape [F, S], found ",
                shape_str(w.shape));
  DIFFLUT_CHECK(w.shape[0] == x.shape[1], "learnable_mapping: W ", shape_str(w.shape),
                " does not match x ", shape_str(x.shape), " (expected W.size(0) == x.size(1))");
  DIFFLUT_CHECK(w.shape[0] >= 1 && w.shape[0] <= (int64_t{1} << 30),
                "learnable_mapping: expected 1 <= F <= 2^30 inputs, found ", w.shape[0]);
  DIFFLUT_CHECK(attrs.floats.size() == 1,
                "learnable_mapping: expected attrs.floats = {tau}, found ", attrs.floats.size(),
                " floats");
  DIFFLUT_CHECK(attrs.floats[0] > 0.0, "learnable_mapping: expected tau > 0, found ",
                attrs.floats[0]);
  return TensorMeta{{x.shape[0], w.shape[1]}, x.dtype};
}
}  // namespace

OpKind learnable_mapping_op() {
  static const OpKind kind = register_op(OpDef{
      .name = "learnable_mapping",
      .differentiable_inputs = {0, 1},  // x, W
      .infer = infer_learnable_mapping,
      .forward = {learnable_mapping_forward_cpu, DIFFLUT_CUDA_FN(learnable_mapping_forward_cuda)},
      .backward = {learnable_mapping_backward_cpu,
                   DIFFLUT_CUDA_FN(learnable_mapping_backward_cuda)}});
  return kind;
}

}  // namespace difflut
