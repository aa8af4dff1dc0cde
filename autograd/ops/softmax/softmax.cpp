// Op rows of the softmax family: softmax and log_softmax along any axis, and the cross-entropy loss.
#include "autograd/op_def.h"
#include "autograd/ops/shape/shape_kernels.h"
#include "autograd/ops/softmax/softmax_kernels.h"

namespace difflut {

namespace {
std::string meta_str(const TensorMeta& m) {
  return str_cat(dtype_name(m.dtype), shape_str(m.shape));
}

TensorMeta infer_softmax_like(const char* op, const std::vector<TensorMeta>& in, const Attrs& a) {
  DIFFLUT_ASSERT(in.size() == 1);
  DIFFLUT_CHECK(a.ints.size() == 1, op, ": expected attrs.ints = {axis}, found ", a.ints.size(),
                " ints");
  DIFFLUT_CHECK(is_floating(in[0].dtype), op, ": expected a floating input (f32 or f64), found ",
                meta_str(in[0]));
  normalize_axis(op, a.ints[0], in[0].shape);
  return in[0];
}
TensorMeta infer_softmax(const std::vector<TensorMeta>& in, const Attrs& a) {
  return infer_softmax_like("softmax", in, a);
}
TensorMeta infer_log_softmax(const std::vector<TensorMeta>& in, const Attrs& a) {
  return infer_softmax_like("log_softmax", in, a);
}

// logits [B, C] float, labels [B] i32/i64 -> [1]
TensorMeta infer_cross_entropy(const std::vector<TensorMeta>& in, const Attrs&) {
  DIFFLUT_ASSERT(in.size() == 2);
  const TensorMeta& x = in[0];
  const TensorMeta& y = in[1];
  DIFFLUT_CHECK(x.shape.size() == 2 && is_floating(x.dtype),
                "cross_entropy: expected logits [B, C] of f32 or f64, found ", meta_str(x));
  DIFFLUT_CHECK(x.shape[0] > 0 && x.shape[1] > 0,
                "cross_entropy: expected a non-empty batch and at least one class, found logits ",
                meta_str(x));
  DIFFLUT_CHECK(y.dtype == DType::i32 || y.dtype == DType::i64,
                "cross_entropy: expected labels of dtype i32 or i64, found ", meta_str(y));
  DIFFLUT_CHECK(y.shape.size() == 1 && y.shape[0] == x.shape[0], "cross_entropy: expected labels [",
                x.shape[0], "] to match logits ", meta_str(x), ", found labels ", meta_str(y));
  return TensorMeta{{1}, x.dtype};
}
}  // namespace

void register_softmax_ops(OpTable& t) {
  // Max-subtracted; backward uses the forward output (y) only. attrs.ints = {axis}.
  t.add(OpKind::softmax,
        OpDef{.name = "softmax",
              .differentiable_inputs = {0},
              .infer = infer_softmax,
              .forward = {softmax_forward_cpu, DIFFLUT_CUDA_FN(softmax_forward_cuda)},
              .backward = {softmax_backward_cpu, DIFFLUT_CUDA_FN(softmax_backward_cuda)}});
  t.add(OpKind::log_softmax,
        OpDef{.name = "log_softmax",
              .differentiable_inputs = {0},
              .infer = infer_log_softmax,
              .forward = {log_softmax_forward_cpu, DIFFLUT_CUDA_FN(log_softmax_forward_cuda)},
              .backward = {log_softmax_backward_cpu, DIFFLUT_CUDA_FN(log_softmax_backward_cuda)}});
  // Mean over the batch of −log_softmax(logits)[b, label[b]]; labels (input 1) get no gradient.
  // Saves the probabilities [B, C]; the batch mean is a fixed-order tree (no atomics).
  // Invalid labels (outside [0, C)): the CPU throws Error naming the batch index, label and C.
  // CUDA does not synchronise to check: the loss becomes NaN (and that row's gradient NaN), and
  // with DIFFLUT_SYNC_DEBUG=1 a per-sample flag is read back and the same Error is thrown.
  t.add(OpKind::cross_entropy,
        OpDef{.name = "cross_entropy",
              .differentiable_inputs = {0},
              .infer = infer_cross_entropy,
              .forward = {cross_entropy_forward_cpu, DIFFLUT_CUDA_FN(cross_entropy_forward_cuda)},
              .backward = {cross_entropy_backward_cpu,
                           DIFFLUT_CUDA_FN(cross_entropy_backward_cuda)}});
}

}  // namespace difflut
