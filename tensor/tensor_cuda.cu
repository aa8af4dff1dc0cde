// Device kernels behind Tensor::fill_, Tensor::to(dtype) and the random factories.
#include "tensor/cuda_utils.h"
#include "tensor/random_fill.h"
#include "tensor/tensor.h"

namespace difflut {
namespace {

template <class T>
__global__ void fill_kernel(T* out,  // [n]
                            long long n, T value) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x)
    out[i] = value;
}

template <class S, class D>
__global__ void cast_kernel(const S* src,  // [n]
                            D* dst,        // [n]
                            long long n) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x)
    dst[i] = static_cast<D>(src[i]);
}

template <class T>
__global__ void random_kernel(T* out,  // [n]
                              long long n, RandomKind kind, uint64_t start, uint64_t key,
                              int64_t low, int64_t high) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x)
    out[i] = random_value<T>(kind, start + static_cast<uint64_t>(i), key, low, high);
}

}  // namespace

void fill_cuda(Tensor& t, double value) {
  const long long n = t.numel();
  if (n == 0) return;
  DIFFLUT_DISPATCH_ALL(t.dtype(), "fill", [&] {
    fill_kernel<scalar_t>
        <<<grid_for(n), 256>>>(t.data<scalar_t>(), n, static_cast<scalar_t>(value));
  });
  DIFFLUT_CUDA_LAUNCH_CHECK();
}

void cast_cuda(const Tensor& src, Tensor& dst) {
  const long long n = src.numel();
  if (n == 0) return;
  DIFFLUT_DISPATCH_ALL(src.dtype(), "to(dtype)", [&] {
    using src_t = scalar_t;
    DIFFLUT_DISPATCH_ALL(dst.dtype(), "to(dtype)", [&] {
      cast_kernel<src_t, scalar_t>
          <<<grid_for(n), 256>>>(src.data<src_t>(), dst.data<scalar_t>(), n);
    });
  });
  DIFFLUT_CUDA_LAUNCH_CHECK();
}

void random_fill_cuda(Tensor& t, RandomKind kind, uint64_t start, uint64_t key, int64_t low,
                      int64_t high) {
  const long long n = t.numel();
  if (n == 0) return;
  DIFFLUT_DISPATCH_ALL(t.dtype(), "random", [&] {
    random_kernel<scalar_t>
        <<<grid_for(n), 256>>>(t.data<scalar_t>(), n, kind, start, key, low, high);
  });
  DIFFLUT_CUDA_LAUNCH_CHECK();
}

}  // namespace difflut
