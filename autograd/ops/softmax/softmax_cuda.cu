// CUDA kernels of the softmax family. Contiguous rows (the last axis) get one warp per row; a strided
// axis gets one thread per (outer, inner) position walking the axis, so neighbouring threads read
// neighbouring addresses. Warp reductions use the xor butterfly, which gives every lane the same,
// run-to-run identical value; the batch mean of cross_entropy is a one-block fixed-order tree.
// No atomics anywhere, so results are bit-reproducible.
#include <limits>

#include "autograd/ops/shape/shape_kernels.h"
#include "autograd/ops/softmax/softmax_kernels.h"
#include "tensor/cuda_utils.h"

namespace difflut {
namespace {

constexpr int kBlock = 256;
constexpr int kWarpsPerBlock = kBlock / 32;

template <class T>
__device__ T warp_max(T v) {
  for (int o = 16; o > 0; o >>= 1) {
    const T w = __shfl_xor_sync(0xffffffffu, v, o);
    v = w > v ? w : v;
  }
  return v;
}
template <class T>
__device__ T warp_sum(T v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

unsigned warp_grid(long long rows) {
  long long g = (rows + kWarpsPerBlock - 1) / kWarpsPerBlock;
  if (g < 1) g = 1;
  if (g > 65535LL * 32) g = 65535LL * 32;
  return static_cast<unsigned>(g);
}

// One warp per contiguous row of length L.
template <class T, bool kLog>
__global__ void softmax_rows_forward_kernel(const T* x,  // [rows, L]
                                            T* y,        // [rows, L]
                                            long long rows, long long L) {
  const int lane = threadIdx.x & 31;
  for (long long r = (blockIdx.x * (long long)blockDim.x + threadIdx.x) / 32; r < rows;
       r += (long long)gridDim.x * kWarpsPerBlock) {
    const T* xr = x + r * L;
    T* yr = y + r * L;
    T m = -std::numeric_limits<T>::infinity();
    for (long long l = lane; l < L; l += 32) m = xr[l] > m ? xr[l] : m;
    m = warp_max(m);
    T s = 0;
    for (long long l = lane; l < L; l += 32) s += exp(xr[l] - m);
    s = warp_sum(s);
    if (kLog) {
      const T shift = m + log(s);
      for (long long l = lane; l < L; l += 32) yr[l] = xr[l] - shift;
    } else {
      const T inv = T(1) / s;
      for (long long l = lane; l < L; l += 32) yr[l] = exp(xr[l] - m) * inv;
    }
  }
}

// One thread per (outer, inner) position of [outer, L, inner], walking the axis.
template <class T, bool kLog>
__global__ void softmax_strided_forward_kernel(const T* x,  // [outer, L, inner]
                                               T* y,        // [outer, L, inner]
                                               long long outer, long long L, long long inner) {
  for (long long t = blockIdx.x * (long long)blockDim.x + threadIdx.x; t < outer * inner;
       t += (long long)gridDim.x * blockDim.x) {
    const long long base = (t / inner) * L * inner + t % inner;
    T m = -std::numeric_limits<T>::infinity();
    for (long long l = 0; l < L; ++l) m = x[base + l * inner] > m ? x[base + l * inner] : m;
    T s = 0;
    for (long long l = 0; l < L; ++l) s += exp(x[base + l * inner] - m);
    if (kLog) {
      const T shift = m + log(s);
      for (long long l = 0; l < L; ++l) y[base + l * inner] = x[base + l * inner] - shift;
    } else {
      const T inv = T(1) / s;
      for (long long l = 0; l < L; ++l) y[base + l * inner] = exp(x[base + l * inner] - m) * inv;
    }
  }
}

// softmax: dx += y (g − Σ g y);  log_softmax: dx += g − exp(y) Σ g.
template <class T, bool kLog>
__global__ void softmax_rows_backward_kernel(const T* y,  // [rows, L] forward output
                                             const T* g,  // [rows, L]
                                             T* dx,       // [rows, L] accumulated
                                             long long rows, long long L) {
  const int lane = threadIdx.x & 31;
  for (long long r = (blockIdx.x * (long long)blockDim.x + threadIdx.x) / 32; r < rows;
       r += (long long)gridDim.x * kWarpsPerBlock) {
    const T* yr = y + r * L;
    const T* gr = g + r * L;
    T* dr = dx + r * L;
    T dot = 0;
    for (long long l = lane; l < L; l += 32) dot += kLog ? gr[l] : gr[l] * yr[l];
    dot = warp_sum(dot);
    for (long long l = lane; l < L; l += 32)
      dr[l] += kLog ? gr[l] - exp(yr[l]) * dot : yr[l] * (gr[l] - dot);
  }
}

template <class T, bool kLog>
__global__ void softmax_strided_backward_kernel(const T* y,  // [outer, L, inner]
                                                const T* g,  // [outer, L, inner]
                                                T* dx,       // [outer, L, inner] accumulated
                                                long long outer, long long L, long long inner) {
  for (long long t = blockIdx.x * (long long)blockDim.x + threadIdx.x; t < outer * inner;
       t += (long long)gridDim.x * blockDim.x) {
    const long long base = (t / inner) * L * inner + t % inner;
    T dot = 0;
    for (long long l = 0; l < L; ++l) {
      const long long k = base + l * inner;
      dot += kLog ? g[k] : g[k] * y[k];
    }
    for (long long l = 0; l < L; ++l) {
      const long long k = base + l * inner;
      dx[k] += kLog ? g[k] - exp(y[k]) * dot : y[k] * (g[k] - dot);
    }
  }
}

// One warp per sample: probabilities, the per-sample loss, and an error flag for a label outside
// [0, C) (whose loss is NaN, so a bad label poisons the mean instead of reading out of bounds).
template <class T, class I>
__global__ void cross_entropy_rows_kernel(const T* x,       // [B, C] logits
                                          const I* labels,  // [B]
                                          T* probs,         // [B, C] saved for backward
                                          T* loss,          // [B] per-sample loss
                                          int* bad,         // [B] 1 where the label is invalid
                                          long long B, long long C) {
  const int lane = threadIdx.x & 31;
  for (long long b = (blockIdx.x * (long long)blockDim.x + threadIdx.x) / 32; b < B;
       b += (long long)gridDim.x * kWarpsPerBlock) {
    const T* xr = x + b * C;
    T* pr = probs + b * C;
    T m = -std::numeric_limits<T>::infinity();
    for (long long l = lane; l < C; l += 32) m = xr[l] > m ? xr[l] : m;
    m = warp_max(m);
    T s = 0;
    for (long long l = lane; l < C; l += 32) s += exp(xr[l] - m);
    s = warp_sum(s);
    const T inv = T(1) / s;
    for (long long l = lane; l < C; l += 32) pr[l] = exp(xr[l] - m) * inv;
    if (lane == 0) {
      const long long y = static_cast<long long>(labels[b]);
      const bool ok = y >= 0 && y < C;
      bad[b] = ok ? 0 : 1;
      loss[b] = ok ? log(s) + m - xr[y] : std::numeric_limits<T>::quiet_NaN();
    }
  }
}

// out[0] = Σ v / n, one block: each thread sums a fixed strided slice, then a fixed shared tree.
template <class T>
__global__ void mean_reduce_kernel(const T* v,  // [n]
                                   T* out,      // [1]
                                   long long n) {
  __shared__ T buf[kBlock];
  T s = 0;
  for (long long i = threadIdx.x; i < n; i += kBlock) s += v[i];
  buf[threadIdx.x] = s;
  __syncthreads();
  for (int w = kBlock / 2; w > 0; w >>= 1) {
    if (static_cast<int>(threadIdx.x) < w) buf[threadIdx.x] += buf[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) out[0] = buf[0] / static_cast<T>(n);
}

// dx += (g / B) (p − onehot(label)); rows with an invalid label get NaN.
template <class T, class I>
__global__ void cross_entropy_backward_kernel(const T* probs,   // [B, C]
                                              const I* labels,  // [B]
                                              const T* g,       // [1]
                                              T* dx,            // [B, C] accumulated
                                              long long B, long long C) {
  const T scale = g[0] / static_cast<T>(B);
  for (long long t = blockIdx.x * (long long)blockDim.x + threadIdx.x; t < B * C;
       t += (long long)gridDim.x * blockDim.x) {
    const long long b = t / C, k = t % C;
    const long long y = static_cast<long long>(labels[b]);
    if (y < 0 || y >= C) {
      dx[t] += std::numeric_limits<T>::quiet_NaN();
    } else {
      dx[t] += scale * (probs[t] - (k == y ? T(1) : T(0)));
    }
  }
}

template <bool kLog>
void softmax_forward_impl(OpCall& c, const char* op) {
  const Tensor& x = *c.in[0];
  const AxisSplit s = split_axis(x.shape(), normalize_axis(op, c.attrs.ints.at(0), x.shape()));
  if (x.numel() == 0) return;
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), op, [&] {
    if (s.inner == 1) {
      softmax_rows_forward_kernel<scalar_t, kLog><<<warp_grid(s.outer), kBlock>>>(
          x.data<scalar_t>(), c.out->data<scalar_t>(), s.outer, s.len);
    } else {
      softmax_strided_forward_kernel<scalar_t, kLog><<<grid_for(s.outer * s.inner), kBlock>>>(
          x.data<scalar_t>(), c.out->data<scalar_t>(), s.outer, s.len, s.inner);
    }
  });
  DIFFLUT_CUDA_LAUNCH_CHECK();
}

template <bool kLog>
void softmax_backward_impl(OpCall& c, const char* op) {
  if (!c.grad_in[0]) return;
  const Tensor& x = *c.in[0];
  const AxisSplit s = split_axis(x.shape(), normalize_axis(op, c.attrs.ints.at(0), x.shape()));
  if (x.numel() == 0) return;
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), op, [&] {
    const scalar_t* y = c.out->data<scalar_t>();
    const scalar_t* g = c.grad_out->data<scalar_t>();
    scalar_t* dx = c.grad_in[0]->data<scalar_t>();
    if (s.inner == 1) {
      softmax_rows_backward_kernel<scalar_t, kLog>
          <<<warp_grid(s.outer), kBlock>>>(y, g, dx, s.outer, s.len);
    } else {
      softmax_strided_backward_kernel<scalar_t, kLog>
          <<<grid_for(s.outer * s.inner), kBlock>>>(y, g, dx, s.outer, s.len, s.inner);
    }
  });
  DIFFLUT_CUDA_LAUNCH_CHECK();
}

}  // namespace

