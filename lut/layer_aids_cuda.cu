// CUDA kernels of bit_flip and grad_stabilize. bit_flip draws the same Philox mask as the CPU.
// grad_stabilize's sums are fixed-order reductions in double (one block per row, then one block
// over the rows), so repeated runs give identical gradients; they differ from the CPU's sequential
// sums only by rounding.
#include "lut/layer_aids_kernels.h"
#include "tensor/cuda_utils.h"

namespace difflut {

namespace {
constexpr int kBlock = 256;

template <class T>
__global__ void bit_flip_kernel(const T* x, T* y, long long n, unsigned long long key, double p) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x)
    y[i] = bit_flip_mask(static_cast<uint64_t>(i), key, p) ? T(1) - x[i] : x[i];
}

template <class T>
__global__ void add_kernel(const T* gy, T* gx, long long n) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x)
    gx[i] += gy[i];
}

// Block-wide sum of one value per thread, in a fixed tree order; the result is in thread 0.
__device__ double block_sum(double v) {
  __shared__ double buf[kBlock];
  buf[threadIdx.x] = v;
  __syncthreads();
  for (int s = kBlock / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) buf[threadIdx.x] = __dadd_rn(buf[threadIdx.x], buf[threadIdx.x + s]);
    __syncthreads();
  }
  return buf[0];
}

// Block b: out[b] = Σ_j (g[b, j] - centre)^power, centre = centre[per_row ? b : 0] (or 0).
template <class T>
__global__ void row_sum_kernel(const T* g, long long N, const double* centre, int per_row,
                               int power, double* out) {
  const long long b = blockIdx.x;
  const double c = centre ? centre[per_row ? b : 0] : 0.0;
  double acc = 0.0;
  for (long long j = threadIdx.x; j < N; j += kBlock) {
    const double d = static_cast<double>(g[b * N + j]) - c;
    acc = __dadd_rn(acc, power == 1 ? d : __dmul_rn(d, d));
  }
  const double total = block_sum(acc);
  if (threadIdx.x == 0) out[b] = total;
}

// One block: means of the row sums, per row or (layerwise) one over all rows, into out.
__global__ void mean_kernel(const double* sums, long long B, int per_row, double count, double* out) {
  if (per_row) {
    for (long long b = threadIdx.x; b < B; b += kBlock) out[b] = __ddiv_rn(sums[b], count);
    return;
  }
  double acc = 0.0;
  for (long long b = threadIdx.x; b < B; b += kBlock) acc = __dadd_rn(acc, sums[b]);
  const double total = block_sum(acc);
  if (threadIdx.x == 0) out[0] = __ddiv_rn(total, count);
}

template <class T>
__global__ void rescale_kernel(const T* g, T* gx, long long B, long long N, const double* centre,
                               const double* var, int per_row, double target, double eps) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < B * N;
       i += (long long)gridDim.x * blockDim.x) {
    const long long r = per_row ? i / N : 0;
    const double c = centre ? centre[r] : 0.0;
    const double scale = sqrt(__ddiv_rn(target, __dadd_rn(var[r], eps)));
    gx[i] += static_cast<T>(__dmul_rn(static_cast<double>(g[i]) - c, scale));
  }
}
}  // namespace

void bit_flip_forward_cuda(OpCall& c) {
  const Tensor& x = *c.in[0];
  const long long n = x.numel();
  if (n == 0) return;
  const unsigned long long key = static_cast<uint64_t>(c.attrs.ints[0]);
  const double p = c.attrs.floats[0];
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "bit_flip", [&] {
    bit_flip_kernel<<<grid_for(n, kBlock), kBlock>>>(x.data<scalar_t>(), c.out->data<scalar_t>(),
                                                     n, key, p);
  });
  DIFFLUT_CUDA_LAUNCH_CHECK();
}

void bit_flip_backward_cuda(OpCall& c) {
  if (!c.grad_in[0]) return;
  const long long n = c.grad_out->numel();
  if (n == 0) return;
  DIFFLUT_DISPATCH_FLOAT(c.grad_out->dtype(), "bit_flip", [&] {
    add_kernel<<<grid_for(n, kBlock), kBlock>>>(c.grad_out->data<scalar_t>(),
                                                c.grad_in[0]->data<scalar_t>(), n);
  });
  DIFFLUT_CUDA_LAUNCH_CHECK();
}

void grad_stabilize_backward_cuda(OpCall& c) {
  if (!c.grad_in[0]) return;
  const Tensor& gy = *c.grad_out;
  const long long B = gy.size(0), N = gy.size(1);
  if (B * N == 0) return;
  const int per_row = c.attrs.ints[0] != 0 ? 1 : 0;
  const bool subtract_mean = c.attrs.ints[1] != 0;
  const double target = c.attrs.floats[0], eps = c.attrs.floats[1];
  const double count = static_cast<double>(per_row ? N : B * N);
  Tensor sums = Tensor::empty({B}, DType::f64, Device::cuda);
  Tensor centre = Tensor::empty({per_row ? B : 1}, DType::f64, Device::cuda);
  Tensor var = Tensor::empty({per_row ? B : 1}, DType::f64, Device::cuda);
  double* sp = sums.data<double>();
  const double* cp = subtract_mean ? centre.data<double>() : nullptr;
  DIFFLUT_DISPATCH_FLOAT(gy.dtype(), "grad_stabilize", [&] {
    const scalar_t* g = gy.data<scalar_t>();
    if (subtract_mean) {
      row_sum_kernel<<<B, kBlock>>>(g, N, nullptr, per_row, 1, sp);
      mean_kernel<<<1, kBlock>>>(sp, B, per_row, count, centre.data<double>());
    }
    row_sum_kernel<<<B, kBlock>>>(g, N, cp, per_row, 2, sp);
    mean_kernel<<<1, kBlock>>>(sp, B, per_row, count, var.data<double>());
    rescale_kernel<<<grid_for(B * N, kBlock), kBlock>>>(g, c.grad_in[0]->data<scalar_t>(), B, N,
                                                        cp, var.data<double>(), per_row, target,
                                                        eps);
  });
  DIFFLUT_CUDA_LAUNCH_CHECK();
}

}  // namespace difflut
