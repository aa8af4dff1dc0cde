// CUDA kernel of the thermometer op: one thread per output bit, grid-stride. Each bit is an
// independent comparison, so the result is identical to the CPU kernel bit for bit.
#include "encoders/thermometer_kernels.h"
#include "tensor/cuda_utils.h"

namespace difflut {
namespace {

template <class T>
__global__ void thermometer_forward_kernel(const T* x,  // [B, F]
                                           const T* t,  // [F, nb]
                                           T* y,        // [B, F*nb]
                                           long long B, long long F, long long nb) {
  const long long row = F * nb;
  const long long n = B * row;
  for (long long idx = blockIdx.x * (long long)blockDim.x + threadIdx.x; idx < n;
       idx += (long long)gridDim.x * blockDim.x) {
    const long long b = idx / row;
    const long long j = idx - b * row;  // f * nb + i: the same index into t
    const long long f = j / nb;
    y[idx] = x[b * F + f] > t[j] ? T(1) : T(0);
  }
}

}  // namespace

void thermometer_forward_cuda(OpCall& c) {
  const Tensor& x = *c.in[0];
  const Tensor& t = c.attrs.tensors[0];
  const long long B = x.size(0), F = x.size(1), nb = t.size(1);
  const long long n = B * F * nb;
  if (n == 0) return;
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "thermometer", [&] {
    thermometer_forward_kernel<<<grid_for(n), 256>>>(x.data<scalar_t>(), t.data<scalar_t>(),
                                                     c.out->data<scalar_t>(), B, F, nb);
  });
  DIFFLUT_CUDA_LAUNCH_CHECK();
}

}  // namespace difflut
