// What the tracking database records about a run that does not need SQLite: the resolved config as
// JSON, the summary columns the original DiffLUT's `experiments` table has (model, dataset, node
// type, ...) read from that config, the git commit of the source tree, and UTC timestamps.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "common/config/config.h"

namespace difflut::app {

// The tree as compact JSON (maps keep their order; non-finite numbers become null).
std::string config_to_json(const ConfigNode& node);

// A fingerprint of a config snapshot (FNV-1a 64 of its JSON text, 16 hex digits): tracking.json
// keeps the one of the experiment row's `config`, so a resume can tell that the row its stored id
// points at is still this run's (ids are reused when a database is recreated).
std::string config_hash(const std::string& config_json);

// Everything start_experiment stores. from_config() fills the summary columns from the config
// keys of docs/CONFIG.md (absent keys stay empty); the caller adds device and run facts.
struct ExperimentStart {
  std::string name;
  std::string config_json;  // the full resolved config (column `config`)
  std::string model_name, node_type, layer_type, dataset_name, optimizer, encoder_name;
  std::string encoder_params_json;  // the encoder map as JSON
  std::optional<int64_t> hidden_size, num_layers, n, batch_size, epochs, lut_count;
  std::optional<double> learning_rate;
  std::string device;
  bool cuda_available = false;
  std::string git_commit;  // "" when unknown
  std::string run_dir;
  std::string hostname;
  int64_t pid = 0;
  std::string slurm_job_id;  // "<job>_<task>" inside a SLURM array task, "<job>" in a job, else ""
  std::string notes;

  static ExperimentStart from_config(const Config& config);
};

// `git rev-parse HEAD` of the repository holding `dir` (the executable's directory by default,
// then the working directory), with "-dirty" when tracked files differ from HEAD; "" if git or a
// repository is missing.
std::string current_git_commit(const std::optional<std::string>& dir = std::nullopt);

// SLURM_ARRAY_JOB_ID/SLURM_ARRAY_TASK_ID or SLURM_JOB_ID of the environment, "" outside SLURM.
std::string current_slurm_job();

// This host's short name.
std::string current_hostname();

}  // namespace difflut::app
