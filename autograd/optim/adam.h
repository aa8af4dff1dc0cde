// Adam (bias-corrected, L2 weight decay added to the gradient) and AdamW (decoupled weight decay:
// p *= 1 - lr * wd before the Adam step), following PyTorch's update rule.
#pragma once
#include "autograd/optim/optimizer.h"

namespace difflut {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
};

class Adam : public Optimizer {
 public:
  Adam(Module& module, AdamOptions opts = {});
  Adam(std::shared_ptr<ParameterBuffer> buffer, AdamOptions opts = {});
  std::string name() const override { return decoupled_ ? "adamw" : "adam"; }
  const AdamOptions& options() const { return opts_; }

 protected:
  Adam(Module& module, AdamOptions opts, bool decoupled);
  Adam(std::shared_ptr<ParameterBuffer> buffer, AdamOptions opts, bool decoupled);
  int num_state_slots() const override { return 2; }
  std::string state_slot_name(int slot) const override {
    return slot == 0 ? "exp_avg" : "exp_avg_sq";
  }
  bool state_slot_nonnegative(int slot) const override { return slot == 1; }
  void update_group(ParameterBuffer::Group& group, std::vector<Tensor>& state,
                    const OptimChunks& chunks) override;
  OptimizerStep step_info() const override;

 private:
  AdamOptions opts_;
  bool decoupled_;
};

class AdamW : public Adam {
 public:
  // PyTorch's AdamW default weight decay is 1e-2.
  static AdamOptions default_options() {
    AdamOptions o;
    o.weight_decay = 1e-2;
    return o;
  }
  AdamW(Module& module, AdamOptions opts = default_options()) : Adam(module, opts, true) {}
  AdamW(std::shared_ptr<ParameterBuffer> buffer, AdamOptions opts = default_options())
      : Adam(std::move(buffer), opts, true) {}
};

}  // namespace difflut
