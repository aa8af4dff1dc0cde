// Training step 4, one epoch: the batch loop (forward, loss with the optional node regulariser,
// backward, optimizer step), the running loss for the progress line, and the epoch's record
// (mean loss, time, throughput, learning rate).
#pragma once
#include <cstdint>
#include <string>

#include "autograd/graph.h"
#include "autograd/optim/optimizer.h"
#include "common/config/settings.h"
#include "common/tracking/run_result.h"
#include "common/training/progress.h"
#include "data/loader.h"
#include "lut/lut_network.h"

namespace difflut::app {

// Test hook DIFFLUT_TEST_SIGNAL_AT=<epoch>:<step>:<KILL|STOP>: after step <step> (1-based) of
// epoch <epoch> the process sends itself SIGKILL or SIGSTOP. Tests use it to stop a run at a
// point the trainer defines (the checkpoint of every earlier epoch is durable by then) instead
// of guessing from timing, which failed on loaded machines.
struct SignalHook {
  int64_t epoch = 0, step = 0;
  int signal = 0;  // 0: no hook
};
SignalHook signal_hook_from_env();

// Called by EpochRunner around every training step (e.g. the sparse refresh's gradient probe).
struct StepHook {
  virtual ~StepHook() = default;
  // Before step `step` (0-based) of an epoch of `num_steps` steps.
  virtual void before_forward(int64_t step, int64_t num_steps) = 0;
  // After that step's backward, before the optimizer step.
  virtual void after_backward(const Graph& g) = 0;
};

class EpochRunner {
 public:
  // The references must outlive the runner. `num_epochs` is for the progress line.
  EpochRunner(LUTNetwork& model, Optimizer& optimizer, DataLoader& loader,
              ProgressReporter& progress, const ModelSettings& model_settings, int64_t num_epochs);
  // Trains epoch `epoch` (1-based) in train mode and returns its record (val_accuracy unset).
  // Throws when the loss is not finite.
  EpochRecord run(int64_t epoch);
  // Calls `hook` around every step from now on (null: none). It must outlive the runner's runs.
  void set_step_hook(StepHook* hook) { step_hook_ = hook; }

 private:
  LUTNetwork& model_;
  Optimizer& optimizer_;
  DataLoader& loader_;
  ProgressReporter& progress_;
  const ModelSettings& settings_;
  int64_t num_epochs_;
  int64_t loss_every_;  // read the loss (a host sync on the GPU) every this many steps
  SignalHook hook_;
  StepHook* step_hook_ = nullptr;
  Graph g_;
};

// "epoch E/N: loss L, S s, R samples/s, lr X[, val_accuracy A]" (A when rec.val_accuracy is set).
std::string epoch_summary(const EpochRecord& rec, int64_t num_epochs);

}  // namespace difflut::app
