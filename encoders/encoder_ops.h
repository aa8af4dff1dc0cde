// The encoder layer's op kinds. Each is added to the op registry (autograd/op_def.h) the first time
// its getter runs; register_ops() adds them all (for code that lists ops by name).
#pragma once
#include "autograd/op_def.h"

namespace difflut {

// thermometer: x [B, F] > thresholds [F, nb] -> bits [B, F*nb]; no gradient.
OpKind thermometer_op();
// level_code: x [B, F] -> bits [B, F*nb], the code word of each value's level (level_code.h,
// level_code_kernels.h); attrs.tensors = {thresholds [F, T], strict [T], table [T+1, nb]}; no gradient.
OpKind level_code_op();

namespace encoders {
// Registers every op of the encoder layer (idempotent).
void register_ops();
}  // namespace encoders

}  // namespace difflut
