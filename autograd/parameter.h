// A trainable tensor and its gradient. Both are usually views into a module's flat buffers, so the
// optimizer and checkpoints touch one contiguous block; the graph adds gradients straight into `grad`.
#pragma once
#include <cstdint>
#include <functional>
#include <limits>
#include <string>

#include "tensor/tensor.h"

namespace difflut {

struct Parameter;

// What an optimizer step tells a parameter that updates itself (see Parameter::custom_update).
struct OptimizerStep {
  enum class Kind { sgd, adam } kind = Kind::adam;
  double lr = 0.0;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // Adam
  double momentum = 0.0;                          // SGD
  double dampening = 0.0;                         // SGD
  bool nesterov = false;                          // SGD
  double weight_decay = 0.0;
  bool decoupled_weight_decay = false;  // AdamW
  int64_t step = 0;                     // 1-based count of steps taken, this one included
  // The optimizer's state for this parameter, shaped like `value` and zero before the first step:
  // Adam: {first moment, second moment}; SGD with momentum: {velocity, unused}.
  Tensor* state[2] = {nullptr, nullptr};
};

struct Parameter {
  std::string name;
  Tensor value;
  Tensor grad;  // same shape/dtype/device as value; allocated lazily by ensure_grad()
  bool requires_grad = true;
  // Clamped into [clamp_min, clamp_max] by the optimizer after every step (DWN tables: [-1, 1]).
  double clamp_min = -std::numeric_limits<double>::infinity();
  double clamp_max = std::numeric_limits<double>::infinity();
  // When set, optimizers call this instead of their generic update for this parameter. Used where
  // the gradient, the update and follow-up work are fused into one pass over a large weight (the
  // learnable mapping); such a parameter may keep its gradient elsewhere or not at all.
  std::function<void(Parameter&, const OptimizerStep&)> custom_update;
  // With custom_update: called by zero_grad (Module's and the optimizers') to discard the gradient
  // such a parameter keeps elsewhere (a fused update's stashed batches), as zeroing discards an
  // ordinary gradient.
  std::function<void(Parameter&)> custom_zero_grad;

  // Allocates a zeroed gradient if none exists (or if it no longer matches value).
  void ensure_grad();
  bool has_clamp() const {
    return clamp_min > -std::numeric_limits<double>::infinity() ||
           clamp_max < std::numeric_limits<double>::infinity();
  }
};

}  // namespace difflut
