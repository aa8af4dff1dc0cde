// Argument checks shared by the CPU and CUDA optimizer kernels (optim_cpu.cpp, optim_cuda.cu): the
// flat state buffers must match the parameter buffer, the gradient may be a prefix of it.
#pragma once
#include "tensor/error.h"
#include "tensor/tensor.h"

namespace difflut {

inline void check_optim_flat(const char* op, const Tensor& param, const Tensor& other,
                             const char* what) {
  DIFFLUT_CHECK(other.defined() && other.numel() == param.numel() &&
                    other.dtype() == param.dtype() && other.device() == param.device(),
                op, ": expected ", what, " like ", param.describe(), ", found ", other.describe());
}
// The flat gradient covers only the ordinary trainable parameters, which are packed first (see
// ParameterBuffer): it may be a prefix of the value buffer, and the update chunks stay inside it.
inline void check_optim_flat_grad(const char* op, const Tensor& param, const Tensor& grad) {
  DIFFLUT_CHECK(grad.defined() && grad.numel() <= param.numel() && grad.dtype() == param.dtype() &&
                    grad.device() == param.device(),
                op, ": expected a gradient prefix of ", param.describe(), ", found ",
                grad.describe());
}

}  // namespace difflut
