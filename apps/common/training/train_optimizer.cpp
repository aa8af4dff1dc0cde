// Training step 3, the optimizer (see train_optimizer.h).
#include "common/training/train_optimizer.h"

#include "autograd/optim/adam.h"
#include "autograd/optim/sgd.h"

namespace difflut::app {

OptimizerSetup make_optimizer(const TrainSettings& t, Module& model) {
  OptimizerSetup o;
  if (t.optimizer == "sgd") {
    SGDOptions so;
    so.lr = t.lr;
    so.weight_decay = t.weight_decay;
    o.optimizer = std::make_unique<SGD>(model, so);
  } else {
    AdamOptions ao;
    ao.lr = t.lr;
    ao.weight_decay = t.weight_decay;
    if (t.optimizer == "adamw") {
      o.optimizer = std::make_unique<AdamW>(model, ao);
    } else {
      o.optimizer = std::make_unique<Adam>(model, ao);
    }
  }
  if (t.scheduler == "step")
    o.scheduler = std::make_unique<StepLR>(*o.optimizer, t.step_size, t.gamma);
  if (t.scheduler == "cosine")
    o.scheduler = std::make_unique<CosineAnnealingLR>(*o.optimizer, t.epochs);
  return o;
}

}  // namespace difflut::app
