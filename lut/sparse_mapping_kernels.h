// Kernel entry points of the sparse learnable mapping, CPU (sparse_mapping_cpu.cpp) and CUDA
// (sparse_mapping_cuda.cu). The op: inputs x [B, F], W [S, C]; attrs.tensors = {cand i32 [S*C]
// (candidate inputs, slot-major), offsets i32 [F+1], positions i32 [S*C] (the CSR inverse of cand:
// for input i, the entries positions[offsets[i] .. offsets[i+1]) that read it)}, all on x's device;
// attrs.floats = {tau}.
// Forward: out[b, s] = x[b, cand[s, argmax_c W[s, c]]]. Backward: dW[s, c] = sum_b (2 x[b, cand[s, c]]
// - 1) g[b, s]; dx[b, i] = sum_{(s, c): cand[s, c] = i} g[b, s] softmax(W[s, :] / tau)[c].
#pragma once
#include "autograd/op_def.h"

namespace difflut {

void sparse_mapping_forward_cpu(OpCall& c);
void sparse_mapping_backward_cpu(OpCall& c);
void sparse_mapping_forward_cuda(OpCall& c);
void sparse_mapping_backward_cuda(OpCall& c);

// idx[s] = cand[s, argmax_c W[s, c]] (i32 [S], on W's device).
void sparse_mapping_choice_cpu(const Tensor& w, const Tensor& cand, Tensor& idx);
void sparse_mapping_choice_cuda(const Tensor& w, const Tensor& cand, Tensor& idx);

}  // namespace difflut
