// The LUT layer's op kinds. Each is added to the op registry (autograd/op_def.h) the first time its
// getter runs; register_ops() adds them all (for code that lists ops by name). The built-in node
// types' ops come from the node list (lut/nodes/node_list.h, builtin_node_op in node_kernels.h).
#pragma once
#include "autograd/op_def.h"

namespace difflut {

OpKind dwn_lut_op();            // DWN node: table lookup, straight-through table grad + EFD
OpKind group_sum_op();          // [B, M] -> [B, C]: contiguous group sums / tau
OpKind custom_lut_op();         // a user-registered NodeType (lut/node_registry.h), host path
OpKind custom_lut_reg_op();     // the NodeType's regularisation term of its params -> [1]
OpKind lut_regularizer_op();    // corner values [2^k, N] -> per-node regulariser [N]
OpKind learnable_mapping_op();  // DWN learnable mapping x [B, F], W [F, S] -> [B, S]
OpKind bit_flip_op();           // training aid: input bits flipped with probability p
OpKind grad_stabilize_op();     // training aid: identity forward, gradient rescaled
OpKind sparse_mapping_op();     // sparse learnable mapping x [B, F], W [S, C] -> [B, S]
OpKind conv_patches_op();       // conv layers: x [B, F] -> receptive-field rows [B * Q, R]
OpKind bit_pool_op();           // conv layers: max (OR) over table windows x [B, F] -> [B, Q]

namespace lut {
// Registers every op of the LUT layer (idempotent).
void register_ops();
}  // namespace lut

}  // namespace difflut
