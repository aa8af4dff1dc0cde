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
  // Checked as doubles before any conversion: a NaN or huge value cast to int64 is undefined.
  const double epoch_v = e->item_as_double(), base_v = b->item_as_double();
  DIFFLUT_CHECK(
      std::isfinite(epoch_v) && epoch_v >= 0 && epoch_v <= 1.0e9 && epoch_v == std::floor(epoch_v),
      name(), ".load_state_dict: expected last_epoch an integer >= 0, found ", epoch_v);
  DIFFLUT_CHECK(std::isfinite(base_v) && base_v >= 0, name(),
                ".load_state_dict: expected a finite base_lr >= 0, found ", base_v);
  epoch_ = static_cast<int64_t>(epoch_v);
  base_lr_ = base_v;
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
