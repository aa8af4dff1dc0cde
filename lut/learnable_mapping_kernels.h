// Kernel entry points of the learnable mapping, CPU (learnable_mapping_cpu.cpp) and CUDA
// (learnable_mapping_cuda.cu), plus the device-independent helpers the kernels share
// (learnable_mapping.cpp).
#pragma once
#include "autograd/op_def.h"
#include "autograd/parameter.h"

namespace difflut {

struct LearnableMappingState;

// Op kernels. Forward: out[b, s] = x[b, idx[s]], idx = argmax_i W[i, s] (from the state's fresh
// cache or computed); saved = {idx [S] i32}. Backward: dW = (2x - 1)^T g into a defined grad_in[1],
// or a stash into the state when grad_in[1] is undefined (fused update); dx = g softmax(W/tau)^T.
void learnable_mapping_forward_cpu(OpCall& c);
void learnable_mapping_backward_cpu(OpCall& c);
void learnable_mapping_forward_cuda(OpCall& c);
void learnable_mapping_backward_cuda(OpCall& c);

// idx[s] = argmax_i w[i, s], first index on ties. w [F, S] float, idx [S] i32 (same device).
void learnable_mapping_argmax_cpu(const Tensor& w, Tensor& idx);
void learnable_mapping_argmax_cuda(const Tensor& w, Tensor& idx);

// The fused optimizer pass. w [F, S]; m, v [F, S] (Adam: moments; SGD: m = velocity or null, v
// unused); x [B, F] and g [B, S] the stashed batch (both null: zero gradient); idx [S] i32 receives
// argmax_i of the updated w. Per (i, s): grad = sum_b (2 x[b, i] - 1) g[b, s], optimizer step,
// clamp to [lo, hi], running argmax.
void learnable_mapping_update_cpu(Tensor& w, Tensor* m, Tensor* v, const Tensor* x, const Tensor* g,
                                  const OptimizerStep& step, double lo, double hi, Tensor& idx);
void learnable_mapping_update_cuda(Tensor& w, Tensor* m, Tensor* v, const Tensor* x,
                                   const Tensor* g, const OptimizerStep& step, double lo, double hi,
                                   Tensor& idx);

// The unfused baseline's optimizer pass (what a generic optimizer does with a materialised dW):
// w, dw, m, v [F, S]; no argmax. Used by benchmarks and tests as the reference path.
void learnable_mapping_optimizer_pass_cpu(Tensor& w, const Tensor& dw, Tensor* m, Tensor* v,
                                          const OptimizerStep& step, double lo, double hi);
void learnable_mapping_optimizer_pass_cuda(Tensor& w, const Tensor& dw, Tensor* m, Tensor* v,
                                           const OptimizerStep& step, double lo, double hi);

// Shared helpers (learnable_mapping.cpp).
// The node's state (attrs.context), or null.
LearnableMappingState* learnable_mapping_state_of(const OpCall& c);
// The argmax for the forward: the state's fresh cache when it belongs to w, else computed.
Tensor learnable_mapping_forward_index(const Tensor& w, LearnableMappingState* state);
// Fused path: hands (x, g) to the state's stash; throws if the node has no state.
void learnable_mapping_stash(OpCall& c);

}  // namespace difflut
