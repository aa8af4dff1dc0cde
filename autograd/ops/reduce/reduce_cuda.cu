// CUDA kernels of the reduction family, in the [O, R, I] -> [O, I] form. Row reductions (I = 1) use
// a warp per row (R <= 1024) or a block per row, each with a fixed-order tree (shuffles / shared
// memory); column reductions (I > 1) use a thread per output walking r in order, coalesced across i.
// When there are too few outputs to fill the GPU, the axis is cut into segments whose length depends
// only on the shape, partials are written, and a second pass adds them in order. No atomics, so a
// given shape always reduces in the same order: results are bit-reproducible.
#include <algorithm>
#include <limits>

#include "autograd/ops/broadcast.h"
#include "autograd/ops/reduce/reduce_kernels.h"
#include "tensor/cuda_utils.h"

namespace difflut {
namespace {

constexpr int kBlock = 256;
constexpr int kWarp = 32;
constexpr int64_t kWarpRowMax = 1024;        // rows up to this length: a warp per row
constexpr int64_t kRowSegment = 8192;        // segment length when a few long rows are split
constexpr int64_t kTargetOutputs = 1 << 17;  // outputs wanted in flight for column reductions

template <class T>
__device__ inline void store(T* d, T v, T scale, bool accumulate) {
  v *= scale;
  *d = accumulate ? *d + v : v;
}

// One warp per row: lane l sums r = l, l + 32, ...; then a shuffle tree (fixed order).
template <class T>
__global__ void sum_rows_warp_kernel(const T* src,  // [O, R]
                                     T* dst,        // [O]
                                     int64_t O, int64_t R, T scale, bool accumulate) {
  const int lane = threadIdx.x % kWarp;
  const int64_t warps = (int64_t)gridDim.x * blockDim.x / kWarp;
  for (int64_t o = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) / kWarp; o < O; o += warps) {
    const T* p = src + o * R;
    T s = T(0);
    for (int64_t r = lane; r < R; r += kWarp) s += p[r];
    for (int off = kWarp / 2; off > 0; off >>= 1) s += __shfl_down_sync(0xffffffffu, s, off);
    if (lane == 0) store(dst + o, s, scale, accumulate);
  }
}

// One block per (row, segment): rows [O, R] cut into nseg segments of seg_len; output [O, nseg].
// Thread t sums positions t, t + 256, ... of its segment; then a shared-memory tree.
template <class T>
__global__ void sum_rows_block_kernel(const T* src,  // [O, R]
                                      T* dst,        // [O, nseg]
                                      int64_t O, int64_t R, int64_t nseg, int64_t seg_len, T scale,
                                      bool accumulate) {
  __shared__ T sh[kBlock];
  for (int64_t q = blockIdx.x; q < O * nseg; q += gridDim.x) {
    const int64_t o = q / nseg, sg = q - o * nseg;
    const int64_t r0 = sg * seg_len, r1 = r0 + seg_len < R ? r0 + seg_len : R;
    const T* p = src + o * R;
    T s = T(0);
    for (int64_t r = r0 + threadIdx.x; r < r1; r += kBlock) s += p[r];
    sh[threadIdx.x] = s;
    __syncthreads();
    for (int w = kBlock / 2; w > 0; w >>= 1) {
      if (threadIdx.x < w) sh[threadIdx.x] += sh[threadIdx.x + w];
      __syncthreads();
    }
    if (threadIdx.x == 0) store(dst + q, sh[0], scale, accumulate);
    __syncthreads();  // sh is reused by the next q
  }
}

// One thread per (o, segment, i): sums r over its segment in order. Output [O, nseg, I].
template <class T>
__global__ void sum_cols_kernel(const T* src,  // [O, R, I]
                                T* dst,        // [O, nseg, I]
                                int64_t O, int64_t R, int64_t I, int64_t nseg, int64_t seg_len,
                                T scale, bool accumulate) {
  const int64_t n = O * nseg * I;
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < n;
       k += (int64_t)gridDim.x * blockDim.x) {
    const int64_t i = k % I, q = k / I, sg = q % nseg, o = q / nseg;
    const int64_t r0 = sg * seg_len, r1 = r0 + seg_len < R ? r0 + seg_len : R;
    const T* p = src + o * R * I + i;
    T s = T(0);
    for (int64_t r = r0; r < r1; ++r) s += p[r * I];
    store(dst + k, s, scale, accumulate);
  }
}

