// Op rows of the shape family: reshape, transpose, concat, slice, gather.
#include "autograd/op_def.h"
#include "autograd/ops/shape/shape_kernels.h"

namespace difflut {

namespace {
std::string meta_str(const TensorMeta& m) {
  return str_cat(dtype_name(m.dtype), shape_str(m.shape));
}

// attrs.ints = target shape (one -1 allowed)
TensorMeta infer_reshape(const std::vector<TensorMeta>& in, const Attrs& a) {
  DIFFLUT_ASSERT(in.size() == 1);
  return TensorMeta{reshape_target(in[0].shape, a.ints), in[0].dtype};
}

// [M, N] -> [N, M]
TensorMeta infer_transpose(const std::vector<TensorMeta>& in, const Attrs&) {
  DIFFLUT_ASSERT(in.size() == 1);
  DIFFLUT_CHECK(in[0].shape.size() == 2, "transpose: expected a 2-D input [M, N], found ",
                meta_str(in[0]));
  return TensorMeta{{in[0].shape[1], in[0].shape[0]}, in[0].dtype};
}

// attrs.ints = {axis}; equal rank, dtype and extents except along the axis.
TensorMeta infer_concat(const std::vector<TensorMeta>& in, const Attrs& a) {
  DIFFLUT_CHECK(!in.empty(), "concat: expected at least one input");
  DIFFLUT_CHECK(a.ints.size() == 1, "concat: expected attrs.ints = {axis}, found ", a.ints.size(),
                " ints");
  const int64_t axis = normalize_axis("concat", a.ints[0], in[0].shape);
  Shape out = in[0].shape;
  out[static_cast<size_t>(axis)] = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    DIFFLUT_CHECK(in[i].dtype == in[0].dtype, "concat: expected every input to be ",
                  dtype_name(in[0].dtype), " like input 0, found input ", i, " ", meta_str(in[i]));
    bool ok = in[i].shape.size() == in[0].shape.size();
    for (size_t d = 0; ok && d < in[0].shape.size(); ++d)
      ok = static_cast<int64_t>(d) == axis || in[i].shape[d] == in[0].shape[d];
    DIFFLUT_CHECK(ok, "concat: input ", i, " ", meta_str(in[i]), " does not match input 0 ",
                  meta_str(in[0]), " outside axis ", axis);
    out[static_cast<size_t>(axis)] += in[i].shape[static_cast<size_t>(axis)];
  }
  return TensorMeta{out, in[0].dtype};
}

// attrs.ints = {axis, start, end}; 0 <= start <= end <= extent
TensorMeta infer_slice(const std::vector<TensorMeta>& in, const Attrs& a) {
  DIFFLUT_ASSERT(in.size() == 1);
  DIFFLUT_CHECK(a.ints.size() == 3, "slice: expected attrs.ints = {axis, start, end}, found ",
                a.ints.size(), " ints");
  const int64_t axis = normalize_axis("slice", a.ints[0], in[0].shape);
  const int64_t start = a.ints[1], end = a.ints[2];
  const int64_t extent = in[0].shape[static_cast<size_t>(axis)];
  DIFFLUT_CHECK(0 <= start && start <= end && end <= extent, "slice: range [", start, ", ", end,
                ") on axis ", axis, " is not within [0, ", extent, "] of input ", meta_str(in[0]));
  Shape out = in[0].shape;
  out[static_cast<size_t>(axis)] = end - start;
  return TensorMeta{out, in[0].dtype};
}

// x [B, F] float; attrs.tensors = {index [M] i32/i64} or {index, offsets [F+1] i32, positions [M]
// i32} -> [B, M]
TensorMeta infer_gather(const std::vector<TensorMeta>& in, const Attrs& a) {
  DIFFLUT_ASSERT(in.size() == 1);
  const TensorMeta& x = in[0];
  DIFFLUT_CHECK(x.shape.size() == 2 && is_floating(x.dtype),
                "gather: expected x [B, F] of f32 or f64, found ", meta_str(x));
  DIFFLUT_CHECK(a.tensors.size() == 1 || a.tensors.size() == 3,
                "gather: expected attrs.tensors = {index} or {index, csr_offsets, csr_positions}, "
                "found ",
                a.tensors.size(), " tensors");
  const Tensor& index = a.tensors[0];
  DIFFLUT_CHECK(index.defined() && index.dim() == 1 &&
                    (index.dtype() == DType::i32 || index.dtype() == DType::i64),
                "gather: expected a 1-D i32 or i64 index, found ", index.describe());
  const int64_t F = x.shape[1], M = index.numel();
  if (a.tensors.size() == 3) {
    const Tensor& off = a.tensors[1];
    const Tensor& pos = a.tensors[2];
    DIFFLUT_CHECK(off.defined() && off.dtype() == DType::i32 && off.shape() == Shape{F + 1},
                  "gather: expected csr_offsets i32[", F + 1, "] for x ", meta_str(x), ", found ",
                  off.describe());
    DIFFLUT_CHECK(pos.defined() && pos.dtype() == DType::i32 && pos.shape() == Shape{M},
                  "gather: expected csr_positions i32[", M, "] for an index of ", M,
                  " entries, found ", pos.describe());
  }
  return TensorMeta{{x.shape[0], M}, x.dtype};
}
}  // namespace

