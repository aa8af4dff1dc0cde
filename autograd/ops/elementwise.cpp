// Op rows of the elementwise family (binary with broadcasting, scalar, unary, threshold_ste).
#include "autograd/op_def.h"
#include "tensor/kernels/elementwise_kernels.h"

namespace difflut {

namespace {
TensorMeta infer_same_float(const std::vector<TensorMeta>& in, const Attrs&) {
  DIFFLUT_ASSERT(in.size() == 1);
  DIFFLUT_CHECK(is_floating(in[0].dtype), "unary op: expected a floating input, found ",
                dtype_name(in[0].dtype));
  return in[0];
}
}  // namespace

void register_elementwise_ops(OpTable& t) {
  t.add(OpKind::relu, OpDef{.name = "relu",
                            .differentiable_inputs = {0},
                            .infer = infer_same_float,
                            .forward = {relu_forward_cpu, DIFFLUT_CUDA_FN(relu_forward_cuda)},
                            .backward = {relu_backward_cpu, DIFFLUT_CUDA_FN(relu_backward_cuda)}});
}

}  // namespace difflut
