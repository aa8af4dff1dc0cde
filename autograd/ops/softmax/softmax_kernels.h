// Kernel entry points of the softmax family (softmax, log_softmax, cross_entropy), CPU
// (softmax_cpu.cpp) and CUDA (softmax_cuda.cu).
#pragma once
#include "autograd/op_def.h"

namespace difflut {

void softmax_forward_cpu(OpCall& c);
void softmax_backward_cpu(OpCall& c);
void log_softmax_forward_cpu(OpCall& c);
void log_softmax_backward_cpu(OpCall& c);
// Forward saves the softmax probabilities [B, C] (saved[0]) for backward.
void cross_entropy_forward_cpu(OpCall& c);
void cross_entropy_backward_cpu(OpCall& c);

void softmax_forward_cuda(OpCall& c);
void softmax_backward_cuda(OpCall& c);
void log_softmax_forward_cuda(OpCall& c);
void log_softmax_backward_cuda(OpCall& c);
void cross_entropy_forward_cuda(OpCall& c);
void cross_entropy_backward_cuda(OpCall& c);

}  // namespace difflut
