// The run directory difflut-train writes: <output_dir>/<experiment_name>/<YYYYmmdd-HHMMSS>-seed<S>/
// holding config.yaml (the resolved configuration), model.safetensors + model.json (the trained
// network, lut/lut_network.h) and summary.json (results, timing, per-epoch history).
#pragma once
#include <cstdint>
#include <string>

#include "common/config/config.h"

namespace difflut {
class LUTNetwork;
}

namespace difflut::app {

struct ExperimentSettings;
struct TrainResult;

struct RunDirContents {
  const Config* config = nullptr;
  LUTNetwork* model = nullptr;
  const TrainResult* result = nullptr;
  const ExperimentSettings* settings = nullptr;
  std::string dataset_note;
  int64_t num_train = 0, num_val = 0, num_test = 0;
};

// A fresh directory <output_dir>/<experiment_name>/<timestamp>-seed<seed>[-<n>] (created).
// <output_dir>/<experiment_name>/<prefix><YYYYmmdd-HHMMSS><suffix>, created; "-2", "-3", ... is
// appended when that name exists (two runs started in the same second). `what` names it in errors.
std::string make_timestamped_dir(const std::string& output_dir, const std::string& experiment_name,
                                 const std::string& prefix, const std::string& suffix,
                                 const std::string& what);
std::string make_run_dir(const std::string& output_dir, const std::string& experiment_name,
                         uint64_t seed);
// The summary.json text (exposed for tests).
std::string summary_json(const RunDirContents& c);
// Creates the run directory and writes every file; returns its path.
std::string write_run_dir(const std::string& output_dir, const std::string& experiment_name,
                          uint64_t seed, const RunDirContents& contents);
// Writes every file into the existing directory `dir` (the trainer creates it at the start, see
// tracking_run.h); returns `dir`.
std::string write_run_files(const std::string& dir, const RunDirContents& contents);

}  // namespace difflut::app
