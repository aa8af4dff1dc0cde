// Registration of every op of the LUT layer: node ops, GroupSum, the regulariser and mappings.
#include "lut/lut_ops.h"

#include "lut/nodes/node_kernels.h"

namespace difflut {

void lut::register_ops() {
  dwn_lut_op();
  group_sum_op();
  custom_lut_op();
  custom_lut_reg_op();
  for (int i = 0; i < nodes::kNumNodeKinds; ++i)
    nodes::builtin_node_op(static_cast<nodes::NodeKind>(i));
  lut_regularizer_op();
  learnable_mapping_op();
  bit_flip_op();
  grad_stabilize_op();
  sparse_mapping_op();
  conv_patches_op();
  bit_pool_op();
}

}  // namespace difflut
