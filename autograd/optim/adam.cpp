// Adam / AdamW: option checks and the dispatch of the fused kernel per device.
#include "autograd/optim/adam.h"

#include <cmath>

namespace difflut {

namespace {
AdamOptions checked(AdamOptions o) {
  DIFFLUT_CHECK(o.beta1 >= 0.0 && o.beta1 < 1.0, "adam: expected 0 <= beta1 < 1, found ", o.beta1);
  DIFFLUT_CHECK(o.beta2 >= 0.0 && o.beta2 < 1.0, "adam: expected 0 <= beta2 < 1, found ", o.beta2);
  DIFFLUT_CHECK(std::isfinite(o.eps) && o.eps >= 0.0, "adam: expected eps >= 0, found ", o.eps);
  DIFFLUT_CHECK(std::isfinite(o.weight_decay) && o.weight_decay >= 0.0,
                "adam: expected weight_decay >= 0, found ", o.weight_decay);
  return o;
}
}  // namespace

Adam::Adam(Module& module, AdamOptions opts) : Adam(module, opts, false) {}
Adam::Adam(std::shared_ptr<ParameterBuffer> buffer, AdamOptions opts)
    : Adam(std::move(buffer), opts, false) {}
Adam::Adam(Module& module, AdamOptions opts, bool decoupled)
    : Optimizer(module, opts.lr), opts_(checked(opts)), decoupled_(decoupled) {}
Adam::Adam(std::shared_ptr<ParameterBuffer> buffer, AdamOptions opts, bool decoupled)
    : Optimizer(std::move(buffer), opts.lr), opts_(checked(opts)), decoupled_(decoupled) {}

void Adam::update_group(ParameterBuffer::Group& group, std::vector<Tensor>& state,
                        const OptimChunks& chunks) {
  AdamHyper h{.lr = lr_,
              .beta1 = opts_.beta1,
              .beta2 = opts_.beta2,
              .eps = opts_.eps,
              .weight_decay = opts_.weight_decay,
              .decoupled = decoupled_,
              .step = step_};
  if (group.device == Device::cpu) {
    adam_update_cpu(group.values, group.grads, state[0], state[1], chunks, h);
  } else {
    adam_update_cuda(group.values, group.grads, state[0], state[1], chunks, h);
  }
}

OptimizerStep Adam::step_info() const {
  OptimizerStep s;
  s.kind = OptimizerStep::Kind::adam;
  s.lr = lr_;
  s.beta1 = opts_.beta1;
  s.beta2 = opts_.beta2;
  s.eps = opts_.eps;
  s.weight_decay = opts_.weight_decay;
  s.decoupled_weight_decay = decoupled_;
  s.step = step_;
  return s;
}

}  // namespace difflut
