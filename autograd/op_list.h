// autograd's own op kinds, listed once. Each entry X(name) has exactly one OpDef row, defined in
// its family's file (autograd/ops/<family>/<family>.cpp) and gathered on first use of the registry
// (op_table.cpp). Higher layers never appear here: they register their kinds themselves.
#pragma once

// clang-format off
#define DIFFLUT_CORE_OPS(X)                                                  \
  X(leaf)            /* graph inputs and parameters; no kernel */            \
  /* elementwise binary, numpy-style broadcasting */                        \
  X(add) X(sub) X(mul) X(div)                                                \
  /* elementwise with a scalar attribute */                                 \
  X(add_scalar) X(mul_scalar) X(pow_scalar)                                  \
  /* elementwise unary */                                                    \
  X(neg) X(exp) X(log) X(sigmoid) X(tanh) X(relu) X(clamp)                   \
  X(threshold_ste)   /* x >= t -> 1 else 0; straight-through backward */    \
  /* reductions along one axis */                                           \
  X(sum) X(mean) X(max) X(argmax)                                            \
  /* dense */                                                                \
  X(matmul)                                                                  \
  X(softmax) X(log_softmax) X(cross_entropy)                                 \
  /* shape and indexing */                                                   \
  X(reshape) X(transpose) X(concat) X(slice) X(gather)
// clang-format on
