// Kernel entry points of the elementwise family, CPU (elementwise_cpu.cpp) and CUDA
// (elementwise_cuda.cu), plus the device-generic primitives they are built from.
#pragma once
#include <type_traits>

#include "autograd/op_def.h"
#include "autograd/ops/elementwise/elementwise_functors.h"

namespace difflut {

// --- primitives -------------------------------------------------------------------------------
// y (+)= f(g, a, b) elementwise over y's shape, which is the broadcast of a's and b's shapes; g is
// null (forward functors) or has y's shape (gradient functors).
void binary_map_cpu(BinaryFn fn, const Tensor* g, const Tensor& a, const Tensor& b, Tensor& y,
                    bool accumulate);
void binary_map_cuda(BinaryFn fn, const Tensor* g, const Tensor& a, const Tensor& b, Tensor& y,
                     bool accumulate);
// y = op.fwd(x) and gx += op.bwd(x, y, g), elementwise over equal shapes.
void unary_forward_cpu(UnaryFn op, const Tensor& x, Tensor& y, double p0, double p1);
void unary_backward_cpu(UnaryFn op, const Tensor& x, const Tensor& y, const Tensor& g, Tensor& gx,
                        double p0, double p1);
void unary_forward_cuda(UnaryFn op, const Tensor& x, Tensor& y, double p0, double p1);
void unary_backward_cuda(UnaryFn op, const Tensor& x, const Tensor& y, const Tensor& g, Tensor& gx,
                         double p0, double p1);

// The backward of a broadcasting binary op, shared by both devices (elementwise_binary.cpp): an
// operand with the output's layout gets its gradient in one map; a broadcast operand gets the
// output-shaped gradient summed down to its shape by the owner-computes reduction `sum_to_shape`.
using BinaryMapFn = void (*)(BinaryFn, const Tensor*, const Tensor&, const Tensor&, Tensor&, bool);
using SumToShapeFn = void (*)(const Tensor& src, Tensor& dst, double scale, bool accumulate);
void binary_backward(OpCall& c, BinaryFn grad_a, BinaryFn grad_b, BinaryMapFn map,
                     SumToShapeFn sum_to_shape);

// The unary ops' rows, shared by both devices (elementwise_binary.cpp): unpack the OpCall (input,
// output, gradients, the attribute parameters p0 and p1) and call the device's primitive.
using UnaryForwardFn = void (*)(UnaryFn, const Tensor& x, Tensor& y, double p0, double p1);
using UnaryBackwardFn = void (*)(UnaryFn, const Tensor& x, const Tensor& y, const Tensor& g,
                                 Tensor& gx, double p0, double p1);
void unary_forward(OpCall& c, UnaryFn op, UnaryForwardFn forward);
void unary_backward(OpCall& c, UnaryFn op, UnaryBackwardFn backward);

// The dtype and functor dispatch of binary_map_{cpu,cuda}, written once: calls
// map(has_g, accumulate, f, g, a, b, y) with has_g / accumulate as std::bool_constant and the raw
// typed pointers, for the device's loop or kernel launch.
template <class Map>
void binary_map_dispatch(BinaryFn fn, const Tensor* g, const Tensor& a, const Tensor& b, Tensor& y,
                         bool accumulate, Map&& map) {
  DIFFLUT_DISPATCH_FLOAT(y.dtype(), "binary op", [&] {
    const scalar_t* gp = g ? g->data<scalar_t>() : nullptr;
    const scalar_t* ap = a.data<scalar_t>();
    const scalar_t* bp = b.data<scalar_t>();
    scalar_t* yp = y.data<scalar_t>();
    dispatch_binary_fn(fn, [&](auto f) {
      if constexpr (decltype(f)::kGrad) {
        DIFFLUT_ASSERT(gp != nullptr);
        if (accumulate)
          map(std::true_type{}, std::true_type{}, f, gp, ap, bp, yp);
        else
          map(std::true_type{}, std::false_type{}, f, gp, ap, bp, yp);
      } else {
        DIFFLUT_ASSERT(gp == nullptr && !accumulate);
        map(std::false_type{}, std::false_type{}, f, gp, ap, bp, yp);
      }
    });
  });
}

// --- op kernels -------------------------------------------------------------------------------
#define DIFFLUT_ELEMENTWISE_DECLARE(op) \
  void op##_forward_cpu(OpCall& c);     \
  void op##_backward_cpu(OpCall& c);    \
  void op##_forward_cuda(OpCall& c);    \
  void op##_backward_cuda(OpCall& c);

DIFFLUT_ELEMENTWISE_DECLARE(add)
DIFFLUT_ELEMENTWISE_DECLARE(sub)
DIFFLUT_ELEMENTWISE_DECLARE(mul)
DIFFLUT_ELEMENTWISE_DECLARE(div)
DIFFLUT_ELEMENTWISE_DECLARE(add_scalar)
DIFFLUT_ELEMENTWISE_DECLARE(mul_scalar)
DIFFLUT_ELEMENTWISE_DECLARE(pow_scalar)
DIFFLUT_ELEMENTWISE_DECLARE(neg)
DIFFLUT_ELEMENTWISE_DECLARE(exp)
DIFFLUT_ELEMENTWISE_DECLARE(log)
DIFFLUT_ELEMENTWISE_DECLARE(sigmoid)
DIFFLUT_ELEMENTWISE_DECLARE(tanh)
DIFFLUT_ELEMENTWISE_DECLARE(relu)
DIFFLUT_ELEMENTWISE_DECLARE(clamp)
DIFFLUT_ELEMENTWISE_DECLARE(threshold_ste)
#undef DIFFLUT_ELEMENTWISE_DECLARE

}  // namespace difflut

