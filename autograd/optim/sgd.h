// Stochastic gradient descent with optional momentum, dampening, Nesterov and (L2) weight decay,
// following PyTorch's update rule (the velocity starts as the first gradient).
#pragma once
#include "autograd/optim/optimizer.h"

namespace difflut {

struct SGDOptions {
  double lr = 1e-2;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;  // needs momentum > 0 and dampening == 0
};

class SGD : public Optimizer {
 public:
  SGD(Module& module, SGDOptions opts);
  SGD(std::shared_ptr<ParameterBuffer> buffer, SGDOptions opts);
  std::string name() const override { return "sgd"; }
  const SGDOptions& options() const { return opts_; }

 protected:
  int num_state_slots() const override { return opts_.momentum != 0.0 ? 1 : 0; }
  std::string state_slot_name(int) const override { return "momentum_buffer"; }
  void update_group(ParameterBuffer::Group& group, std::vector<Tensor>& state,
                    const OptimChunks& chunks) override;
  OptimizerStep step_info() const override;

 private:
  SGDOptions opts_;
};

}  // namespace difflut
