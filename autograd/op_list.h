// Every op kind of the engine, listed once. Each entry X(name) has exactly one OpDef row, defined in
// the op family's file and gathered by register_all_ops() (op_table.cpp). Add new kinds here.
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

#include "encoders/encoder_op_list.h"  // DIFFLUT_ENCODER_OPS(X): thermometer encoders
#include "lut/lut_op_list.h"            // DIFFLUT_LUT_OPS(X): LUT nodes, mappings, GroupSum

#define DIFFLUT_ALL_OPS(X) DIFFLUT_CORE_OPS(X) DIFFLUT_ENCODER_OPS(X) DIFFLUT_LUT_OPS(X)