// Several reduced dim groups: one thread per dst element walks its positions in row-major order.
template <class T>
__global__ void sum_general_kernel(const T* src,  // src shape of the plan
                                   T* dst,        // [dst_numel]
                                   ReducePlan p, T scale, bool accumulate) {
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < p.dst_numel;
       k += (int64_t)gridDim.x * blockDim.x) {
    const T* base = src + reduce_kept_offset(p, k);
    T s = T(0);
    for (int64_t j = 0; j < p.reduced_numel; ++j) s += base[reduce_reduced_offset(p, j)];
    store(dst + k, s, scale, accumulate);
  }
}

// gx[o, r, i] += scale * g[o, i]
template <class T>
__global__ void expand_add_kernel(const T* g,  // [O, I]
                                  T* gx,       // [O, R, I] accumulated
                                  int64_t R, int64_t I, int64_t n, T scale) {
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < n;
       k += (int64_t)gridDim.x * blockDim.x) {
    const int64_t i = k % I, o = k / (R * I);
    gx[k] += scale * g[o * I + i];
  }
}

// (v2, i2) should replace (v, i): larger wins, ties go to the smaller index, NaN beats numbers.
template <class T>
__device__ inline bool better(T v2, int64_t i2, T v, int64_t i) {
  const bool n1 = v != v, n2 = v2 != v2;
  if (n1 || n2) return n2 && (!n1 || i2 < i);
  return v2 > v || (v2 == v && i2 < i);
}

// One warp per row: each lane scans its strided positions, then a shuffle tree of (value, index).
template <class T>
__global__ void max_rows_warp_kernel(const T* x,      // [O, R]
                                     T* values,       // [O] or null
                                     int64_t* index,  // [O]
                                     int64_t O, int64_t R) {
  const int lane = threadIdx.x % kWarp;
  const int64_t warps = (int64_t)gridDim.x * blockDim.x / kWarp;
  for (int64_t o = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) / kWarp; o < O; o += warps) {
    const T* p = x + o * R;
    T v = -std::numeric_limits<T>::infinity();
    int64_t idx = R;  // "no element yet": loses every tie against a real position
    for (int64_t r = lane; r < R; r += kWarp)
      if (better(p[r], r, v, idx)) {
        v = p[r];
        idx = r;
      }
    for (int off = kWarp / 2; off > 0; off >>= 1) {
      const T v2 = __shfl_down_sync(0xffffffffu, v, off);
      const int64_t i2 = __shfl_down_sync(0xffffffffu, idx, off);
      if (better(v2, i2, v, idx)) {
        v = v2;
        idx = i2;
      }
    }
    if (lane == 0) {
      if (values) values[o] = v;
      index[o] = idx;
    }
  }
}

// One thread per (o, i): scans r in order, keeping the first maximum.
template <class T>
__global__ void max_cols_kernel(const T* x,      // [O, R, I]
                                T* values,       // [O, I] or null
                                int64_t* index,  // [O, I]
                                int64_t O, int64_t R, int64_t I) {
  const int64_t n = O * I;
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < n;
       k += (int64_t)gridDim.x * blockDim.x) {
    const int64_t i = k % I, o = k / I;
    const T* p = x + o * R * I + i;
    T v = p[0];
    int64_t idx = 0;
    for (int64_t r = 1; r < R; ++r)
      if (better(p[r * I], r, v, idx)) {
        v = p[r * I];
        idx = r;
      }
    if (values) values[k] = v;
    index[k] = idx;
  }
}