// The op kernels of the binary and map-style unary ops on one device (`dev`: cpu or cuda), from that
// device's binary_map_<dev>, sum_to_shape_<dev>, unary_forward_<dev> and unary_backward_<dev>: the
// op##_forward_<dev> / op##_backward_<dev> functions the op rows point to. Expanded once per device
// file, so the list of ops exists once.
#define DIFFLUT_BINARY_OP_KERNELS(op, dev)                                             \
  void op##_forward_##dev(OpCall& c) {                                                 \
    binary_map_##dev(BinaryFn::op, nullptr, *c.in[0], *c.in[1], *c.out, false);        \
  }                                                                                    \
  void op##_backward_##dev(OpCall& c) {                                                \
    binary_backward(c, BinaryFn::op##_grad_a, BinaryFn::op##_grad_b, binary_map_##dev, \
                    sum_to_shape_##dev);                                               \
  }
#define DIFFLUT_UNARY_OP_KERNELS(op, dev)                                                    \
  void op##_forward_##dev(OpCall& c) { unary_forward(c, UnaryFn::op, unary_forward_##dev); } \
  void op##_backward_##dev(OpCall& c) { unary_backward(c, UnaryFn::op, unary_backward_##dev); }
#define DIFFLUT_ELEMENTWISE_OP_KERNELS(dev) \
  DIFFLUT_BINARY_OP_KERNELS(add, dev)       \
  DIFFLUT_BINARY_OP_KERNELS(sub, dev)       \
  DIFFLUT_BINARY_OP_KERNELS(mul, dev)       \
  DIFFLUT_BINARY_OP_KERNELS(div, dev)       \
  DIFFLUT_UNARY_OP_KERNELS(add_scalar, dev) \
  DIFFLUT_UNARY_OP_KERNELS(mul_scalar, dev) \
  DIFFLUT_UNARY_OP_KERNELS(pow_scalar, dev) \
  DIFFLUT_UNARY_OP_KERNELS(neg, dev)        \
  DIFFLUT_UNARY_OP_KERNELS(exp, dev)        \
  DIFFLUT_UNARY_OP_KERNELS(log, dev)        \
  DIFFLUT_UNARY_OP_KERNELS(sigmoid, dev)    \
  DIFFLUT_UNARY_OP_KERNELS(tanh, dev)       \
  DIFFLUT_UNARY_OP_KERNELS(clamp, dev)      \
  DIFFLUT_UNARY_OP_KERNELS(threshold_ste, dev)
