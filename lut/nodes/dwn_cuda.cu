// CUDA kernels of the dwn_lut op. They perform the CPU kernels' arithmetic in the same order with
// explicitly rounded operations (no fused multiply-adds), so CPU and GPU results are bit-identical,
// and no kernel uses atomics, so repeated runs are too.
#include <cstdint>

#include "lut/nodes/dwn_kernels.h"
#include "tensor/cuda_utils.h"

namespace difflut {

namespace {

constexpr int kWarp = 32;
constexpr int kTableGradWarps = 8;  // LUTs per block in the table-gradient kernel

__device__ __forceinline__ float mul_rn(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ double mul_rn(double a, double b) { return __dmul_rn(a, b); }
__device__ __forceinline__ float add_rn(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ double add_rn(double a, double b) { return __dadd_rn(a, b); }

// One thread per (b, j): binarise the LUT's k inputs, form the address (input l is bit l), look up.
template <class T>
__global__ void dwn_lut_forward_kernel(const T* x,      // [B, N*k]
                                       const T* table,  // [N, 2^k]
                                       T* out,          // [B, N]
                                       uint8_t* addr,   // [B, N]
                                       long long B, long long N, int k) {
  const long long total = B * N;
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total;
       i += (long long)gridDim.x * blockDim.x) {
    const long long j = i % N;
    const T* xi = x + i * k;  // row b, LUT j starts at b*N*k + j*k = i*k
    unsigned a = 0;
    for (int l = 0; l < k; ++l) a |= static_cast<unsigned>(xi[l] >= T(0.5)) << l;
    addr[i] = static_cast<uint8_t>(a);
    out[i] = table[(j << k) + a] > T(0) ? T(1) : T(0);
  }
}

// Table gradient, one warp per LUT. The warp loads 32 samples at a time (one per lane) and then
// walks them in ascending b, broadcasting each by shuffle; lane t owns addresses t, t+32, ... and
// keeps their sums in registers. Every address is thus summed in ascending b, in double, exactly as
// on the CPU, with no atomics and no shared state between warps.
template <class T>
__global__ void dwn_table_grad_kernel(T* d_table,           // [N, 2^k] accumulated
                                      const uint8_t* addr,  // [B, N]
                                      const T* d_out,       // [B, N]
                                      long long B, long long N, int k) {
  const long long j = blockIdx.x * (long long)kTableGradWarps + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (j >= N) return;  // warp-uniform
  const int K = 1 << k;
  double acc[256 / kWarp];
#pragma unroll
  for (int s = 0; s < 256 / kWarp; ++s) acc[s] = 0.0;
  for (long long base = 0; base < B; base += kWarp) {
    const long long b = base + lane;
    int a_lane = -1;
    double g_lane = 0.0;
    if (b < B) {
      a_lane = addr[b * N + j];
      g_lane = static_cast<double>(d_out[b * N + j]);
    }
    const int count = B - base < kWarp ? static_cast<int>(B - base) : kWarp;
    for (int s = 0; s < count; ++s) {
      const int a = __shfl_sync(0xffffffffu, a_lane, s);
      const double gv = __shfl_sync(0xffffffffu, g_lane, s);
#pragma unroll
      for (int t = 0; t < 256 / kWarp; ++t)
        if (a == lane + t * kWarp) acc[t] = __dadd_rn(acc[t], gv);
    }
  }
#pragma unroll
  for (int t = 0; t < 256 / kWarp; ++t) {
    const int a = lane + t * kWarp;
    if (a < K) d_table[(j << k) + a] = add_rn(d_table[(j << k) + a], static_cast<T>(acc[t]));
  }
}

// EFD gradient tables, one block per LUT: G[j][l][a] for all l, a by k butterfly stages over the
// [k, 2^k] planes held in shared memory (ping-pong buffers): per element the same operations as
// dwn_efd_gradient_table (whose host layout is [2^k, lanes] instead).
template <class T>
__global__ void dwn_efd_table_kernel(T* G,            // [N, k, 2^k] out
                                     const T* table,  // [N, 2^k]
                                     int k, double alpha, double beta) {
  __shared__ double buf[2][kDwnMaxK << kDwnMaxK];
  const long long j = blockIdx.x;
  const int K = 1 << k;
  const int n = k * K;
  const T* tj = table + (j << k);
  double* cur = buf[0];
  double* nxt = buf[1];
  for (int i = threadIdx.x; i < n; i += blockDim.x) {
    const int l = i / K, a = i % K;
    const double t = static_cast<double>(tj[a]);
    cur[i] = ((a >> l) & 1) ? t : -t;
  }
  __syncthreads();
  for (int m = 0; m < k; ++m) {
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
      const int l = i / K, a = i % K;
      const double cm = (m == l) ? 1.0 : beta;
      nxt[i] = __dadd_rn(cur[i], __dmul_rn(cm, cur[l * K + (a ^ (1 << m))]));
    }
    __syncthreads();
    double* t = cur;
    cur = nxt;
    nxt = t;
  }
  T* Gj = G + j * n;
  for (int i = threadIdx.x; i < n; i += blockDim.x)
    Gj[i] = static_cast<T>(__dmul_rn(alpha, cur[i]));
}

// Input gradient, one thread per element of dx: dx[b, j*k + l] += g[b, j] * G[j][l][addr[b, j]].
template <class T>
__global__ void dwn_input_grad_kernel(T* d_x,               // [B, N*k] accumulated
                                      const T* G,           // [N, k, 2^k]
                                      const uint8_t* addr,  // [B, N]
                                      const T* d_out,       // [B, N]
                                      long long B, long long N, int k) {
  const long long total = B * N * k;
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total;
       i += (long long)gridDim.x * blockDim.x) {
    const long long bj = i / k;  // b*N + j
    const int l = static_cast<int>(i % k);
    const long long j = bj % N;
    const T gval = G[((j * k + l) << k) + addr[bj]];
    d_x[i] = add_rn(d_x[i], mul_rn(d_out[bj], gval));
  }
}

}  // namespace