void softmax_forward_cuda(OpCall& c) { softmax_forward_impl<false>(c, "softmax"); }
void softmax_backward_cuda(OpCall& c) { softmax_backward_impl<false>(c, "softmax"); }
void log_softmax_forward_cuda(OpCall& c) { softmax_forward_impl<true>(c, "log_softmax"); }
void log_softmax_backward_cuda(OpCall& c) { softmax_backward_impl<true>(c, "log_softmax"); }

// No host synchronisation: invalid labels set a per-sample flag and make the loss NaN. With
// DIFFLUT_SYNC_DEBUG=1 the flags are read back here and an invalid label throws the CPU's Error.
void cross_entropy_forward_cuda(OpCall& c) {
  const Tensor& x = *c.in[0];
  const Tensor& labels = *c.in[1];
  const int64_t B = x.size(0), C = x.size(1);
  Tensor probs = Tensor::empty({B, C}, x.dtype(), Device::cuda);
  Tensor bad = Tensor::empty({B}, DType::i32, Device::cuda);
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "cross_entropy", [&] {
    Tensor loss = Tensor::empty({B}, x.dtype(), Device::cuda);
    DIFFLUT_DISPATCH_INDEX(labels.dtype(), "cross_entropy", [&] {
      cross_entropy_rows_kernel<scalar_t, index_t><<<warp_grid(B), kBlock>>>(
          x.data<scalar_t>(), labels.data<index_t>(), probs.data<scalar_t>(), loss.data<scalar_t>(),
          bad.data<int32_t>(), B, C);
    });
    DIFFLUT_CUDA_LAUNCH_CHECK();
    mean_reduce_kernel<scalar_t><<<1, kBlock>>>(loss.data<scalar_t>(), c.out->data<scalar_t>(), B);
    DIFFLUT_CUDA_LAUNCH_CHECK();
  });
  if (cuda_sync_debug()) {
    const std::vector<int32_t> flags = bad.to_vector<int32_t>();
    for (int64_t b = 0; b < B; ++b) {
      if (!flags[static_cast<size_t>(b)]) continue;
      const int64_t y = DIFFLUT_DISPATCH_INDEX(labels.dtype(), "cross_entropy", [&] {
        return static_cast<int64_t>(labels.to_vector<index_t>()[static_cast<size_t>(b)]);
      });
      DIFFLUT_FAIL("cross_entropy: label of batch element ", b, " is ", y,
                   ", expected a class in [0, ", C, ")");
    }
  }
  c.saved.push_back(probs);
}

void cross_entropy_backward_cuda(OpCall& c) {
  if (!c.grad_in[0]) return;
  const Tensor& x = *c.in[0];
  const Tensor& labels = *c.in[1];
  const int64_t B = x.size(0), C = x.size(1);
  if (B * C == 0) return;
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "cross_entropy", [&] {
    DIFFLUT_DISPATCH_INDEX(labels.dtype(), "cross_entropy", [&] {
      cross_entropy_backward_kernel<scalar_t, index_t><<<grid_for(B * C), kBlock>>>(
          c.saved.at(0).data<scalar_t>(), labels.data<index_t>(), c.grad_out->data<scalar_t>(),
          c.grad_in[0]->data<scalar_t>(), B, C);
    });
  });
  DIFFLUT_CUDA_LAUNCH_CHECK();
}

}  // namespace difflut
