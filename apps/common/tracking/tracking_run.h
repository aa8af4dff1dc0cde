// What one difflut-train run records, in one object the trainer calls at four points: start
// (constructor), restore (after the model and optimizer exist), end of each epoch, and finish.
//   - the run directory exists from the start and holds config.yaml at once, so a killed run can
//     be found and resumed; tracking.json ties it to its row in the tracking database (id,
//     database path and the fingerprint of the row's config)
//   - the tracking database (tracking.* keys): experiment row, per-epoch measurement points with
//     metrics and LUT table histograms, the best checkpoint, the final status
//   - checkpoints: best.safetensors (best validation accuracy, training.save_best) and
//     checkpoint.safetensors (everything needed to continue, every training.checkpoint_every
//     epochs), both written atomically and flushed. An epoch is recorded in the database only
//     after its checkpoint is durable, so the database never claims an epoch that cannot be
//     resumed from.
//   - training.resume=<run dir or checkpoint>: restores model, optimizer, scheduler, generator,
//     history and epoch, and continues the same experiment row. History is append-only: the
//     stored row must be this run's (name, run directory, config fingerprint), the checkpoint is
//     read and validated completely, and only then is anything in the database or the run
//     directory changed; a refused resume leaves both exactly as they were (status included).
//   - a database that cannot record (disk full, locked past tracking.busy_timeout_s, read-only)
//     stops the run with one line: the checkpoint already written stays usable and the
//     experiment is marked "interrupted" where the database still takes that write.
//   - SIGINT / SIGTERM mark the experiment "interrupted" before the process ends; an exception
//     marks it "failed"; SIGKILL leaves it "running" (difflut-query flags it).
// Tracking needs SQLite; builds without it keep run directories and checkpoints only.
#pragma once
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>

#include "common/config/config.h"
#include "common/config/settings.h"
#include "common/tracking/checkpoint.h"  // declares Module, Optimizer, LRScheduler, Generator
#include "common/tracking/run_result.h"

namespace difflut::app {

class Tracker;

class RunRecorder {
 public:
  // Creates (or, resuming, reopens) the run directory, writes config.yaml, opens the tracking
  // database and starts the experiment row. `settings` (parsed from `config`) say what to record
  // and where; `config` itself is only recorded (config.yaml, the row's config column), never
  // read for settings. `device` is the resolved device ("cpu", "cuda").
  RunRecorder(const Config& config, const ExperimentSettings& settings, const std::string& device,
              std::ostream* log);
  // An unfinished run (an exception) is marked "failed".
  ~RunRecorder();
  RunRecorder(const RunRecorder&) = delete;
  RunRecorder& operator=(const RunRecorder&) = delete;

  const std::string& run_dir() const { return run_dir_; }
  int64_t experiment_id() const { return experiment_id_; }
  bool resuming() const { return !resume_.empty(); }

  // When resuming: validates the checkpoint (if any) and the stored experiment, restores the
  // training state into the arguments and the history, best values and time into `result`, and
  // only then continues the experiment row (epochs after the checkpoint that it records are
  // dropped, epochs the checkpoint holds but the row lacks are recorded from the checkpoint's
  // history) and rewrites config.yaml. Returns the first epoch to run (1 when not resuming).
  int64_t restore(Module& model, Optimizer& optimizer, LRScheduler* scheduler, Generator& generator,
                  TrainResult& result);

  // After epoch `rec.epoch` (its record already in result.history, best values updated, the
  // scheduler stepped): saves the best model with `save_model` when validation improved, writes
  // the resumable checkpoint, and then records metrics and histograms in one transaction. A
  // failed record throws (a tracking failure: the run stops, marked "interrupted").
  void end_epoch(const EpochRecord& rec, Module& model, Optimizer& optimizer,
                 const LRScheduler* scheduler, const Generator& generator,
                 const TrainResult& result,
                 const std::function<void(const std::string&)>& save_model);

  // After the test evaluation: the test accuracy, and status "completed".
  void finish(const TrainResult& result);

 private:
  // Runs a database write; a failure becomes a tracking failure (see tracking_failure).
  template <class F>
  void track(const std::string& what, F&& f);
  [[noreturn]] void tracking_failure(const std::string& what, const std::exception& e);
  void open_resumed_experiment(const std::string& experiment_name);
  void write_tracking_file();

  std::ostream* log_ = nullptr;
  Config config_;
  std::string run_dir_, resume_, db_path_, stored_hash_;
  int64_t experiment_id_ = 0;
  int64_t epochs_ = 0;
  double busy_timeout_s_ = 120.0;
  bool tracking_ = false, histograms_ = true, save_best_ = true;
  int64_t histogram_bins_ = 40, checkpoint_every_ = 1;
  int64_t last_checkpoint_epoch_ = 0;
  // started_: this process owns the row (fresh, or a resume past its validation); only then may
  // the destructor change its status. tracking_failed_: the database refused a write.
  bool started_ = false, finished_ = false, tracking_failed_ = false;
  struct Db;
  std::unique_ptr<Db> db_;
};

}  // namespace difflut::app
