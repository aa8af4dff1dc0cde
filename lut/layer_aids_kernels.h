// Kernels of the layer training aids (lut/layer_aids.h): bit_flip and grad_stabilize.
// Attrs: bit_flip ints {key}, floats {p}; grad_stabilize ints {batchwise, subtract_mean},
// floats {target, eps}.
#pragma once
#include <cstdint>

#include "autograd/op_def.h"
#include "tensor/philox.h"

namespace difflut {

void bit_flip_forward_cpu(OpCall& c);
void bit_flip_backward_cpu(OpCall& c);
void bit_flip_forward_cuda(OpCall& c);
void bit_flip_backward_cuda(OpCall& c);
void grad_stabilize_forward(OpCall& c);  // device-independent (a view)
void grad_stabilize_backward_cpu(OpCall& c);
void grad_stabilize_backward_cuda(OpCall& c);

// Element i of a bit_flip draw is flipped iff its uniform double is below p (p = 1 flips all).
DIFFLUT_HD bool bit_flip_mask(uint64_t i, uint64_t key, double p) {
  return philox_uniform_f64(i, key) < p;
}

}  // namespace difflut
