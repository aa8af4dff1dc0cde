// Kernel entry points of the shape family (reshape, transpose, concat, slice, gather), CPU
// (shape_cpu.cpp) and CUDA (shape_cuda.cu), and the axis helpers shared with other families.
#pragma once
#include <cstdint>

#include "autograd/op_def.h"

namespace difflut {

// A tensor viewed as [outer, len, inner] around one axis (row-major, so the axis has stride inner).
struct AxisSplit {
  int64_t outer = 1, len = 1, inner = 1;
};

// `axis` in [-ndim, ndim) -> [0, ndim); throws Error naming `op` otherwise.
int64_t normalize_axis(const char* op, int64_t axis, const Shape& shape);
// Splits `shape` around a normalized axis.
AxisSplit split_axis(const Shape& shape, int64_t axis);

// The shape a reshape to `spec` (one extent may be -1) produces from `from`; Error if impossible.
Shape reshape_target(const Shape& from, const Shape& spec);

// Host copy of blocks along one axis, used by concat and slice in both directions:
// dst[o, dst_off + l, i] (+)= src[o, src_off + l, i] for l < len, where src has src_len and dst has
// dst_len extent on that axis (and `inner` elements after it). Any dtype (raw bytes when !accumulate).
void copy_axis_block_cpu(const Tensor& src, int64_t src_len, int64_t src_off, Tensor& dst,
                         int64_t dst_len, int64_t dst_off, int64_t outer, int64_t len,
                         int64_t inner, bool accumulate);

// The CUDA twin of copy_axis_block_cpu (device tensors; same contract).
void copy_axis_block_cuda(const Tensor& src, int64_t src_len, int64_t src_off, Tensor& dst,
                          int64_t dst_len, int64_t dst_off, int64_t outer, int64_t len,
                          int64_t inner, bool accumulate);

// Concat and slice in terms of one device's block copy (shape_axis_ops.cpp): the device launchers
// below are these with copy_axis_block_cpu or copy_axis_block_cuda.
using CopyAxisBlock = void (*)(const Tensor& src, int64_t src_len, int64_t src_off, Tensor& dst,
                               int64_t dst_len, int64_t dst_off, int64_t outer, int64_t len,
                               int64_t inner, bool accumulate);
void concat_forward_with(OpCall& c, CopyAxisBlock copy);
void concat_backward_with(OpCall& c, CopyAxisBlock copy);
void slice_forward_with(OpCall& c, CopyAxisBlock copy);
void slice_backward_with(OpCall& c, CopyAxisBlock copy);

void reshape_forward_cpu(OpCall& c);
void reshape_backward_cpu(OpCall& c);
void transpose_forward_cpu(OpCall& c);
void transpose_backward_cpu(OpCall& c);
void concat_forward_cpu(OpCall& c);
void concat_backward_cpu(OpCall& c);
void slice_forward_cpu(OpCall& c);
void slice_backward_cpu(OpCall& c);
void gather_forward_cpu(OpCall& c);
void gather_backward_cpu(OpCall& c);

void reshape_forward_cuda(OpCall& c);
void reshape_backward_cuda(OpCall& c);
void transpose_forward_cuda(OpCall& c);
void transpose_backward_cuda(OpCall& c);
void concat_forward_cuda(OpCall& c);
void concat_backward_cuda(OpCall& c);
void slice_forward_cuda(OpCall& c);
void slice_backward_cuda(OpCall& c);
void gather_forward_cuda(OpCall& c);
void gather_backward_cuda(OpCall& c);

// Gather's CSR inverse for backward: attrs.tensors[1..2] when supplied, else what forward built
// and saved (saved[0..1]). Returns {offsets [F+1] i32, positions [M] i32}.
struct GatherCsr {
  const Tensor* offsets;
  const Tensor* positions;
};
GatherCsr gather_csr(const OpCall& c);

}  // namespace difflut
