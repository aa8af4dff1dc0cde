// Op kinds of LUT nodes and GroupSum.
#pragma once

// clang-format off
#define DIFFLUT_LUT_NODE_OPS(X)                                                          \
  X(dwn_lut)         /* DWN node: table lookup, straight-through table grad + EFD */    \
  X(group_sum)       /* [B, M] -> [B, C]: contiguous group sums / tau */                \
  X(custom_lut)      /* a user-registered NodeType (lut/node_registry.h), host path */  \
  X(custom_lut_reg)  /* the NodeType's regularisation term of its params -> [1] */  \
  /* built-in node types, one batched op each (lut/nodes/) */                          \
  X(linear_lut)      /* σ(x·w + b) */                                                   \
  X(polylut)         /* σ(linear model over monomials up to degree D) */                \
  X(neurallut)       /* σ(per-node MLP) */                                              \
  X(probabilistic_lut)          /* Σ_a σ(θ_a/T) Pr(a | x) */                            \
  X(unbound_probabilistic_lut)  /* σ(Σ_a θ_a Pr(a | x)) */                              \
  X(hybrid_lut)      /* σ(θ_addr) forward, probabilistic backward */                    \
  X(difflogic_lut)   /* softmax mixture of the 16 relaxed 2-input gates */              \
  X(lut_regularizer) /* corner values [2^k, N] -> per-node regulariser [N] */
// clang-format on
