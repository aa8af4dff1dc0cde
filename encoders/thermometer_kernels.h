// Kernel entry points of the thermometer op, CPU (thermometer_cpu.cpp) and CUDA (thermometer_cuda.cu).
// Both compute out[b, f*nb + i] = x[b, f] > t[f, i] ? 1 : 0 in x's dtype (strict comparison).
#pragma once
#include "autograd/op_def.h"

namespace difflut {

void thermometer_forward_cpu(OpCall& c);
void thermometer_forward_cuda(OpCall& c);

}  // namespace difflut
