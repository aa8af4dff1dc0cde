// StepLR and CosineAnnealingLR in closed form, plus their resume state.
#include "autograd/optim/lr_scheduler.h"

#include <cmath>
#include <numbers>

namespace difflut {

LRScheduler::LRScheduler(Optimizer& opt) : opt_(opt), base_lr_(opt.lr()) {}

void LRScheduler::step() {
  ++epoch_;
  opt_.set_lr(lr_at(epoch_));
}

NamedTensors LRScheduler::state_dict() const {
  return {{"scheduler.last_epoch", Tensor::from_vector(std::vector<int64_t>{epoch_}, {1})},
          {"scheduler.base_lr", Tensor::from_vector(std::vector<double>{base_lr_}, {1})}};
}

void LRScheduler::load_state_dict(const NamedTensors& state) {
  const Tensor* e = find_tensor(state, "scheduler.last_epoch");
  const Tensor* b = find_tensor(state, "scheduler.base_lr");
  DIFFLUT_CHECK(e && b && e->numel() == 1 && b->numel() == 1, name(),
                ".load_state_dict: expected one-element entries 'scheduler.last_epoch' and "
                "'scheduler.base_lr', found ",
                e ? e->describe() : "none", " and ", b ? b->describe() : "none");
  const int64_t epoch = static_cast<int64_t>(e->item_as_double());
  DIFFLUT_CHECK(epoch >= 0, name(), ".load_state_dict: expected last_epoch >= 0, found ", epoch);
  epoch_ = epoch;
  base_lr_ = b->item_as_double();
  opt_.set_lr(lr_at(epoch_));
}

StepLR::StepLR(Optimizer& opt, int64_t step_size, double gamma)
    : LRScheduler(opt), step_size_(step_size), gamma_(gamma) {
  DIFFLUT_CHECK(step_size > 0, "step_lr: expected step_size > 0, found ", step_size);
  DIFFLUT_CHECK(std::isfinite(gamma) && gamma >= 0.0, "step_lr: expected gamma >= 0, found ",
                gamma);
}

double StepLR::lr_at(int64_t epoch) const {
  return base_lr_ * std::pow(gamma_, static_cast<double>(epoch / step_size_));
}

CosineAnnealingLR::CosineAnnealingLR(Optimizer& opt, int64_t t_max, double eta_min)
    : LRScheduler(opt), t_max_(t_max), eta_min_(eta_min) {
  DIFFLUT_CHECK(t_max > 0, "cosine_annealing_lr: expected T_max > 0, found ", t_max);
  DIFFLUT_CHECK(std::isfinite(eta_min) && eta_min >= 0.0,
                "cosine_annealing_lr: expected eta_min >= 0, found ", eta_min);
}

double CosineAnnealingLR::lr_at(int64_t epoch) const {
  const double t = static_cast<double>(epoch) / static_cast<double>(t_max_);
  return eta_min_ + (base_lr_ - eta_min_) * (1.0 + std::cos(std::numbers::pi * t)) / 2.0;
}

}  // namespace difflut
