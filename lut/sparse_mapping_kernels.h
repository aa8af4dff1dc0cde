// Kernel entry points of the sparse learnable mapping, CPU (sparse_mapping_cpu.cpp) and CUDA
// (sparse_mapping_cuda.cu). The op: inputs x [B, F], W [S, C]; attrs.tensors = {cand i32 [S*C]
// (candidate inputs, slot-major), offsets i32 [F+1], positions i32 [S*C] (the CSR inverse of cand:
// for input i, the entries positions[offsets[i] .. offsets[i+1]) that read it)}, all on x's device;
// attrs.floats = {tau}.
// Forward: out[b, s] = x[b, cand[s, argmax_c W[s, c]]]. Backward: dW[s, c] = sum_b (2 x[b, cand[s, c]]
// - 1) g[b, s]; dx[b, i] = sum_{(s, c): cand[s, c] = i} g[b, s] softmax(W[s, :] / tau)[c].
#pragma once
#include <vector>

#include "autograd/op_def.h"
#include "lut/sparse_mapping.h"

namespace difflut {

void sparse_mapping_forward_cpu(OpCall& c);
void sparse_mapping_backward_cpu(OpCall& c);
void sparse_mapping_forward_cuda(OpCall& c);
void sparse_mapping_backward_cuda(OpCall& c);

// The backward's half for a W with a fused update: stashes x, g and the candidates in the node's
// SparseMappingState (lut/sparse_mapping.h) instead of writing dW.
void sparse_mapping_stash(OpCall& c);

// The fused optimizer step on the host (lut/sparse_mapping_update_cpu.cpp): W [S, C] and its
// optimizer state (m, v: Adam's moments; m alone: SGD's velocity; null when unused) updated from
// the stashed batches' dW, each element clamped into [lo, hi].
void sparse_mapping_update_cpu(Tensor& w, Tensor* m, Tensor* v,
                               const std::vector<SparseMappingState::Stash>& stash,
                               const OptimizerStep& step, double lo, double hi);

// idx[s] = cand[s, argmax_c W[s, c]] (i32 [S], on W's device).
void sparse_mapping_choice_cpu(const Tensor& w, const Tensor& cand, Tensor& idx);
void sparse_mapping_choice_cuda(const Tensor& w, const Tensor& cand, Tensor& idx);

}  // namespace difflut
