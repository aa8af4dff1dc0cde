// CUDA kernels of the shape family. Transpose goes through a padded shared-memory tile so both the
// read and the write are coalesced; gather's backward walks a CSR inverse of the index so each
// input gradient element has exactly one owning thread (no atomics, bit-reproducible).
#include <limits>

#include "autograd/ops.h"
#include "autograd/ops/shape/shape_kernels.h"
#include "tensor/cuda_utils.h"

namespace difflut {
namespace {

constexpr int kBlock = 256;
constexpr int kTile = 32;     // transpose tile edge
constexpr int kTileRows = 8;  // a 32x8 thread block walks a 32x32 tile in 4 steps

template <class T>
__global__ void add_kernel(const T* g,  // [n]
                           T* d,        // [n] accumulated
                           long long n) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x)
    d[i] += g[i];
}

// dst [C, R] (+)= src [R, C]ᵀ. Block (bx, by) moves the tile at src rows by*32.., cols bx*32..;
// the +1 column of padding keeps the transposed shared-memory reads free of bank conflicts.
template <class T>
__global__ void transpose_kernel(const T* src,  // [R, C]
                                 T* dst,        // [C, R]
                                 long long R, long long C, bool accumulate) {
  __shared__ T tile[kTile][kTile + 1];
  const long long c0 = (long long)blockIdx.x * kTile, r0 = (long long)blockIdx.y * kTile;
  for (int k = threadIdx.y; k < kTile; k += kTileRows) {
    const long long r = r0 + k, col = c0 + threadIdx.x;
    if (r < R && col < C) tile[k][threadIdx.x] = src[r * C + col];
  }
  __syncthreads();
  for (int k = threadIdx.y; k < kTile; k += kTileRows) {
    const long long col = c0 + k, r = r0 + threadIdx.x;  // dst row = src col
    if (r < R && col < C) {
      const T v = tile[threadIdx.x][k];
      dst[col * R + r] = accumulate ? dst[col * R + r] + v : v;
    }
  }
}

// dst[o, dst_off + l, i] (+)= src[o, src_off + l, i] for l < len.
template <class T>
__global__ void copy_axis_block_kernel(const T* src,  // [outer, src_len, inner]
                                       T* dst,        // [outer, dst_len, inner]
                                       long long src_len, long long src_off, long long dst_len,
                                       long long dst_off, long long outer, long long len,
                                       long long inner, bool accumulate) {
  const long long run = len * inner;
  for (long long t = blockIdx.x * (long long)blockDim.x + threadIdx.x; t < outer * run;
       t += (long long)gridDim.x * blockDim.x) {
    const long long o = t / run, r = t % run;
    const T v = src[(o * src_len + src_off) * inner + r];
    T& d = dst[(o * dst_len + dst_off) * inner + r];
    d = accumulate ? d + v : v;
  }
}

// out[b, m] = x[b, index[m]]; an index outside [0, F) (possible only with a caller-supplied CSR,
// which skips the host check) yields NaN instead of an out-of-bounds read.
template <class T, class I>
__global__ void gather_forward_kernel(const T* x,      // [B, F]
                                      const I* index,  // [M]
                                      T* out,          // [B, M]
                                      long long B, long long F, long long M) {
  for (long long t = blockIdx.x * (long long)blockDim.x + threadIdx.x; t < B * M;
       t += (long long)gridDim.x * blockDim.x) {
    const long long b = t / M, m = t % M;
    const long long f = static_cast<long long>(index[m]);
    out[t] = (f >= 0 && f < F) ? x[b * F + f] : std::numeric_limits<T>::quiet_NaN();
  }
}

// dx[b, f] += Σ_{p in [off[f], off[f+1])} g[b, pos[p]], one thread per (b, f), in CSR order.
template <class T>
__global__ void gather_backward_kernel(const T* g,      // [B, M]
                                       const int* off,  // [F + 1]
                                       const int* pos,  // [M]
                                       T* dx,           // [B, F] accumulated
                                       long long B, long long F, long long M) {
  for (long long t = blockIdx.x * (long long)blockDim.x + threadIdx.x; t < B * F;
       t += (long long)gridDim.x * blockDim.x) {
    const long long b = t / F, f = t % F;
    const T* gb = g + b * M;
    T s = 0;
    for (int p = off[f]; p < off[f + 1]; ++p) s += gb[pos[p]];
    dx[t] += s;
  }
}

template <class T>
void transpose_cuda(const T* src, T* dst, int64_t R, int64_t C, bool accumulate) {
  if (R == 0 || C == 0) return;
  const long long gx = (C + kTile - 1) / kTile, gy = (R + kTile - 1) / kTile;
  DIFFLUT_CHECK(gy <= 65535, "transpose: ", R, " rows exceed the CUDA grid limit");
  transpose_kernel<T>
      <<<dim3(static_cast<unsigned>(gx), static_cast<unsigned>(gy)), dim3(kTile, kTileRows)>>>(
          src, dst, R, C, accumulate);
  DIFFLUT_CUDA_LAUNCH_CHECK();
}

}  // namespace