// gx[o, index[o, i], i] += g[o, i]; each output owns one distinct input position.
template <class T>
__global__ void max_backward_kernel(const T* g,            // [O, I]
                                    const int64_t* index,  // [O, I]
                                    T* gx,                 // [O, R, I] accumulated
                                    int64_t O, int64_t R, int64_t I) {
  const int64_t n = O * I;
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < n;
       k += (int64_t)gridDim.x * blockDim.x) {
    const int64_t i = k % I, o = k / I;
    gx[(o * R + index[k]) * I + i] += g[k];
  }
}

unsigned warp_grid(int64_t rows) { return grid_for(rows * kWarp, kBlock); }
unsigned block_grid(int64_t items) {
  return static_cast<unsigned>(items < 65535 * 16 ? (items < 1 ? 1 : items) : 65535 * 16);
}

// dst[o, i] (+)= scale * Σ_r src[o, r, i]
template <class T>
void sum_ori(const T* src, T* dst, int64_t O, int64_t R, int64_t I, T scale, bool accumulate,
             DType dt) {
  if (O * I == 0) return;
  if (I == 1) {
    if (R <= kWarpRowMax) {
      sum_rows_warp_kernel<<<warp_grid(O), kBlock>>>(src, dst, O, R, scale, accumulate);
      DIFFLUT_CUDA_LAUNCH_CHECK();
      return;
    }
    const int64_t nseg = (O < 256 && R > 2 * kRowSegment) ? (R + kRowSegment - 1) / kRowSegment : 1;
    if (nseg == 1) {
      sum_rows_block_kernel<<<block_grid(O), kBlock>>>(src, dst, O, R, 1, R, scale, accumulate);
      DIFFLUT_CUDA_LAUNCH_CHECK();
      return;
    }
    Tensor partial = Tensor::empty({O, nseg}, dt, Device::cuda);
    T* pp = static_cast<T*>(partial.raw());
    sum_rows_block_kernel<<<block_grid(O * nseg), kBlock>>>(src, pp, O, R, nseg, kRowSegment, T(1),
                                                            false);
    DIFFLUT_CUDA_LAUNCH_CHECK();
    sum_ori(static_cast<const T*>(pp), dst, O, nseg, 1, scale, accumulate, dt);
    return;
  }
  // Column reduction: split r when O * I outputs alone cannot fill the GPU.
  int64_t seg_len = R, nseg = 1;
  if (O * I < kTargetOutputs && R > 64) {
    const int64_t want = (kTargetOutputs + O * I - 1) / (O * I);  // segments wanted per output
    seg_len = std::max<int64_t>(32, (R + want - 1) / want);
    nseg = (R + seg_len - 1) / seg_len;
  }
  if (nseg == 1) {
    sum_cols_kernel<<<grid_for(O * I, kBlock), kBlock>>>(src, dst, O, R, I, 1, R, scale,
                                                         accumulate);
    DIFFLUT_CUDA_LAUNCH_CHECK();
    return;
  }
  Tensor partial = Tensor::empty({O, nseg, I}, dt, Device::cuda);
  T* pp = static_cast<T*>(partial.raw());
  sum_cols_kernel<<<grid_for(O * nseg * I, kBlock), kBlock>>>(src, pp, O, R, I, nseg, seg_len, T(1),
                                                              false);
  DIFFLUT_CUDA_LAUNCH_CHECK();
  sum_ori(static_cast<const T*>(pp), dst, O, nseg, I, scale, accumulate, dt);
}

void sum_like_forward(OpCall& c, bool mean) {
  const Tensor& x = *c.in[0];
  int64_t O, R, I;
  axis_split(x.shape(), reduce_axis(c), O, R, I);
  if (R == 0) {
    c.out->fill_(mean ? std::numeric_limits<double>::quiet_NaN() : 0.0);  // empty axis
    return;
  }
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), mean ? "mean" : "sum", [&] {
    const scalar_t scale = mean ? scalar_t(1) / static_cast<scalar_t>(R) : scalar_t(1);
    sum_ori(x.data<scalar_t>(), c.out->data<scalar_t>(), O, R, I, scale, false, x.dtype());
  });
}

