// Kernel entry points of the reduction family, CPU (reduce_cpu.cpp) and CUDA (reduce_cuda.cu).
// All reductions are owner-computes: each output is summed (or scanned) by one owner in a fixed
// order that depends only on the shape, never on thread counts or timing; no atomics.
#pragma once
#include "autograd/op_def.h"

namespace difflut {

// dst (+)= scale * (src summed down to dst's shape); dst's shape must broadcast to src's (the
// gradient of a broadcast operand). Also the core of sum and mean.
void sum_to_shape_cpu(const Tensor& src, Tensor& dst, double scale, bool accumulate);
void sum_to_shape_cuda(const Tensor& src, Tensor& dst, double scale, bool accumulate);

// Op kernels. attrs.ints = {axis, keepdim}; max saves the argmax indices (i64, output-shaped).
void sum_forward_cpu(OpCall& c);
void sum_backward_cpu(OpCall& c);
void mean_forward_cpu(OpCall& c);
void mean_backward_cpu(OpCall& c);
void max_forward_cpu(OpCall& c);
void max_backward_cpu(OpCall& c);
void argmax_forward_cpu(OpCall& c);

void sum_forward_cuda(OpCall& c);
void sum_backward_cuda(OpCall& c);
void mean_forward_cuda(OpCall& c);
void mean_backward_cuda(OpCall& c);
void max_forward_cuda(OpCall& c);
void max_backward_cuda(OpCall& c);
void argmax_forward_cuda(OpCall& c);

// The reduced axis of a reduction node, normalised to [0, rank) (shape inference validated it).
inline int64_t reduce_axis(const OpCall& c) {
  const int64_t rank = c.in[0]->dim();
  const int64_t axis = c.attrs.ints[0];
  return axis < 0 ? axis + rank : axis;
}

}  // namespace difflut
