// Sweeps (`difflut-train -m key=a,b key2=x,y`): the expanded override sets run as separate
// difflut-train processes, either locally (launcher=local: N at a time, one log file per run) or
// as one SLURM array job (launcher=slurm: an overrides file with one run per line and an sbatch
// script whose array task i runs line i). Each run is an ordinary single run, so tracking,
// checkpoints and resume work the same inside a sweep. See docs/PIPELINE.md.
#pragma once
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "common/config/settings.h"

namespace difflut::app {

// What every run of a sweep shares.
struct SweepContext {
  std::string program;                 // the difflut-train executable (absolute)
  std::vector<std::string> base_args;  // e.g. --config-dir DIR --config-name NAME
  std::string sweep_dir;               // where logs, the overrides file and the script go
  std::string working_dir;             // where the runs start ("" = the current directory)
  std::ostream* log = nullptr;         // progress lines; null: silent
};

// One result per run of a local sweep.
struct LocalRunResult {
  std::vector<std::string> overrides;
  int exit_code = -1;  // -1: killed by a signal
  std::string log_path;
};
// Runs every override set as `program base_args... overrides...` with stdout and stderr to
// <sweep_dir>/run-<i>.log, at most settings.n_jobs at once, in order of the sets.
std::vector<LocalRunResult> run_local_sweep(const std::vector<std::vector<std::string>>& sets,
                                            const SweepContext& context,
                                            const LauncherSettings& settings);

struct SlurmSubmission {
  std::string job_id;
  std::string script_path;     // <sweep_dir>/array.sbatch
  std::string overrides_path;  // <sweep_dir>/overrides.txt
  int wait_exit_code = 0;      // with settings.wait: sbatch's exit status (non-zero: a task failed)
};
// The overrides file: line i (0-based = SLURM_ARRAY_TASK_ID) holds run i's overrides, each word
// shell-quoted.
std::string overrides_file_text(const std::vector<std::vector<std::string>>& sets);
// The sbatch script for `num_tasks` array tasks (exposed for tests).
std::string slurm_array_script(const SweepContext& context, const LauncherSettings& settings,
                               const std::string& overrides_path, size_t num_tasks,
                               const std::string& job_name);
// Writes the overrides file and the script into sweep_dir and submits them with `sbatch`
// ($DIFFLUT_SBATCH overrides the command). Throws when sbatch fails, with its output.
SlurmSubmission submit_slurm_sweep(const std::vector<std::vector<std::string>>& sets,
                                   const SweepContext& context, const LauncherSettings& settings,
                                   const std::string& job_name);

// A fresh <output_dir>/<experiment_name>/multirun-<YYYYmmdd-HHMMSS>[-n] directory (created).
std::string make_sweep_dir(const std::string& output_dir, const std::string& experiment_name);

// `word` quoted for sh ('...' with embedded quotes escaped); plain words stay as they are.
std::string shell_quote(const std::string& word);

// The whole `-m` path of difflut-train: makes the sweep directory (from the first run's
// output_dir and experiment_name), then runs or submits with the launcher the first composed
// config chose. `runs[i]` holds the parsed settings of `sets[i]`. Returns the process exit code
// (0: every run succeeded, or the array job was submitted).
int run_sweep(const std::vector<std::vector<std::string>>& sets,
              const std::vector<ExperimentSettings>& runs, const LauncherSettings& settings,
              const std::vector<std::string>& base_args, std::ostream& log);
}  // namespace difflut::app
