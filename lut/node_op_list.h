// Op kinds of LUT nodes and GroupSum.
#pragma once

// clang-format off
#define DIFFLUT_LUT_NODE_OPS(X)                                                          \
  X(dwn_lut)         /* DWN node: table lookup, straight-through table grad + EFD */    \
  X(group_sum)       /* [B, M] -> [B, C]: contiguous group sums / tau */                \
  X(custom_lut)      /* a user-registered NodeType (lut/node_registry.h), host path */  \
  X(custom_lut_reg)  /* the NodeType's regularisation term of its params -> [1] */
// clang-format on
