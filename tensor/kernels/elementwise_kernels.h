// Kernel entry points of the elementwise family, CPU (elementwise_cpu.cpp) and CUDA (elementwise_cuda.cu).
#pragma once
#include "autograd/op_def.h"

namespace difflut {

void relu_forward_cpu(OpCall& c);
void relu_backward_cpu(OpCall& c);
void relu_forward_cuda(OpCall& c);
void relu_backward_cuda(OpCall& c);

}  // namespace difflut
