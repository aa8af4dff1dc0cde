// Concat and slice on any device: the axis bookkeeping (which block of which tensor goes where)
// is the same on the CPU and on the GPU, so it lives here once and the device launchers pass in
// their block copy (copy_axis_block_cpu or copy_axis_block_cuda). See shape_kernels.h.
#include "autograd/ops.h"
#include "autograd/ops/shape/shape_kernels.h"

namespace difflut {

// ---- concat along attrs.ints[0]
void concat_forward_with(OpCall& c, CopyAxisBlock copy) {
  const int64_t axis = normalize_axis("concat", c.attrs.ints.at(0), c.out->shape());
  const AxisSplit so = split_axis(c.out->shape(), axis);
  int64_t off = 0;
  for (const Tensor* x : c.in) {
    const int64_t len = x->size(axis);
    copy(*x, len, 0, *c.out, so.len, off, so.outer, len, so.inner, false);
    off += len;
  }
}

void concat_backward_with(OpCall& c, CopyAxisBlock copy) {
  const int64_t axis = normalize_axis("concat", c.attrs.ints.at(0), c.out->shape());
  const AxisSplit so = split_axis(c.out->shape(), axis);
  int64_t off = 0;
  for (size_t i = 0; i < c.in.size(); ++i) {
    const int64_t len = c.in[i]->size(axis);
    if (c.grad_in[i])
      copy(*c.grad_out, so.len, off, *c.grad_in[i], len, 0, so.outer, len, so.inner, true);
    off += len;
  }
}

// ---- slice: attrs.ints = {axis, start, end}
void slice_forward_with(OpCall& c, CopyAxisBlock copy) {
  const Tensor& x = *c.in[0];
  const int64_t axis = normalize_axis("slice", c.attrs.ints.at(0), x.shape());
  const int64_t start = c.attrs.ints.at(1), end = c.attrs.ints.at(2);
  const AxisSplit s = split_axis(x.shape(), axis);
  copy(x, s.len, start, *c.out, end - start, 0, s.outer, end - start, s.inner, false);
}

void slice_backward_with(OpCall& c, CopyAxisBlock copy) {
  if (!c.grad_in[0]) return;
  const Tensor& x = *c.in[0];
  const int64_t axis = normalize_axis("slice", c.attrs.ints.at(0), x.shape());
  const int64_t start = c.attrs.ints.at(1), end = c.attrs.ints.at(2);
  const AxisSplit s = split_axis(x.shape(), axis);
  copy(*c.grad_out, end - start, 0, *c.grad_in[0], s.len, start, s.outer, end - start, s.inner,
       true);
}

}  // namespace difflut
