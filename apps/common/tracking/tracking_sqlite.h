// The experiment tracking database (SQLite), with the original DiffLUT's three tables:
//   experiments         one row per run: the full resolved config (JSON), summary columns, status,
//                       device, git commit, start and end times
//   measurement_points  one row per (experiment, epoch, phase): timing
//   metrics             one row per metric of a measurement point, with checkpoint path and is_best
// plus `histograms` (per-epoch histograms of LUT table values, for difflut-plot). The schema
// version is SQLite's user_version; opening a database applies the missing migrations in one
// transaction. Many processes may write at once (a sweep's runs share one file): the database is
// in WAL mode, waits on locks (busy timeout), and every write is one IMMEDIATE transaction.
// Layout and statuses: docs/PIPELINE.md.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/tracking/tracking_info.h"

struct sqlite3;

namespace difflut::app {

// Experiment statuses. A run that dies without a word (SIGKILL, power loss) stays "running";
// difflut-query flags such rows whose process is gone on this host.
inline constexpr const char* kStatusCreated = "created";
inline constexpr const char* kStatusRunning = "running";
inline constexpr const char* kStatusCompleted = "completed";
inline constexpr const char* kStatusFailed = "failed";
inline constexpr const char* kStatusInterrupted = "interrupted";  // SIGINT / SIGTERM

struct TrackerOptions {
  double busy_timeout_s = 120.0;  // how long a write waits for another writer's lock
  bool create = true;             // false: a missing file is an error (the read-only tools)
  // true: open with SQLite's read-only URI (mode=ro), falling back to immutable=1 when even that
  // fails (read-only media, where the WAL index cannot be created); nothing is written, no
  // migration runs. false: the database must be writable, else the constructor throws.
  bool read_only = false;
};
// What the read-only tools (difflut-query, difflut-plot) open a database with.
inline TrackerOptions existing_database_options() { return TrackerOptions{30.0, false, true}; }

// One metric to record at a measurement point.
struct MetricValue {
  std::string name;
  double value = 0.0;           // NaN is stored as NULL
  std::string checkpoint_path;  // "" = none
  bool is_best = false;
};

// A histogram of values in [lo, hi] with equal-width bins.
struct Histogram {
  std::string name;  // e.g. the parameter name "layers.0.table"
  double lo = 0.0, hi = 1.0;
  std::vector<int64_t> counts;
};

// ---- reading ---------------------------------------------------------------------------------------
struct ExperimentRow {
  int64_t id = 0;
  std::string name, status, created_at, start_time, end_time, device, git_commit, run_dir;
  std::string hostname, slurm_job_id, model_name, node_type, layer_type, dataset_name, optimizer;
  std::string encoder_name, config_json;
  std::optional<int64_t> hidden_size, num_layers, n, batch_size, epochs, lut_count, pid;
  std::optional<double> learning_rate;
  int64_t epochs_done = 0;  // highest epoch with a measurement point (0: none)
  // Best value per "<phase>/<metric>" (highest for accuracies, lowest for losses).
  std::map<std::string, double> best;
  // The epoch of that best value.
  std::map<std::string, int64_t> best_epoch;
  // The checkpoint recorded with is_best (the best-validation model), "" if none.
  std::string best_checkpoint;
};

// One measurement point with its metrics.
struct MeasurementRow {
  int64_t id = 0;
  int64_t epoch = 0;
  std::optional<int64_t> step;
  std::string phase, timestamp;
  std::optional<double> epoch_time, total_time;
  std::vector<std::pair<std::string, std::optional<double>>> metrics;  // in insertion order
};

struct HistogramRow {
  int64_t epoch = 0;
  std::string phase;
  Histogram histogram;
};

struct ExperimentFilter {
  std::string name;          // SQL LIKE pattern on the name; without % or _ a substring match
  std::string status;        // exact status, "" = any
  std::vector<int64_t> ids;  // only these ids ("" = all)
};

class Tracker {
 public:
  static constexpr int kSchemaVersion = 2;

  // Opens (creating if allowed) the database at `path`, creating its directory, and migrates it
  // to kSchemaVersion. Throws for a missing file with create=false, a file that is not a SQLite
  // database, or a schema newer than this program knows.
  explicit Tracker(const std::string& path, TrackerOptions options = {});
  ~Tracker();
  Tracker(const Tracker&) = delete;
  Tracker& operator=(const Tracker&) = delete;

  const std::string& path() const { return path_; }
  int schema_version() const;

  // ---- writing (each call is one transaction) ----
  // Runs `f` in one IMMEDIATE transaction: the write calls it makes join it, so they commit
  // together or (when `f` throws) not at all.
  void atomically(const std::function<void()>& f);
  // A new experiment row, status "running", start_time now; returns its id.
  int64_t start_experiment(const ExperimentStart& start);
  // Continues experiment `id` after a crash or interruption: status back to "running", process
  // facts (pid, host, SLURM job) and the planned epochs updated, end_time cleared, and every measurement point (with its
  // metrics and histograms) of an epoch after `completed_epochs` deleted, so the resumed run
  // records those epochs again exactly once. The caller (RunRecorder::restore) decides whether
  // deleting them is allowed; this call only does it.
  void resume_experiment(int64_t id, int64_t completed_epochs, const ExperimentStart& start);
  // A measurement point with its metrics and histograms, all in one transaction; returns its id.
  int64_t add_measurement(int64_t experiment_id, int64_t epoch, const std::string& phase,
                          std::optional<double> epoch_time, std::optional<double> total_time,
                          const std::vector<MetricValue>& metrics = {},
                          const std::vector<Histogram>& histograms = {},
                          std::optional<int64_t> step = std::nullopt);
  void add_metric(int64_t measurement_point_id, const MetricValue& metric);
  // Clears is_best on every earlier metric `name` of the experiment, so exactly one row (the
  // newest best) carries it; called when a new best checkpoint replaces the old file.
  void clear_best(int64_t experiment_id, const std::string& metric_name);
  void set_status(int64_t experiment_id, const std::string& status);
  // Final status plus end_time now.
  void finish(int64_t experiment_id, const std::string& status);
  void set_run_dir(int64_t experiment_id, const std::string& run_dir);

  // ---- reading ----
  std::vector<ExperimentRow> experiments(const ExperimentFilter& filter = {}) const;
  std::optional<ExperimentRow> experiment(int64_t id) const;
  std::vector<MeasurementRow> measurements(int64_t experiment_id) const;
  std::vector<HistogramRow> histograms(int64_t experiment_id) const;

 private:
  void migrate();
  void open_read_only(const TrackerOptions& options);
  void fill_best(ExperimentRow& row) const;

  std::string path_;
  sqlite3* db_ = nullptr;
};

// The default database path: $DIFFLUT_TRACKING_DB, else results/experiments.db.
std::string default_tracking_db();

// True when process `pid` exists on this machine (for flagging dead "running" rows).
bool process_alive(int64_t pid);

}  // namespace difflut::app
