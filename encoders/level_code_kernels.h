// Kernel entry points of the level_code op, CPU (level_code_cpu.cpp) and CUDA (level_code_cuda.cu).
// Inputs x [B, F]; attrs.tensors = {thresholds [F, T], strict [T] (1: x > t, 0: x >= t),
// table [T + 1, nb]}, all of x's dtype. out[b, f*nb + j] = table[q, j] with
// q = #{k : strict[k] ? x[b, f] > t[f, k] : x[b, f] >= t[f, k]}.
#pragma once
#include "autograd/op_def.h"
#include "tensor/host_device.h"

namespace difflut {

void level_code_forward_cpu(OpCall& c);
void level_code_forward_cuda(OpCall& c);

// The level of one value: shared by both kernels so they count identically.
template <class T>
DIFFLUT_HD long long level_of(T v, const T* t, const T* strict, long long T_count) {
  long long q = 0;
  for (long long k = 0; k < T_count; ++k) q += strict[k] != T(0) ? (v > t[k]) : (v >= t[k]);
  return q;
}

}  // namespace difflut
