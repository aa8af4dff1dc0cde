// CUDA kernels of conv_patches and bit_pool: forward one thread per output element, backward one
// thread per input element (b, f) summing its readers over the CSR inverse in the CPU's order, so
// gradients equal the CPU's bit for bit and need no atomics.
#include "lut/conv_kernels.h"
#include "tensor/cuda_utils.h"

namespace difflut {

namespace {
constexpr int kBlock = 256;

template <class T>
__global__ void patches_forward_kernel(const T* x, const int32_t* t, T* y, long long B, long long F,
                                       long long M) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < B * M;
       i += (long long)gridDim.x * blockDim.x) {
    const long long b = i / M, m = i % M;
    y[i] = t[m] < 0 ? T(0) : x[b * F + t[m]];
  }
}

template <class T>
__global__ void patches_backward_kernel(const T* gy, const int32_t* off, const int32_t* pos, T* gx,
                                        long long B, long long F, long long M) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < B * F;
       i += (long long)gridDim.x * blockDim.x) {
    const long long b = i / F, f = i % F;
    T acc = 0;
    for (int j = off[f]; j < off[f + 1]; ++j) acc += gy[b * M + pos[j]];
    gx[i] += acc;
  }
}

template <class T>
__global__ void pool_forward_kernel(const T* x, const int32_t* t, T* y, long long B, long long F,
                                    long long Q, int R) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < B * Q;
       i += (long long)gridDim.x * blockDim.x) {
    const long long b = i / Q, q = i % Q;
    const int32_t* w = t + q * R;
    y[i] = x[b * F + w[bit_pool_first_max(x + b * F, w, R)]];
  }
}

template <class T>
__global__ void pool_backward_kernel(const T* x, const T* gy, const int32_t* t, const int32_t* off,
                                     const int32_t* pos, T* gx, long long B, long long F,
                                     long long Q, int R) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < B * F;
       i += (long long)gridDim.x * blockDim.x) {
    const long long b = i / F, f = i % F;
    const T* xr = x + b * F;
    T acc = 0;
    for (int j = off[f]; j < off[f + 1]; ++j) {
      const long long q = pos[j] / R, r = pos[j] % R;
      if (bit_pool_first_max(xr, t + q * R, R) == r) acc += gy[b * Q + q];
    }
    gx[i] += acc;
  }
}
}  // namespace

void conv_patches_forward_cuda(OpCall& c) {
  const Tensor& x = *c.in[0];
  const long long B = x.size(0), F = x.size(1), M = c.attrs.tensors[0].numel();
  if (B * M == 0) return;
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "conv_patches", [&] {
    patches_forward_kernel<scalar_t><<<grid_for(B * M, kBlock), kBlock>>>(
        x.data<scalar_t>(), c.attrs.tensors[0].data<int32_t>(), c.out->data<scalar_t>(), B, F, M);
  });
  DIFFLUT_CUDA_LAUNCH_CHECK();
}

void conv_patches_backward_cuda(OpCall& c) {
  if (!c.grad_in[0]) return;
  const Tensor& x = *c.in[0];
  const long long B = x.size(0), F = x.size(1), M = c.attrs.tensors[0].numel();
  if (B * F == 0) return;
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "conv_patches", [&] {
    patches_backward_kernel<scalar_t><<<grid_for(B * F, kBlock), kBlock>>>(
        c.grad_out->data<scalar_t>(), c.attrs.tensors[1].data<int32_t>(),
        c.attrs.tensors[2].data<int32_t>(), c.grad_in[0]->data<scalar_t>(), B, F, M);
  });
  DIFFLUT_CUDA_LAUNCH_CHECK();
}

void bit_pool_forward_cuda(OpCall& c) {
  const Tensor& x = *c.in[0];
  const long long B = x.size(0), F = x.size(1), Q = c.attrs.tensors[0].size(0);
  const int R = static_cast<int>(c.attrs.tensors[0].size(1));
  if (B * Q == 0) return;
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "bit_pool", [&] {
    pool_forward_kernel<scalar_t><<<grid_for(B * Q, kBlock), kBlock>>>(
        x.data<scalar_t>(), c.attrs.tensors[0].data<int32_t>(), c.out->data<scalar_t>(), B, F, Q,
        R);
  });
  DIFFLUT_CUDA_LAUNCH_CHECK();
}

void bit_pool_backward_cuda(OpCall& c) {
  if (!c.grad_in[0]) return;
  const Tensor& x = *c.in[0];
  const long long B = x.size(0), F = x.size(1), Q = c.attrs.tensors[0].size(0);
  const int R = static_cast<int>(c.attrs.tensors[0].size(1));
  if (B * F == 0) return;
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "bit_pool", [&] {
    pool_backward_kernel<scalar_t><<<grid_for(B * F, kBlock), kBlock>>>(
        x.data<scalar_t>(), c.grad_out->data<scalar_t>(), c.attrs.tensors[0].data<int32_t>(),
        c.attrs.tensors[1].data<int32_t>(), c.attrs.tensors[2].data<int32_t>(),
        c.grad_in[0]->data<scalar_t>(), B, F, Q, R);
  });
  DIFFLUT_CUDA_LAUNCH_CHECK();
}

}  // namespace difflut
