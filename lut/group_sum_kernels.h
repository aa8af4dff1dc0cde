// Kernels of the group_sum op: x [B, M] -> out [B, C], out[b, c] = Σ_{m in group c} x[b, m] / tau,
// group c = columns [c*g, min((c+1)*g, M)) with g = ceil(M / C) (M padded with zeros to C*g).
#pragma once
#include <cstdint>

#include "autograd/op_def.h"

namespace difflut {

void group_sum_forward_cpu(OpCall& c);
void group_sum_backward_cpu(OpCall& c);
void group_sum_forward_cuda(OpCall& c);
void group_sum_backward_cuda(OpCall& c);

// Group width g = ceil(M / C).
inline int64_t group_sum_width(int64_t M, int64_t C) { return (M + C - 1) / C; }

}  // namespace difflut
