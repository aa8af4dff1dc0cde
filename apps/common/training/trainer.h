// The training runner behind difflut-train: takes the parsed settings of one run (settings.h) and
// goes through its steps in order: data (train_data.h), model (train_model.h), optimizer
// (train_optimizer.h), the run's records (tracking/tracking_run.h), epochs (train_epoch.h) with
// validation, the test evaluation (train_eval.h), and the run directory.
#pragma once
#include <iosfwd>
#include <string>

#include "common/config/config.h"
#include "common/config/settings.h"
#include "common/tracking/run_result.h"
#include "tensor/device.h"

namespace difflut::app {

// "auto" -> cuda when a GPU is usable, else cpu; "cuda" without a GPU is an error.
Device resolve_device(const std::string& setting);

struct TrainerIo {
  std::ostream* log = nullptr;  // progress and info lines (stderr); null: silent
  bool live_progress = false;   // redraw one live line (a terminal) instead of plain lines
  double plain_interval_s = 30.0;
};

// Runs one training with `settings` (parse_experiment_settings(resolved)). `resolved` is recorded
// as it is (config.yaml, the tracking row, the model file's stored config), never read for
// settings. Throws difflut::Error for bad settings, files or data.
TrainResult run_training(const ExperimentSettings& settings, const Config& resolved,
                         const TrainerIo& io);

}  // namespace difflut::app
