// What one difflut-train run records, in one object the trainer calls at four points: start
// (constructor), restore (after the model and optimizer exist), end of each epoch, and finish.
//   - the run directory exists from the start and holds config.yaml at once, so a killed run can
//     be found and resumed; tracking.json ties it to its row in the tracking database
//   - the tracking database (tracking.* keys): experiment row, per-epoch measurement points with
//     metrics and LUT table histograms, the best checkpoint, the final status
//   - checkpoints: best.safetensors (best validation accuracy, training.save_best) and
//     checkpoint.safetensors (everything needed to continue, every training.checkpoint_every
//     epochs), both written atomically
//   - training.resume=<run dir or checkpoint>: restores model, optimizer, scheduler, generator,
//     history and epoch, and continues the same experiment row
//   - SIGINT / SIGTERM mark the experiment "interrupted" before the process ends; an exception
//     marks it "failed"; SIGKILL leaves it "running" (difflut-query flags it).
// Tracking needs SQLite; builds without it keep run directories and checkpoints only.
#pragma once
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>

#include "common/config.h"

namespace difflut {
class Module;
class Optimizer;
class LRScheduler;
class Generator;
}  // namespace difflut

namespace difflut::app {

struct TrainSettings;
struct TrainResult;
struct EpochRecord;
class Tracker;

class RunRecorder {
 public:
  // Creates (or, resuming, reopens) the run directory, writes config.yaml, opens the tracking
  // database and starts the experiment row. `device` is the resolved device ("cpu", "cuda").
  RunRecorder(const Config& config, const TrainSettings& settings, const std::string& device,
              std::ostream* log);
  // An unfinished run (an exception) is marked "failed".
  ~RunRecorder();
  RunRecorder(const RunRecorder&) = delete;
  RunRecorder& operator=(const RunRecorder&) = delete;

  const std::string& run_dir() const { return run_dir_; }
  int64_t experiment_id() const { return experiment_id_; }
  bool resuming() const { return !resume_.empty(); }

  // When resuming from a checkpoint: restores the training state into the arguments and the
  // history, best values and time into `result`; returns the first epoch to run (1 otherwise).
  int64_t restore(Module& model, Optimizer& optimizer, LRScheduler* scheduler, Generator& generator,
                  TrainResult& result);

  // After epoch `rec.epoch` (its record already in result.history, best values updated, the
  // scheduler stepped): records metrics and histograms, saves the best model with `save_model`
  // when validation improved, and writes the resumable checkpoint.
  void end_epoch(const EpochRecord& rec, Module& model, Optimizer& optimizer,
                 const LRScheduler* scheduler, const Generator& generator, const TrainResult& result,
                 const std::function<void(const std::string&)>& save_model);

  // After the test evaluation: the test accuracy, and status "completed".
  void finish(const TrainResult& result);

 private:
  void warn(const std::string& what);
  template <class F>
  void track(const char* what, F&& f);

  std::ostream* log_ = nullptr;
  std::string run_dir_, resume_, db_path_;
  int64_t experiment_id_ = 0;
  int64_t epochs_ = 0;
  bool tracking_ = false, histograms_ = true, save_best_ = true;
  int64_t histogram_bins_ = 40, checkpoint_every_ = 1;
  bool finished_ = false, warned_ = false;
  struct Db;
  std::unique_ptr<Db> db_;
};

}  // namespace difflut::app