void sum_like_backward(OpCall& c, bool mean) {
  if (!c.grad_in[0]) return;
  const Tensor& x = *c.in[0];
  const int64_t n = x.numel();
  if (n == 0) return;
  int64_t O, R, I;
  axis_split(x.shape(), reduce_axis(c), O, R, I);
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), mean ? "mean" : "sum", [&] {
    const scalar_t scale = mean ? scalar_t(1) / static_cast<scalar_t>(R) : scalar_t(1);
    expand_add_kernel<<<grid_for(n, kBlock), kBlock>>>(
        c.grad_out->data<scalar_t>(), c.grad_in[0]->data<scalar_t>(), R, I, n, scale);
  });
  DIFFLUT_CUDA_LAUNCH_CHECK();
}

template <class T>
void max_ori(const T* x, T* values, int64_t* index, int64_t O, int64_t R, int64_t I) {
  if (O * I == 0) return;
  if (I == 1)
    max_rows_warp_kernel<<<warp_grid(O), kBlock>>>(x, values, index, O, R);
  else
    max_cols_kernel<<<grid_for(O * I, kBlock), kBlock>>>(x, values, index, O, R, I);
  DIFFLUT_CUDA_LAUNCH_CHECK();
}

}  // namespace

void sum_to_shape_cuda(const Tensor& src, Tensor& dst, double scale, bool accumulate) {
  if (dst.numel() == 0) return;
  if (src.numel() == 0) {
    if (!accumulate) dst.zero_();
    return;
  }
  const ReducePlan p = make_reduce_plan(src.shape(), dst.shape());
  DIFFLUT_ASSERT(p.dst_numel == dst.numel());
  DIFFLUT_DISPATCH_FLOAT(src.dtype(), "sum_to_shape", [&] {
    const scalar_t s = static_cast<scalar_t>(scale);
    if (p.simple) {
      sum_ori(src.data<scalar_t>(), dst.data<scalar_t>(), p.O, p.R, p.I, s, accumulate,
              src.dtype());
    } else {
      sum_general_kernel<<<grid_for(p.dst_numel, kBlock), kBlock>>>(
          src.data<scalar_t>(), dst.data<scalar_t>(), p, s, accumulate);
      DIFFLUT_CUDA_LAUNCH_CHECK();
    }
  });
}

void sum_forward_cuda(OpCall& c) { sum_like_forward(c, false); }
void sum_backward_cuda(OpCall& c) { sum_like_backward(c, false); }
void mean_forward_cuda(OpCall& c) { sum_like_forward(c, true); }
void mean_backward_cuda(OpCall& c) { sum_like_backward(c, true); }

void max_forward_cuda(OpCall& c) {
  const Tensor& x = *c.in[0];
  int64_t O, R, I;
  axis_split(x.shape(), reduce_axis(c), O, R, I);
  Tensor index = Tensor::empty(c.out->shape(), DType::i64, Device::cuda);
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "max", [&] {
    max_ori(x.data<scalar_t>(), c.out->data<scalar_t>(), index.data<int64_t>(), O, R, I);
  });
  c.saved.push_back(index);
}

void max_backward_cuda(OpCall& c) {
  if (!c.grad_in[0]) return;
  const Tensor& x = *c.in[0];
  int64_t O, R, I;
  axis_split(x.shape(), reduce_axis(c), O, R, I);
  if (O * I == 0) return;
  DIFFLUT_ASSERT(c.saved.size() == 1);
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "max", [&] {
    max_backward_kernel<<<grid_for(O * I, kBlock), kBlock>>>(
        c.grad_out->data<scalar_t>(), c.saved[0].data<int64_t>(), c.grad_in[0]->data<scalar_t>(), O,
        R, I);
  });
  DIFFLUT_CUDA_LAUNCH_CHECK();
}

void argmax_forward_cuda(OpCall& c) {
  const Tensor& x = *c.in[0];
  int64_t O, R, I;
  axis_split(x.shape(), reduce_axis(c), O, R, I);
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "argmax", [&] {
    max_ori<scalar_t>(x.data<scalar_t>(), nullptr, c.out->data<int64_t>(), O, R, I);
  });
}

}  // namespace difflut
