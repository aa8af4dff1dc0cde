// Training step 3, the optimizer: Adam, AdamW or SGD over the model's parameters (training.lr,
// training.weight_decay) and the learning-rate schedule (training.scheduler.*).
#pragma once
#include <memory>

#include "autograd/nn/module.h"
#include "autograd/optim/lr_scheduler.h"
#include "autograd/optim/optimizer.h"
#include "common/config/settings.h"

namespace difflut::app {

struct OptimizerSetup {
  std::unique_ptr<Optimizer> optimizer;
  std::unique_ptr<LRScheduler> scheduler;  // null: a constant learning rate (scheduler.type none)
};

OptimizerSetup make_optimizer(const TrainSettings& t, Module& model);

}  // namespace difflut::app
