// CUDA kernels of the lut_regularizer op: one thread per node; a node's corner values are a column
// of F [2^k, N], so neighbouring threads read neighbouring addresses. The spectral transform works
// in a [2^k, N] double scratch column per node (no per-thread arrays).
#include "lut/nodes/node_kernels.h"
#include "lut/nodes/regularizer_math.h"
#include "tensor/cuda_utils.h"

namespace difflut::nodes {

namespace {

template <class T>
__global__ void lut_regularizer_forward_kernel(const T* F,  // [2^k, N]
                                               T* out,      // [N]
                                               double* h,   // [2^k, N] scratch (spectral)
                                               long long N, int k, int kind) {
  for (long long j = blockIdx.x * (long long)blockDim.x + threadIdx.x; j < N;
       j += (long long)gridDim.x * blockDim.x)
    out[j] = static_cast<T>(kind == kRegSpectral ? reg_spectral(F + j, N, k, h + j, N)
                                                 : reg_functional(F + j, N, k));
}

template <class T>
__global__ void lut_regularizer_backward_kernel(const T* F,  // [2^k, N]
                                                const T* g,  // [N]
                                                T* dF,       // [2^k, N] accumulated
                                                double* h,   // [2^k, N] scratch (spectral)
                                                long long N, int k, int kind) {
  for (long long j = blockIdx.x * (long long)blockDim.x + threadIdx.x; j < N;
       j += (long long)gridDim.x * blockDim.x) {
    if (kind == kRegSpectral)
      reg_spectral_backward(F + j, N, k, static_cast<double>(g[j]), dF + j, h + j, N);
    else
      reg_functional_backward(F + j, N, k, static_cast<double>(g[j]), dF + j);
  }
}

}  // namespace

void lut_regularizer_forward_cuda(OpCall& c) {
  const int k = static_cast<int>(c.attrs.ints[0]);
  const int kind = static_cast<int>(c.attrs.ints[1]);
  const long long N = c.in[0]->size(1);
  if (N == 0) return;
  Tensor h;
  if (kind == kRegSpectral) h = Tensor::empty({1LL << k, N}, DType::f64, Device::cuda);
  DIFFLUT_DISPATCH_FLOAT(c.in[0]->dtype(), "lut_regularizer", [&] {
    lut_regularizer_forward_kernel<scalar_t>
        <<<grid_for(N), 256>>>(c.in[0]->data<scalar_t>(), c.out->data<scalar_t>(),
                               h.defined() ? h.data<double>() : nullptr, N, k, kind);
  });
  DIFFLUT_CUDA_LAUNCH_CHECK();
}

void lut_regularizer_backward_cuda(OpCall& c) {
  if (!c.grad_in[0]) return;
  const int k = static_cast<int>(c.attrs.ints[0]);
  const int kind = static_cast<int>(c.attrs.ints[1]);
  const long long N = c.in[0]->size(1);
  if (N == 0) return;
  Tensor h;
  if (kind == kRegSpectral) h = Tensor::empty({1LL << k, N}, DType::f64, Device::cuda);
  DIFFLUT_DISPATCH_FLOAT(c.in[0]->dtype(), "lut_regularizer", [&] {
    lut_regularizer_backward_kernel<scalar_t><<<grid_for(N), 256>>>(
        c.in[0]->data<scalar_t>(), c.grad_out->data<scalar_t>(), c.grad_in[0]->data<scalar_t>(),
        h.defined() ? h.data<double>() : nullptr, N, k, kind);
  });
  DIFFLUT_CUDA_LAUNCH_CHECK();
}

}  // namespace difflut::nodes
