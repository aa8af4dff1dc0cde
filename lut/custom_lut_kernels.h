// Kernels of the custom_lut and custom_lut_reg ops: they call a registered NodeType's host
// functions (lut/node_registry.h). The CUDA variants copy to the host, run, and copy back.
#pragma once
#include "autograd/op_def.h"
#include "lut/node_registry.h"

namespace difflut {

// The node type an op's attrs.context carries (a shared_ptr<NodeType> stored as shared_ptr<void>).
inline const NodeType& custom_lut_type(const Attrs& attrs) {
  DIFFLUT_ASSERT(attrs.context != nullptr);
  return *static_cast<const NodeType*>(attrs.context.get());
}

void custom_lut_forward_cpu(OpCall& c);
void custom_lut_backward_cpu(OpCall& c);
void custom_lut_forward_cuda(OpCall& c);
void custom_lut_backward_cuda(OpCall& c);
void custom_lut_reg_forward_cpu(OpCall& c);
void custom_lut_reg_backward_cpu(OpCall& c);
void custom_lut_reg_forward_cuda(OpCall& c);
void custom_lut_reg_backward_cuda(OpCall& c);

}  // namespace difflut
