// Device-independent rows of the elementwise family, written once over device primitives: the
// backward of the broadcasting binary ops (map, sum_to_shape) and the unary ops' OpCall unpacking.
#include "autograd/ops/elementwise/elementwise_kernels.h"

namespace difflut {

namespace {
// The local gradient is just ±g: the reduction can read grad_out directly, no temporary needed.
bool passes_grad(BinaryFn fn, double& sign) {
  switch (fn) {
    case BinaryFn::add_grad_a:
    case BinaryFn::add_grad_b:
    case BinaryFn::sub_grad_a: sign = 1.0; return true;
    case BinaryFn::sub_grad_b: sign = -1.0; return true;
    default: return false;
  }
}
}  // namespace

void binary_backward(OpCall& c, BinaryFn grad_a, BinaryFn grad_b, BinaryMapFn map,
                     SumToShapeFn sum_to_shape) {
  const Tensor& a = *c.in[0];
  const Tensor& b = *c.in[1];
  const Tensor& g = *c.grad_out;
  for (int side = 0; side < 2; ++side) {
    Tensor* gx = c.grad_in[static_cast<size_t>(side)];
    if (!gx) continue;
    const BinaryFn fn = side == 0 ? grad_a : grad_b;
    if (gx->numel() == g.numel()) {
      // Same layout as the output (shapes may differ only by leading or inner 1s): one map.
      Tensor view = gx->reshape(g.shape());
      map(fn, &g, a, b, view, /*accumulate=*/true);
      continue;
    }
    double sign = 1.0;
    if (passes_grad(fn, sign)) {
      sum_to_shape(g, *gx, sign, /*accumulate=*/true);
    } else {
      Tensor local = Tensor::empty(g.shape(), g.dtype(), g.device());
      map(fn, &g, a, b, local, /*accumulate=*/false);
      sum_to_shape(local, *gx, 1.0, /*accumulate=*/true);
    }
  }
}

void unary_forward(OpCall& c, UnaryFn op, UnaryForwardFn forward) {
  const std::vector<double>& p = c.attrs.floats;
  forward(op, *c.in[0], *c.out, p.empty() ? 0.0 : p[0], p.size() > 1 ? p[1] : 0.0);
}

void unary_backward(OpCall& c, UnaryFn op, UnaryBackwardFn backward) {
  if (!c.grad_in[0]) return;
  const std::vector<double>& p = c.attrs.floats;
  backward(op, *c.in[0], *c.out, *c.grad_out, *c.grad_in[0], p.empty() ? 0.0 : p[0],
           p.size() > 1 ? p[1] : 0.0);
}

}  // namespace difflut
