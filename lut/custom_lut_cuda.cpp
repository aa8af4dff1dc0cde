// "CUDA" kernels of custom_lut / custom_lut_reg: custom node types are host code, so these copy the
// operands to the host, run the node's functions there and copy the results back (synchronising).
// Custom nodes are therefore a CPU-speed path on the GPU unless they ship a device op of their own.
// Plain host code: compiled in every build, referenced by the op table only in CUDA builds.
#include "lut/custom_lut_kernels.h"

namespace difflut {

void custom_lut_forward_cuda(OpCall& c) {
  const NodeType& type = custom_lut_type(c.attrs);
  const int k = static_cast<int>(c.attrs.ints[0]);
  const Tensor x = c.in[0]->to(Device::cpu);
  const Tensor p = c.in[1]->to(Device::cpu);
  Tensor out = Tensor::empty(c.out->shape(), c.out->dtype(), Device::cpu);
  if (c.attrs.ints[1] != 0)
    type.forward_train(x, p, k, out);
  else
    type.forward_eval(x, p, k, out);
  c.out->copy_(out);
}

void custom_lut_backward_cuda(OpCall& c) {
  if (!c.grad_in[0] && !c.grad_in[1]) return;
  const NodeType& type = custom_lut_type(c.attrs);
  const Tensor x = c.in[0]->to(Device::cpu);
  const Tensor p = c.in[1]->to(Device::cpu);
  const Tensor gy = c.grad_out->to(Device::cpu);
  // The node adds into host copies of the current gradients, which are then written back.
  Tensor gx = c.grad_in[0] ? c.grad_in[0]->to(Device::cpu) : Tensor();
  Tensor gp = c.grad_in[1] ? c.grad_in[1]->to(Device::cpu) : Tensor();
  type.backward(x, p, static_cast<int>(c.attrs.ints[0]), gy, gx.defined() ? &gx : nullptr,
                gp.defined() ? &gp : nullptr);
  if (c.grad_in[0]) c.grad_in[0]->copy_(gx);
  if (c.grad_in[1]) c.grad_in[1]->copy_(gp);
}

void custom_lut_reg_forward_cuda(OpCall& c) {
  const NodeType& type = custom_lut_type(c.attrs);
  c.out->fill_(type.regularization(c.in[0]->to(Device::cpu), static_cast<int>(c.attrs.ints[0])));
}

void custom_lut_reg_backward_cuda(OpCall& c) {
  if (!c.grad_in[0]) return;
  const NodeType& type = custom_lut_type(c.attrs);
  Tensor gp = c.grad_in[0]->to(Device::cpu);
  type.regularization_backward(c.in[0]->to(Device::cpu), static_cast<int>(c.attrs.ints[0]),
                               c.grad_out->item_as_double(), gp);
  c.grad_in[0]->copy_(gp);
}

}  // namespace difflut
