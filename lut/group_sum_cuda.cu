// CUDA kernels of group_sum: one thread per output (forward) or per input (backward), the same
// double arithmetic in the same order as the CPU kernels.
#include "lut/group_sum_kernels.h"
#include "tensor/cuda_utils.h"

namespace difflut {

namespace {

template <class T>
__global__ void group_sum_forward_kernel(const T* x,  // [B, M]
                                         T* out,      // [B, C]
                                         long long B, long long M, long long C, long long g,
                                         double tau) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < B * C;
       i += (long long)gridDim.x * blockDim.x) {
    const long long b = i / C, c = i % C;
    const long long m0 = c * g < M ? c * g : M;
    const long long m1 = (c + 1) * g < M ? (c + 1) * g : M;
    double acc = 0.0;
    for (long long m = m0; m < m1; ++m) acc = __dadd_rn(acc, static_cast<double>(x[b * M + m]));
    out[i] = static_cast<T>(__ddiv_rn(acc, tau));
  }
}

template <class T>
__global__ void group_sum_backward_kernel(const T* gy,  // [B, C]
                                          T* gx,        // [B, M] accumulated
                                          long long B, long long M, long long C, long long g,
                                          double tau) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < B * M;
       i += (long long)gridDim.x * blockDim.x) {
    const long long b = i / M, m = i % M;
    gx[i] += static_cast<T>(__ddiv_rn(static_cast<double>(gy[b * C + m / g]), tau));
  }
}

}  // namespace

void group_sum_forward_cuda(OpCall& c) {
  const Tensor& x = *c.in[0];
  const long long B = x.size(0), M = x.size(1), C = c.attrs.ints[0];
  if (B * C == 0) return;
  const double tau = c.attrs.floats[0];
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "group_sum", [&] {
    group_sum_forward_kernel<<<grid_for(B * C), 256>>>(x.data<scalar_t>(), c.out->data<scalar_t>(),
                                                       B, M, C, group_sum_width(M, C), tau);
  });
  DIFFLUT_CUDA_LAUNCH_CHECK();
}

void group_sum_backward_cuda(OpCall& c) {
  if (!c.grad_in[0]) return;
  const Tensor& x = *c.in[0];
  const long long B = x.size(0), M = x.size(1), C = c.attrs.ints[0];
  if (B * M == 0) return;
  const double tau = c.attrs.floats[0];
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "group_sum", [&] {
    group_sum_backward_kernel<<<grid_for(B * M), 256>>>(c.grad_out->data<scalar_t>(),
                                                        c.grad_in[0]->data<scalar_t>(), B, M, C,
                                                        group_sum_width(M, C), tau);
  });
  DIFFLUT_CUDA_LAUNCH_CHECK();
}

}  // namespace difflut
