// Kernels of the convolutional LUT ops (lut/conv_ops.h). Attrs.tensors = {table i32 [Q, R],
// csr_offsets i32 [F + 2], csr_positions i32 [Q * R]} for both ops.
#pragma once
#include <cstdint>

#include "autograd/op_def.h"
#include "tensor/host_device.h"

namespace difflut {

void conv_patches_forward_cpu(OpCall& c);
void conv_patches_backward_cpu(OpCall& c);
void conv_patches_forward_cuda(OpCall& c);
void conv_patches_backward_cuda(OpCall& c);
void bit_pool_forward_cpu(OpCall& c);
void bit_pool_backward_cpu(OpCall& c);
void bit_pool_forward_cuda(OpCall& c);
void bit_pool_backward_cuda(OpCall& c);

// The first r of window q (row xr of x) holding the window's maximum.
template <class T>
DIFFLUT_HD int bit_pool_first_max(const T* xr, const int32_t* window, int R) {
  int best = 0;
  for (int r = 1; r < R; ++r)
    if (xr[window[r]] > xr[window[best]]) best = r;
  return best;
}

}  // namespace difflut
