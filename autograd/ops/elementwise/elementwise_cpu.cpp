// CPU kernels of the elementwise family. Binary maps walk the output in contiguous runs along the
// innermost collapsed dim, where each operand's stride is 1 or 0; both are template parameters, so
// the inner loops are plain vectorisable loops (same shape, row, column and scalar broadcasts all
// land here). Every output element is written by one thread, so results do not depend on threads.
#include <algorithm>

#include "autograd/ops/elementwise/elementwise_kernels.h"
#include "autograd/ops/reduce/reduce_kernels.h"
#include "tensor/cpu_clones.h"
#include "tensor/parallel.h"

namespace difflut {

namespace {
constexpr int64_t kGrain = 1 << 15;

// The hot loop: one clone per instruction set (tensor/cpu_clones.h).
template <bool A1, bool B1, bool HasG, bool Acc, class T, class F>
DIFFLUT_CPU_CLONES void map_run(F f,
                                const T* g,  // [n] output-shaped gradient (HasG)
                                const T* a,  // operand a, read from offset oa with stride A1
                                const T* b,  // operand b, read from offset ob with stride B1
                                T* y,        // [n] output
                                int64_t i, int64_t oa, int64_t ob, int64_t len) {
  for (int64_t j = 0; j < len; ++j) {
    T gv = T(0);
    if constexpr (HasG) gv = g[i + j];
    const T v = f(gv, a[oa + (A1 ? j : 0)], b[ob + (B1 ? j : 0)]);
    if constexpr (Acc)
      y[i + j] += v;
    else
      y[i + j] = v;
  }
}

template <bool HasG, bool Acc, class T, class F>
void map_all(F f, const T* g, const T* a, const T* b, T* y, const BroadcastIndex& bi, int64_t n) {
  const int last = bi.ndim - 1;
  const int64_t inner = bi.size[last];
  const bool a1 = bi.stride_a[last] != 0, b1 = bi.stride_b[last] != 0;
  parallel_for(0, n, kGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi;) {
      const int64_t len = std::min(inner - i % inner, hi - i);
      int64_t oa, ob;
      broadcast_offsets(bi, i, oa, ob);
      if (a1 && b1)
        map_run<true, true, HasG, Acc>(f, g, a, b, y, i, oa, ob, len);
      else if (a1)
        map_run<true, false, HasG, Acc>(f, g, a, b, y, i, oa, ob, len);
      else if (b1)
        map_run<false, true, HasG, Acc>(f, g, a, b, y, i, oa, ob, len);
      else
        map_run<false, false, HasG, Acc>(f, g, a, b, y, i, oa, ob, len);
      i += len;
    }
  });
}

}  // namespace

void binary_map_cpu(BinaryFn fn, const Tensor* g, const Tensor& a, const Tensor& b, Tensor& y,
                    bool accumulate) {
  const int64_t n = y.numel();
  if (n == 0) return;
  const BroadcastIndex bi = make_broadcast_index(y.shape(), a.shape(), b.shape());
  binary_map_dispatch(fn, g, a, b, y, accumulate,
                      [&](auto has_g, auto acc, auto f, auto gp, auto ap, auto bp, auto yp) {
                        map_all<decltype(has_g)::value, decltype(acc)::value>(f, gp, ap, bp, yp, bi,
                                                                              n);
                      });
}

void unary_forward_cpu(UnaryFn op, const Tensor& x, Tensor& y, double p0, double p1) {
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "unary op", [&] {
    const scalar_t* xp = x.data<scalar_t>();
    scalar_t* yp = y.data<scalar_t>();
    dispatch_unary_fn<scalar_t>(op, p0, p1, [&](auto f) {
      parallel_for(0, x.numel(), kGrain, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) yp[i] = f.fwd(xp[i]);
      });
    });
  });
}

void unary_backward_cpu(UnaryFn op, const Tensor& x, const Tensor& y, const Tensor& g, Tensor& gx,
                        double p0, double p1) {
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "unary op", [&] {
    const scalar_t* xp = x.data<scalar_t>();
    const scalar_t* yp = y.data<scalar_t>();
    const scalar_t* gp = g.data<scalar_t>();
    scalar_t* gxp = gx.data<scalar_t>();
    dispatch_unary_fn<scalar_t>(op, p0, p1, [&](auto f) {
      parallel_for(0, x.numel(), kGrain, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) gxp[i] += f.bwd(xp[i], yp[i], gp[i]);
      });
    });
  });
}

// --- op kernels -------------------------------------------------------------------------------
DIFFLUT_ELEMENTWISE_OP_KERNELS(cpu)

void relu_forward_cpu(OpCall& c) {
  const Tensor& x = *c.in[0];
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "relu", [&] {
    const scalar_t* xp = x.data<scalar_t>();
    scalar_t* yp = c.out->data<scalar_t>();
    parallel_for(0, x.numel(), kGrain, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) yp[i] = xp[i] > 0 ? xp[i] : scalar_t(0);
    });
  });
}

void relu_backward_cpu(OpCall& c) {
  if (!c.grad_in[0]) return;
  const Tensor& x = *c.in[0];
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "relu", [&] {
    const scalar_t* xp = x.data<scalar_t>();
    const scalar_t* gy = c.grad_out->data<scalar_t>();
    scalar_t* gx = c.grad_in[0]->data<scalar_t>();
    parallel_for(0, x.numel(), kGrain, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) gx[i] += xp[i] > 0 ? gy[i] : scalar_t(0);
    });
  });
}

}  // namespace difflut