void copy_axis_block_cuda(const Tensor& src, int64_t src_len, int64_t src_off, Tensor& dst,
                          int64_t dst_len, int64_t dst_off, int64_t outer, int64_t len,
                          int64_t inner, bool accumulate) {
  const long long n = outer * len * inner;
  if (n == 0) return;
  DIFFLUT_DISPATCH_ALL(src.dtype(), "copy_axis_block", [&] {
    copy_axis_block_kernel<scalar_t>
        <<<grid_for(n), kBlock>>>(src.data<scalar_t>(), dst.data<scalar_t>(), src_len, src_off,
                                  dst_len, dst_off, outer, len, inner, accumulate);
  });
  DIFFLUT_CUDA_LAUNCH_CHECK();
}

void reshape_forward_cuda(OpCall& c) { *c.out = c.in[0]->reshape(c.out->shape()); }

void reshape_backward_cuda(OpCall& c) {
  if (!c.grad_in[0]) return;
  const long long n = c.grad_out->numel();
  if (n == 0) return;
  DIFFLUT_DISPATCH_FLOAT(c.grad_out->dtype(), "reshape", [&] {
    add_kernel<scalar_t>
        <<<grid_for(n), kBlock>>>(c.grad_out->data<scalar_t>(), c.grad_in[0]->data<scalar_t>(), n);
  });
  DIFFLUT_CUDA_LAUNCH_CHECK();
}

void transpose_forward_cuda(OpCall& c) {
  const Tensor& x = *c.in[0];
  DIFFLUT_DISPATCH_ALL(x.dtype(), "transpose", [&] {
    transpose_cuda<scalar_t>(x.data<scalar_t>(), c.out->data<scalar_t>(), x.size(0), x.size(1),
                             false);
  });
}

void transpose_backward_cuda(OpCall& c) {
  if (!c.grad_in[0]) return;
  const Tensor& g = *c.grad_out;  // [N, M]
  DIFFLUT_DISPATCH_FLOAT(g.dtype(), "transpose", [&] {
    transpose_cuda<scalar_t>(g.data<scalar_t>(), c.grad_in[0]->data<scalar_t>(), g.size(0),
                             g.size(1), true);
  });
}

void concat_forward_cuda(OpCall& c) { concat_forward_with(c, copy_axis_block_cuda); }
void concat_backward_cuda(OpCall& c) { concat_backward_with(c, copy_axis_block_cuda); }
void slice_forward_cuda(OpCall& c) { slice_forward_with(c, copy_axis_block_cuda); }
void slice_backward_cuda(OpCall& c) { slice_backward_with(c, copy_axis_block_cuda); }

// Without a supplied CSR inverse this builds one on the host (a documented host read of the index,
// which also validates it). With one supplied there is no host read unless DIFFLUT_SYNC_DEBUG=1,
// which validates the index on the host.
void gather_forward_cuda(OpCall& c) {
  const Tensor& x = *c.in[0];
  const Tensor& index = c.attrs.tensors.at(0);
  const int64_t B = x.size(0), F = x.size(1), M = index.numel();
  if (c.attrs.tensors.size() == 1) {
    GatherInverse inv = make_gather_inverse(index, F, Device::cuda);
    c.saved.push_back(inv.offsets);
    c.saved.push_back(inv.positions);
  } else if (cuda_sync_debug()) {
    DIFFLUT_DISPATCH_INDEX(index.dtype(), "gather", [&] {
      const std::vector<index_t> v = index.to_vector<index_t>();
      for (size_t m = 0; m < v.size(); ++m)
        DIFFLUT_CHECK(v[m] >= 0 && v[m] < F, "gather: index[", m, "] = ", v[m], " is outside [0, ",
                      F, ") for input ", x.describe());
    });
  }
  if (B * M == 0) return;
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "gather", [&] {
    DIFFLUT_DISPATCH_INDEX(index.dtype(), "gather", [&] {
      gather_forward_kernel<scalar_t, index_t><<<grid_for(B * M), kBlock>>>(
          x.data<scalar_t>(), index.data<index_t>(), c.out->data<scalar_t>(), B, F, M);
    });
  });
  DIFFLUT_CUDA_LAUNCH_CHECK();
}

void gather_backward_cuda(OpCall& c) {
  if (!c.grad_in[0]) return;
  const Tensor& x = *c.in[0];
  const int64_t B = x.size(0), F = x.size(1), M = c.out->size(1);
  if (B * F == 0) return;
  const GatherCsr csr = gather_csr(c);
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "gather", [&] {
    gather_backward_kernel<scalar_t><<<grid_for(B * F), kBlock>>>(
        c.grad_out->data<scalar_t>(), csr.offsets->data<int32_t>(), csr.positions->data<int32_t>(),
        c.grad_in[0]->data<scalar_t>(), B, F, M);
  });
  DIFFLUT_CUDA_LAUNCH_CHECK();
}

}  // namespace difflut
