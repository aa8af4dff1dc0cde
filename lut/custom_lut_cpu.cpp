// CPU kernels of custom_lut / custom_lut_reg: direct calls into the node type's host functions.
#include "lut/custom_lut_kernels.h"

namespace difflut {

void custom_lut_forward_cpu(OpCall& c) {
  const NodeType& type = custom_lut_type(c.attrs);
  const int k = static_cast<int>(c.attrs.ints[0]);
  if (c.attrs.ints[1] != 0)
    type.forward_train(*c.in[0], *c.in[1], k, *c.out);
  else
    type.forward_eval(*c.in[0], *c.in[1], k, *c.out);
}

void custom_lut_backward_cpu(OpCall& c) {
  if (!c.grad_in[0] && !c.grad_in[1]) return;
  const NodeType& type = custom_lut_type(c.attrs);
  type.backward(*c.in[0], *c.in[1], static_cast<int>(c.attrs.ints[0]), *c.grad_out, c.grad_in[0],
                c.grad_in[1]);
}

void custom_lut_reg_forward_cpu(OpCall& c) {
  const NodeType& type = custom_lut_type(c.attrs);
  c.out->fill_(type.regularization(*c.in[0], static_cast<int>(c.attrs.ints[0])));
}

void custom_lut_reg_backward_cpu(OpCall& c) {
  if (!c.grad_in[0]) return;
  const NodeType& type = custom_lut_type(c.attrs);
  type.regularization_backward(*c.in[0], static_cast<int>(c.attrs.ints[0]),
                               c.grad_out->item_as_double(), *c.grad_in[0]);
}

}  // namespace difflut