void register_shape_ops(OpTable& t) {
  // The output is a view of the input (shared storage, no copy); backward adds g through.
  t.add(OpKind::reshape,
        OpDef{.name = "reshape",
              .differentiable_inputs = {0},
              .infer = infer_reshape,
              .forward = {reshape_forward_cpu, DIFFLUT_CUDA_FN(reshape_forward_cuda)},
              .backward = {reshape_backward_cpu, DIFFLUT_CUDA_FN(reshape_backward_cuda)}});
  // 2-D; CPU 32x32 cache blocks, CUDA shared-memory tiles.
  t.add(OpKind::transpose,
        OpDef{.name = "transpose",
              .differentiable_inputs = {0},
              .infer = infer_transpose,
              .forward = {transpose_forward_cpu, DIFFLUT_CUDA_FN(transpose_forward_cuda)},
              .backward = {transpose_backward_cpu, DIFFLUT_CUDA_FN(transpose_backward_cuda)}});
  // Variadic: every input is differentiable.
  t.add(OpKind::concat,
        OpDef{.name = "concat",
              .differentiable_inputs = {kAllInputs},
              .infer = infer_concat,
              .forward = {concat_forward_cpu, DIFFLUT_CUDA_FN(concat_forward_cuda)},
              .backward = {concat_backward_cpu, DIFFLUT_CUDA_FN(concat_backward_cuda)}});
  t.add(OpKind::slice,
        OpDef{.name = "slice",
              .differentiable_inputs = {0},
              .infer = infer_slice,
              .forward = {slice_forward_cpu, DIFFLUT_CUDA_FN(slice_forward_cuda)},
              .backward = {slice_backward_cpu, DIFFLUT_CUDA_FN(slice_backward_cuda)}});
  // Backward walks a CSR inverse of the index (per-input owner, increasing m, no atomics). Without
  // a supplied inverse, forward builds one on the host with make_gather_inverse and saves it: on
  // CUDA that is a host read of the index per forward (mapping layers supply the inverse to avoid
  // it). Index values outside [0, F) throw Error (CPU always; CUDA whenever the index is read on
  // the host; otherwise, with a supplied inverse, the output is NaN there).
  t.add(OpKind::gather,
        OpDef{.name = "gather",
              .differentiable_inputs = {0},
              .infer = infer_gather,
              .forward = {gather_forward_cpu, DIFFLUT_CUDA_FN(gather_forward_cuda)},
              .backward = {gather_backward_cpu, DIFFLUT_CUDA_FN(gather_backward_cuda)}});
}

}  // namespace difflut
