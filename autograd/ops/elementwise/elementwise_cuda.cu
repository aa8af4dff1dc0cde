// CUDA kernels of the elementwise family: grid-stride loops, one thread per output element. The
// broadcast index math is specialised by the collapsed rank: 1-D (same shape, scalar) needs one
// multiply per operand, 2-D (row / column broadcasts) one division, anything else the general walk.
#include "autograd/ops/elementwise/elementwise_kernels.h"
#include "autograd/ops/reduce/reduce_kernels.h"
#include "tensor/cuda_utils.h"

namespace difflut {
namespace {

constexpr int kBlock = 256;

// Kind: 0 = collapsed 1-D, 1 = collapsed 2-D, 2 = general.
template <class T, class F, int Kind, bool HasG, bool Acc>
__global__ void binary_map_kernel(F f,
                                  const T* g,  // [n] output-shaped gradient (HasG) or null
                                  const T* a,  // operand a, broadcast by bi
                                  const T* b,  // operand b, broadcast by bi
                                  T* y,        // [n] output
                                  BroadcastIndex bi, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    int64_t oa, ob;
    if constexpr (Kind == 0) {
      oa = i * bi.stride_a[0];
      ob = i * bi.stride_b[0];
    } else if constexpr (Kind == 1) {
      const int64_t r = i / bi.size[1], c = i - r * bi.size[1];
      oa = r * bi.stride_a[0] + c * bi.stride_a[1];
      ob = r * bi.stride_b[0] + c * bi.stride_b[1];
    } else {
      broadcast_offsets(bi, i, oa, ob);
    }
    T gv = T(0);
    if constexpr (HasG) gv = g[i];
    const T v = f(gv, a[oa], b[ob]);
    if constexpr (Acc)
      y[i] += v;
    else
      y[i] = v;
  }
}

template <bool HasG, bool Acc, class T, class F>
void launch_map(F f, const T* g, const T* a, const T* b, T* y, const BroadcastIndex& bi,
                int64_t n) {
  const unsigned grid = grid_for(n, kBlock);
  if (bi.ndim == 1)
    binary_map_kernel<T, F, 0, HasG, Acc><<<grid, kBlock>>>(f, g, a, b, y, bi, n);
  else if (bi.ndim == 2)
    binary_map_kernel<T, F, 1, HasG, Acc><<<grid, kBlock>>>(f, g, a, b, y, bi, n);
  else
    binary_map_kernel<T, F, 2, HasG, Acc><<<grid, kBlock>>>(f, g, a, b, y, bi, n);
  DIFFLUT_CUDA_LAUNCH_CHECK();
}

template <class T, class F>
__global__ void unary_forward_kernel(F f,
                                     const T* x,  // [n]
                                     T* y,        // [n]
                                     int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    y[i] = f.fwd(x[i]);
}

template <class T, class F>
__global__ void unary_backward_kernel(F f,
                                      const T* x,   // [n]
                                      const T* y,   // [n] forward output
                                      const T* gy,  // [n]
                                      T* gx,        // [n] accumulated
                                      int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    gx[i] += f.bwd(x[i], y[i], gy[i]);
}

template <class T>
__global__ void relu_forward_kernel(const T* x,  // [n]
                                    T* y,        // [n]
                                    int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    y[i] = x[i] > T(0) ? x[i] : T(0);
}

template <class T>
__global__ void relu_backward_kernel(const T* x,   // [n]
                                     const T* gy,  // [n]
                                     T* gx,        // [n] accumulated
                                     int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    gx[i] += x[i] > T(0) ? gy[i] : T(0);
}

}  // namespace

void binary_map_cuda(BinaryFn fn, const Tensor* g, const Tensor& a, const Tensor& b, Tensor& y,
                     bool accumulate) {
  const int64_t n = y.numel();
  if (n == 0) return;
  const BroadcastIndex bi = make_broadcast_index(y.shape(), a.shape(), b.shape());
  binary_map_dispatch(fn, g, a, b, y, accumulate,
                      [&](auto has_g, auto acc, auto f, auto gp, auto ap, auto bp, auto yp) {
                        launch_map<decltype(has_g)::value, decltype(acc)::value>(f, gp, ap, bp, yp,
                                                                                 bi, n);
                      });
}

void unary_forward_cuda(UnaryFn op, const Tensor& x, Tensor& y, double p0, double p1) {
  const int64_t n = x.numel();
  if (n == 0) return;
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "unary op", [&] {
    dispatch_unary_fn<scalar_t>(op, p0, p1, [&](auto f) {
      unary_forward_kernel<<<grid_for(n, kBlock), kBlock>>>(f, x.data<scalar_t>(),
                                                            y.data<scalar_t>(), n);
    });
  });
  DIFFLUT_CUDA_LAUNCH_CHECK();
}

void unary_backward_cuda(UnaryFn op, const Tensor& x, const Tensor& y, const Tensor& g, Tensor& gx,
                         double p0, double p1) {
  const int64_t n = x.numel();
  if (n == 0) return;
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "unary op", [&] {
    dispatch_unary_fn<scalar_t>(op, p0, p1, [&](auto f) {
      unary_backward_kernel<<<grid_for(n, kBlock), kBlock>>>(
          f, x.data<scalar_t>(), y.data<scalar_t>(), g.data<scalar_t>(), gx.data<scalar_t>(), n);
    });
  });
  DIFFLUT_CUDA_LAUNCH_CHECK();
}

// --- op kernels -------------------------------------------------------------------------------
DIFFLUT_ELEMENTWISE_OP_KERNELS(cuda)

void relu_forward_cuda(OpCall& c) {
  const Tensor& x = *c.in[0];
  const int64_t n = x.numel();
  if (n == 0) return;
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "relu", [&] {
    relu_forward_kernel<<<grid_for(n, kBlock), kBlock>>>(x.data<scalar_t>(),
                                                         c.out->data<scalar_t>(), n);
  });
  DIFFLUT_CUDA_LAUNCH_CHECK();
}

void relu_backward_cuda(OpCall& c) {
  if (!c.grad_in[0]) return;
  const Tensor& x = *c.in[0];
  const int64_t n = x.numel();
  if (n == 0) return;
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "relu", [&] {
    relu_backward_kernel<<<grid_for(n, kBlock), kBlock>>>(
        x.data<scalar_t>(), c.grad_out->data<scalar_t>(), c.grad_in[0]->data<scalar_t>(), n);
  });
  DIFFLUT_CUDA_LAUNCH_CHECK();
}

}  // namespace difflut
