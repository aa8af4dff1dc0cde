// Op kinds of the encoder family; spliced into autograd/op_list.h.
#pragma once

// clang-format off
#define DIFFLUT_ENCODER_OPS(X)                                                   \
  X(thermometer)     /* x [B, F] > thresholds [F, nb] -> bits [B, F*nb]; no gradient */
// clang-format on
