// Op rows of the reduce family: sum, mean, max and argmax along one axis (attrs.ints = {axis,
// keepdim}; a negative axis counts from the end).
#include "autograd/op_def.h"
#include "autograd/ops/reduce/reduce_kernels.h"

namespace difflut {

namespace {
// Validates the axis and returns the reduced shape (extent 1 at the axis with keepdim, else dropped).
template <OpKind K>
TensorMeta infer_reduce(const std::vector<TensorMeta>& in, const Attrs& attrs) {
  const char* op = op_name(K);
  DIFFLUT_CHECK(in.size() == 1, op, ": expected 1 input, found ", in.size());
  DIFFLUT_CHECK(attrs.ints.size() == 2, op, ": expected attributes {axis, keepdim}, found ",
                attrs.ints.size(), " ints");
  const TensorMeta& x = in[0];
  DIFFLUT_CHECK(is_floating(x.dtype), op, ": expected a floating input (f32 or f64), found ",
                dtype_name(x.dtype), shape_str(x.shape));
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  const int64_t axis = attrs.ints[0];
  DIFFLUT_CHECK(axis >= -rank && axis < rank, op, ": axis ", axis, " is out of range for shape ",
                shape_str(x.shape), " (expected ", -rank, " <= axis < ", rank, ")");
  const size_t ax = static_cast<size_t>(axis < 0 ? axis + rank : axis);
  if constexpr (K == OpKind::max || K == OpKind::argmax)
    DIFFLUT_CHECK(x.shape[ax] > 0, op, ": cannot take the maximum over the empty axis ", axis,
                  " of shape ", shape_str(x.shape));
  TensorMeta out{x.shape, K == OpKind::argmax ? DType::i64 : x.dtype};
  if (attrs.ints[1])
    out.shape[ax] = 1;
  else
    out.shape.erase(out.shape.begin() + static_cast<std::ptrdiff_t>(ax));
  return out;
}
}  // namespace

void register_reduce_ops(OpTable& t) {
  t.add(OpKind::sum, OpDef{.name = "sum",
                           .differentiable_inputs = {0},
                           .infer = infer_reduce<OpKind::sum>,
                           .forward = {sum_forward_cpu, DIFFLUT_CUDA_FN(sum_forward_cuda)},
                           .backward = {sum_backward_cpu, DIFFLUT_CUDA_FN(sum_backward_cuda)}});
  t.add(OpKind::mean, OpDef{.name = "mean",
                            .differentiable_inputs = {0},
                            .infer = infer_reduce<OpKind::mean>,
                            .forward = {mean_forward_cpu, DIFFLUT_CUDA_FN(mean_forward_cuda)},
                            .backward = {mean_backward_cpu, DIFFLUT_CUDA_FN(mean_backward_cuda)}});
  // The gradient goes to the first maximal element; forward saves the argmax (i64, output-shaped).
  t.add(OpKind::max, OpDef{.name = "max",
                           .differentiable_inputs = {0},
                           .infer = infer_reduce<OpKind::max>,
                           .forward = {max_forward_cpu, DIFFLUT_CUDA_FN(max_forward_cuda)},
                           .backward = {max_backward_cpu, DIFFLUT_CUDA_FN(max_backward_cuda)}});
  // i64 output, first index on ties; not differentiable.
  t.add(OpKind::argmax, OpDef{.name = "argmax",
                              .differentiable_inputs = {},
                              .infer = infer_reduce<OpKind::argmax>,
                              .forward = {argmax_forward_cpu, DIFFLUT_CUDA_FN(argmax_forward_cuda)},
                              .backward = {}});
}

}  // namespace difflut
