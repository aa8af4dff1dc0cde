// Learning-rate schedules driven per epoch (or per step, as the caller chooses): StepLR and
// CosineAnnealingLR, in closed form from the base lr, with state for exact resume.
#pragma once
#include <cstdint>

#include "autograd/io/named_tensors.h"
#include "autograd/optim/optimizer.h"

namespace difflut {

class LRScheduler {
 public:
  // Takes the optimizer's current lr as the base lr; the schedule starts at epoch 0.
  explicit LRScheduler(Optimizer& opt);
  virtual ~LRScheduler() = default;

  // Advances one epoch and sets the optimizer's lr to the schedule's value there.
  void step();
  int64_t last_epoch() const { return epoch_; }
  double base_lr() const { return base_lr_; }
  // The schedule's lr at `epoch` (pure function of the base lr and the options).
  virtual double lr_at(int64_t epoch) const = 0;
  virtual std::string name() const = 0;

  // {"scheduler.last_epoch" i64 [1], "scheduler.base_lr" f64 [1]}; load re-applies lr_at(epoch).
  NamedTensors state_dict() const;
  void load_state_dict(const NamedTensors& state);

 protected:
  Optimizer& opt_;
  double base_lr_;
  int64_t epoch_ = 0;
};

// lr = base * gamma^floor(epoch / step_size).
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& opt, int64_t step_size, double gamma = 0.1);
  double lr_at(int64_t epoch) const override;
  std::string name() const override { return "step_lr"; }

 private:
  int64_t step_size_;
  double gamma_;
};

// lr = eta_min + (base - eta_min) * (1 + cos(pi * epoch / T_max)) / 2.
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& opt, int64_t t_max, double eta_min = 0.0);
  double lr_at(int64_t epoch) const override;
  std::string name() const override { return "cosine_annealing_lr"; }

 private:
  int64_t t_max_;
  double eta_min_;
};

}  // namespace difflut
