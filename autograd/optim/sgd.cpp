// SGD: option checks and the dispatch of the fused kernel per device.
#include "autograd/optim/sgd.h"

#include <cmath>

namespace difflut {

namespace {
SGDOptions checked(SGDOptions o) {
  DIFFLUT_CHECK(std::isfinite(o.momentum) && o.momentum >= 0.0,
                "sgd: expected momentum >= 0, found ", o.momentum);
  DIFFLUT_CHECK(std::isfinite(o.dampening), "sgd: expected a finite dampening, found ",
                o.dampening);
  DIFFLUT_CHECK(std::isfinite(o.weight_decay) && o.weight_decay >= 0.0,
                "sgd: expected weight_decay >= 0, found ", o.weight_decay);
  DIFFLUT_CHECK(!o.nesterov || (o.momentum > 0.0 && o.dampening == 0.0),
                "sgd: nesterov expects momentum > 0 and dampening == 0, found momentum ",
                o.momentum, " and dampening ", o.dampening);
  return o;
}
}  // namespace

SGD::SGD(Module& module, SGDOptions opts) : Optimizer(module, opts.lr), opts_(checked(opts)) {}
SGD::SGD(std::shared_ptr<ParameterBuffer> buffer, SGDOptions opts)
    : Optimizer(std::move(buffer), opts.lr), opts_(checked(opts)) {}

void SGD::update_group(ParameterBuffer::Group& group, std::vector<Tensor>& state,
                       const OptimChunks& chunks) {
  SgdHyper h{.lr = lr_,
             .momentum = opts_.momentum,
             .dampening = opts_.dampening,
             .weight_decay = opts_.weight_decay,
             .nesterov = opts_.nesterov,
             .first_step = step_ == 1};
  Tensor* velocity = state.empty() ? nullptr : &state[0];
  if (group.device == Device::cpu) {
    sgd_update_cpu(group.values, group.grads, velocity, chunks, h);
  } else {
    sgd_update_cuda(group.values, group.grads, velocity, chunks, h);
  }
}

OptimizerStep SGD::step_info() const {
  OptimizerStep s;
  s.kind = OptimizerStep::Kind::sgd;
  s.lr = lr_;
  s.momentum = opts_.momentum;
  s.dampening = opts_.dampening;
  s.nesterov = opts_.nesterov;
  s.weight_decay = opts_.weight_decay;
  s.step = step_;
  return s;
}

}  // namespace difflut
