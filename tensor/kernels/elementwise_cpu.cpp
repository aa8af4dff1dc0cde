// CPU kernels of the elementwise family.
#include "tensor/kernels/elementwise_kernels.h"
#include "tensor/parallel.h"

namespace difflut {

void relu_forward_cpu(OpCall& c) {
  const Tensor& x = *c.in[0];
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "relu", [&] {
    const scalar_t* xp = x.data<scalar_t>();
    scalar_t* yp = c.out->data<scalar_t>();
    parallel_for(0, x.numel(), 1 << 15, [&](int64_t lo, int64_t hi) {
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
    parallel_for(0, x.numel(), 1 << 15, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) gx[i] += xp[i] > 0 ? gy[i] : scalar_t(0);
    });
  });
}

}  // namespace difflut
