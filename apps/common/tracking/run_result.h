// What a training run produces: one record per epoch and the run's totals. The trainer fills
// them; the run recorder stores them (database, checkpoint metadata) and the run directory's
// summary.json prints them.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace difflut::app {

struct EpochRecord {
  int64_t epoch = 0;           // 1-based
  double lr = 0.0;             // during the epoch
  double train_loss = 0.0;     // mean of the losses read during the epoch
  double val_accuracy = -1.0;  // -1: no validation set
  double seconds = 0.0;        // training steps only
  double samples_per_second = 0.0;
};

struct TrainResult {
  double test_accuracy = 0.0;
  double circuit_test_accuracy = -1.0;  // -1: not evaluated (evaluation.circuit=false)
  double best_val_accuracy = -1.0;      // -1: no validation set
  int64_t best_val_epoch = 0;
  int64_t epochs = 0;
  double train_seconds = 0.0;
  double samples_per_second = 0.0;
  std::string device;
  std::string run_dir;
  std::vector<EpochRecord> history;
};

}  // namespace difflut::app