void dwn_lut_forward_cuda(OpCall& c) {
  const int k = static_cast<int>(c.attrs.ints[0]);
  const long long B = c.in[0]->size(0), N = c.in[1]->size(0);
  Tensor addr = Tensor::empty({B, N}, DType::u8, Device::cuda);
  if (B * N > 0) {
    DIFFLUT_DISPATCH_FLOAT(c.in[0]->dtype(), "dwn_lut", [&] {
      dwn_lut_forward_kernel<<<grid_for(B * N), 256>>>(
          c.in[0]->data<scalar_t>(), c.in[1]->data<scalar_t>(), c.out->data<scalar_t>(),
          addr.data<uint8_t>(), B, N, k);
    });
    DIFFLUT_CUDA_LAUNCH_CHECK();
  }
  c.saved.push_back(addr);
}

void dwn_lut_backward_cuda(OpCall& c) {
  Tensor* gx = c.grad_in[0];
  Tensor* gt = c.grad_in[1];
  if (!gx && !gt) return;
  const int k = static_cast<int>(c.attrs.ints[0]);
  const long long B = c.in[0]->size(0), N = c.in[1]->size(0);
  if (B == 0 || N == 0) return;
  const double alpha = c.attrs.floats[0];
  const double beta = c.attrs.floats[1];
  const uint8_t* addr = c.saved.at(0).data<uint8_t>();
  DIFFLUT_DISPATCH_FLOAT(c.in[0]->dtype(), "dwn_lut", [&] {
    const scalar_t* g = c.grad_out->data<scalar_t>();
    if (gt) {
      const unsigned blocks = static_cast<unsigned>((N + kTableGradWarps - 1) / kTableGradWarps);
      dwn_table_grad_kernel<<<blocks, kTableGradWarps * kWarp>>>(gt->data<scalar_t>(), addr, g, B,
                                                                 N, k);
      DIFFLUT_CUDA_LAUNCH_CHECK();
    }
    if (gx) {
      Tensor G = Tensor::empty({N, k, int64_t{1} << k}, c.in[1]->dtype(), Device::cuda);
      dwn_efd_table_kernel<<<static_cast<unsigned>(N), 256>>>(
          G.data<scalar_t>(), c.in[1]->data<scalar_t>(), k, alpha, beta);
      DIFFLUT_CUDA_LAUNCH_CHECK();
      dwn_input_grad_kernel<<<grid_for(B * N * k), 256>>>(gx->data<scalar_t>(), G.data<scalar_t>(),
                                                          addr, g, B, N, k);
      DIFFLUT_CUDA_LAUNCH_CHECK();
    }
  });
}

}  // namespace difflut
