// CUDA kernels of the elementwise family.
#include "tensor/cuda_utils.h"
#include "tensor/kernels/elementwise_kernels.h"

namespace difflut {
namespace {

template <class T>
__global__ void relu_forward_kernel(const T* x,  // [n]
                                    T* y,        // [n]
                                    long long n) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x)
    y[i] = x[i] > T(0) ? x[i] : T(0);
}

template <class T>
__global__ void relu_backward_kernel(const T* x,   // [n]
                                     const T* gy,  // [n]
                                     T* gx,        // [n] accumulated
                                     long long n) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x)
    gx[i] += x[i] > T(0) ? gy[i] : T(0);
}

}  // namespace

void relu_forward_cuda(OpCall& c) {
  const Tensor& x = *c.in[0];
  const long long n = x.numel();
  if (n == 0) return;
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "relu", [&] {
    relu_forward_kernel<<<grid_for(n), 256>>>(x.data<scalar_t>(), c.out->data<scalar_t>(), n);
  });
  DIFFLUT_CUDA_LAUNCH_CHECK();
}

void relu_backward_cuda(OpCall& c) {
  if (!c.grad_in[0]) return;
  const Tensor& x = *c.in[0];
  const long long n = x.numel();
  if (n == 0) return;
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "relu", [&] {
    relu_backward_kernel<<<grid_for(n), 256>>>(x.data<scalar_t>(), c.grad_out->data<scalar_t>(),
                                               c.grad_in[0]->data<scalar_t>(), n);
  });
  DIFFLUT_CUDA_LAUNCH_CHECK();
}

}  // namespace difflut
