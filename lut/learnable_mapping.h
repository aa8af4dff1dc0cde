// DWN learnable mapping (host API): W [F, S] scores every input i for every slot s; the forward is a
// hard gather of x at argmax_i W[i, s]; the backward is dW = (2x - 1)^T g and
// dx = g softmax(W / tau)^T (softmax over the inputs of each slot).
//
// Training the default model spends most of its time here (F = 2352 encoder bits, S = 12000 slots:
// 28M weights), so the mapping supports a fused optimizer step: when W's Parameter has
// `custom_update = make_learnable_mapping_update(state)`, backward does not build dW but stashes the
// incoming gradient g and x in the shared state, and the optimizer's call runs ONE pass over W that
// computes dW, updates W and the optimizer moments, clamps, and tracks the next argmax.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "autograd/graph.h"
#include "autograd/parameter.h"
#include "tensor/random.h"

namespace difflut {

constexpr double kLearnableMappingDefaultTau = 1e-3;  // torch_dwn's default

// Shared between the op nodes of one mapping layer and the layer's fused optimizer update.
// One state per W.
struct LearnableMappingState {
  // argmax_i W[i, s] ([S] i32 on W's device, first index on ties): the hard mapping.
  Tensor argmax;
  // True when `argmax` matches W's current values. Set by the fused update (which computes the
  // argmax of the updated W while it writes it); forward then skips its own argmax pass. Forward
  // never sets it, so an ordinary optimizer that changes W cannot leave a stale mapping behind.
  bool argmax_fresh = false;
  const void* argmax_of = nullptr;  // W's data pointer the fresh argmax belongs to

  // What backward handed to the fused update: one (x [B, F], g [B, S]) pair per backward since the
  // last update (a second backward before a step adds its gradient, as the accumulate rule says).
  struct Stash {
    Tensor x;
    Tensor g;
  };
  std::vector<Stash> stash;

  // Call after writing W outside the optimizer (loading a checkpoint, manual edits).
  void invalidate() { argmax_fresh = false; }
};

// Uniform [0, 1) scores, the distribution torch_dwn's LearnableMapping starts from.
Tensor learnable_mapping_init(int64_t num_inputs, int64_t num_slots, Generator& gen,
                              DType dtype = DType::f32, Device device = Device::cpu);

std::shared_ptr<LearnableMappingState> make_learnable_mapping_state();

// Appends a learnable_mapping node: x [B, F], W [F, S] (usually graph.param(p)) -> [B, S].
// `state` may be null (no argmax cache, no fused update).
Var learnable_mapping(Var x, Var W, std::shared_ptr<LearnableMappingState> state = nullptr,
                      double tau = kLearnableMappingDefaultTau);

// The Parameter::custom_update of W for the fused path. Adam (with L2 or decoupled weight decay) and
// SGD (with momentum and weight decay) run as one pass over W; the step consumes the stash and
// leaves a fresh argmax in the state.
std::function<void(Parameter&, const OptimizerStep&)> make_learnable_mapping_update(
    std::shared_ptr<LearnableMappingState> state);

// The same step as a plain function (benchmarks and tests call it directly).
void learnable_mapping_fused_step(LearnableMappingState& state, Parameter& w,
                                  const OptimizerStep& step);

// argmax_i W[i, s] for every slot ([S] i32 on W's device, first index on ties).
Tensor learnable_mapping_argmax(const Tensor& w);

}  // namespace difflut
