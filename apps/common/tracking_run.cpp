// One run's records: run directory, tracking database, checkpoints, resume, signals (see
// tracking_run.h).
#include "common/tracking_run.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>
#include <thread>

#include <unistd.h>

#include "autograd/io/mini_json.h"
#include "autograd/nn/module.h"
#include "common/checkpoint.h"
#include "common/config_compose.h"
#include "common/run_dir.h"
#include "common/tracking_info.h"
#include "common/trainer.h"
#include "tensor/random.h"
#if DIFFLUT_WITH_SQLITE
#include "common/tracking_sqlite.h"
#endif

namespace difflut::app {

namespace fs = std::filesystem;

namespace {

std::string num(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

double json_double(const json::Value* v, double fallback) {
  if (!v || v->kind != json::Value::Kind::number) return fallback;
  return std::strtod(v->text.c_str(), nullptr);
}

std::string history_json(const std::vector<EpochRecord>& history) {
  std::string s = "[";
  for (size_t i = 0; i < history.size(); ++i) {
    const EpochRecord& e = history[i];
    if (i) s += ',';
    s += "{\"epoch\":" + std::to_string(e.epoch) + ",\"lr\":" + num(e.lr) +
         ",\"train_loss\":" + num(e.train_loss) + ",\"val_accuracy\":" + num(e.val_accuracy) +
         ",\"seconds\":" + num(e.seconds) + ",\"samples_per_second\":" + num(e.samples_per_second) +
         "}";
  }
  return s + "]";
}

std::vector<EpochRecord> parse_history(const std::string& text, const std::string& what) {
  std::vector<EpochRecord> out;
  const json::Value v = json::parse(text, what);
  DIFFLUT_CHECK(v.is_array(), what, ": expected a JSON list of epochs");
  for (const json::Value& item : v.items) {
    EpochRecord e;
    e.epoch = static_cast<int64_t>(json_double(item.find("epoch"), 0));
    e.lr = json_double(item.find("lr"), 0);
    e.train_loss = json_double(item.find("train_loss"), 0);
    e.val_accuracy = json_double(item.find("val_accuracy"), -1);
    e.seconds = json_double(item.find("seconds"), 0);
    e.samples_per_second = json_double(item.find("samples_per_second"), 0);
    out.push_back(e);
  }
  return out;
}

// A config value with a default for configs written before the key existed.
bool opt_bool(const Config& c, const char* key, bool dflt) {
  const ConfigNode* n = c.find(key);
  return n && !n->is_null() ? c.get_bool(key) : dflt;
}
int64_t opt_int(const Config& c, const char* key, int64_t dflt) {
  const ConfigNode* n = c.find(key);
  return n && !n->is_null() ? c.get_int(key) : dflt;
}
std::string opt_string(const Config& c, const char* key, const std::string& dflt) {
  const ConfigNode* n = c.find(key);
  return n && !n->is_null() ? c.get_string(key) : dflt;
}

void write_text_atomic(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    DIFFLUT_CHECK(out.good(), "run directory: cannot write '", tmp.string(), "'");
  }
  fs::rename(tmp, path);
}

// ---- SIGINT / SIGTERM ------------------------------------------------------------------------------
// The handler only writes the signal number to a pipe; a watcher thread marks the experiment
// "interrupted" through its own connection and ends the process with 128 + signal.
int g_pipe[2] = {-1, -1};
struct sigaction g_old_int, g_old_term;

void on_signal(int sig) {
  const unsigned char b = static_cast<unsigned char>(sig);
  [[maybe_unused]] ssize_t n = ::write(g_pipe[1], &b, 1);
}

}  // namespace

#if DIFFLUT_WITH_SQLITE
struct RunRecorder::Db {
  std::unique_ptr<Tracker> tracker;
  ExperimentStart start;
  std::thread watcher;
};
#else
struct RunRecorder::Db {
  std::thread watcher;
};
#endif

void RunRecorder::warn(const std::string& what) {
  if (log_ && !warned_) *log_ << "difflut-train: warning: " << what << "\n" << std::flush;
  warned_ = true;
}

// Runs a database write; a failure during training is reported once and training goes on (the
// checkpoints are still written), rather than losing hours of work to a locked database.
template <class F>
void RunRecorder::track(const char* what, F&& f) {
  if (!tracking_) return;
  try {
    f();
  } catch (const std::exception& e) {
    warn(std::string("tracking database: ") + what + " failed: " + e.what());
  }
}

RunRecorder::RunRecorder(const Config& config, const TrainSettings& s, const std::string& device,
                         std::ostream* log)
    : log_(log), db_(std::make_unique<Db>()) {
  epochs_ = s.epochs;
  resume_ = opt_string(config, "training.resume", "");
  save_best_ = opt_bool(config, "training.save_best", true);
  checkpoint_every_ = opt_int(config, "training.checkpoint_every", 1);
  DIFFLUT_CHECK(checkpoint_every_ >= 0, "config key 'training.checkpoint_every': expected an ",
                "integer >= 0, found ", checkpoint_every_);
  tracking_ = opt_bool(config, "tracking.enabled", true);
  histograms_ = opt_bool(config, "tracking.histograms", true);
  histogram_bins_ = opt_int(config, "tracking.histogram_bins", 40);
  DIFFLUT_CHECK(histogram_bins_ >= 1 && histogram_bins_ <= 10000, "config key ",
                "'tracking.histogram_bins': expected an integer in [1, 10000], found ",
                histogram_bins_);
  db_path_ = opt_string(config, "tracking.db", "results/experiments.db");

  int64_t stored_id = 0;
  if (!resume_.empty()) {
    run_dir_ = resume_run_dir(resume_);
    const fs::path tj = fs::path(run_dir_) / kTrackingFile;
    if (fs::is_regular_file(tj)) {
      std::ifstream in(tj);
      std::stringstream ss;
      ss << in.rdbuf();
      const json::Value v = json::parse(ss.str(), tj.string());
      stored_id = static_cast<int64_t>(json_double(v.find("experiment_id"), 0));
      if (const json::Value* d = v.find("db"); d && d->is_string()) db_path_ = d->text;
    }
  } else {
    run_dir_ = fs::absolute(make_run_dir(s.output_dir, s.experiment_name, s.seed)).string();
  }
  save_config_file(config, (fs::path(run_dir_) / "config.yaml").string());

#if DIFFLUT_WITH_SQLITE
  if (tracking_) {
    db_path_ = fs::absolute(db_path_).lexically_normal().string();
    db_->tracker = std::make_unique<Tracker>(db_path_);
    ExperimentStart& st = db_->start;
    st = ExperimentStart::from_config(config);
    st.device = device;
    st.cuda_available = device == "cuda";
    st.git_commit = current_git_commit();
    st.run_dir = run_dir_;
    if (stored_id > 0 && db_->tracker->experiment(stored_id)) {
      experiment_id_ = stored_id;  // resume_experiment runs in restore(), once the epoch is known
    } else {
      experiment_id_ = db_->tracker->start_experiment(st);
    }
    write_text_atomic(fs::path(run_dir_) / kTrackingFile,
                      "{\"experiment_id\": " + std::to_string(experiment_id_) + ", \"db\": " + [&] {
                        std::string q;
                        json::write_string(q, db_path_);
                        return q;
                      }() + "}\n");
    if (log_)
      *log_ << "difflut-train: tracking experiment " << experiment_id_ << " in " << db_path_
            << "\n";
  }
#else
  (void)device;
  (void)stored_id;
  tracking_ = false;
#endif
  if (log_) *log_ << "difflut-train: run directory " << run_dir_ << "\n" << std::flush;

  // Signals: only when this process does not have a recorder already (one run at a time).
  if (g_pipe[0] < 0 && ::pipe(g_pipe) == 0) {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &g_old_int);
    sigaction(SIGTERM, &sa, &g_old_term);
    const std::string db_path = db_path_;
    const int64_t id = experiment_id_;
    const bool tracking = tracking_;
    std::ostream* out = log_;
    const std::string run_dir = run_dir_;
    db_->watcher = std::thread([db_path, id, tracking, out, run_dir] {
      unsigned char sig = 0;
      while (::read(g_pipe[0], &sig, 1) < 0) {
      }
      if (sig == 0) return;  // the recorder is done
#if DIFFLUT_WITH_SQLITE
      if (tracking) {
        try {
          TrackerOptions o;
          o.busy_timeout_s = 10;
          Tracker(db_path, o).finish(id, kStatusInterrupted);
        } catch (...) {
        }
      }
#else
      (void)tracking;
      (void)id;
#endif
      if (out)
        *out << "\ndifflut-train: interrupted by signal " << static_cast<int>(sig)
             << "; resume with training.resume=" << run_dir << "\n" << std::flush;
      ::_exit(128 + sig);
    });
  }
}

RunRecorder::~RunRecorder() {
  if (!finished_) {
    track("marking the run failed", [&] {
#if DIFFLUT_WITH_SQLITE
      db_->tracker->finish(experiment_id_, kStatusFailed);
#endif
    });
  }
  if (db_->watcher.joinable()) {
    sigaction(SIGINT, &g_old_int, nullptr);
    sigaction(SIGTERM, &g_old_term, nullptr);
    const unsigned char zero = 0;
    [[maybe_unused]] ssize_t n = ::write(g_pipe[1], &zero, 1);
    db_->watcher.join();
    ::close(g_pipe[0]);
    ::close(g_pipe[1]);
    g_pipe[0] = g_pipe[1] = -1;
  }
}

int64_t RunRecorder::restore(Module& model, Optimizer& optimizer, LRScheduler* scheduler,
                             Generator& generator, TrainResult& result) {
  if (resume_.empty()) return 1;
  const fs::path ckpt = fs::path(run_dir_) / kCheckpointFile;
  int64_t done = 0;
  if (fs::is_regular_file(ckpt)) {
    const CheckpointState st =
        load_training_checkpoint(ckpt.string(), model, optimizer, scheduler, generator);
    done = st.epoch;
    auto extra = [&](const char* key) -> std::string {
      auto it = st.extra.find(key);
      return it == st.extra.end() ? std::string() : it->second;
    };
    result.history = parse_history(extra("history"), ckpt.string() + " (history)");
    result.best_val_accuracy = extra("best_val_accuracy").empty() ? -1.0 : std::stod(extra("best_val_accuracy"));
    result.best_val_epoch = extra("best_val_epoch").empty() ? 0 : std::stoll(extra("best_val_epoch"));
    result.train_seconds = extra("train_seconds").empty() ? 0.0 : std::stod(extra("train_seconds"));
    if (log_)
      *log_ << "difflut-train: resuming " << run_dir_ << " after epoch " << done << " of "
            << epochs_ << "\n";
  } else if (log_) {
    *log_ << "difflut-train: " << run_dir_ << " has no " << kCheckpointFile
          << " (killed in its first epoch?): starting it again from epoch 1\n";
  }
  DIFFLUT_CHECK(done <= epochs_, "training.resume: the checkpoint is after epoch ", done,
                " but training.epochs is ", epochs_, " (set training.epochs to train longer)");
  track("resuming the experiment", [&] {
#if DIFFLUT_WITH_SQLITE
    db_->tracker->resume_experiment(experiment_id_, done, db_->start);
#endif
  });
  return done + 1;
}

void RunRecorder::end_epoch(const EpochRecord& rec, Module& model, Optimizer& optimizer,
                            const LRScheduler* scheduler, const Generator& generator,
                            const TrainResult& result,
                            const std::function<void(const std::string&)>& save_model) {
  const bool best = rec.val_accuracy >= 0 && rec.epoch == result.best_val_epoch;
  const std::string best_path = (fs::path(run_dir_) / kBestModelFile).string();
  if (best && save_best_ && save_model) save_model(best_path);
#if DIFFLUT_WITH_SQLITE
  if (tracking_) {
    std::vector<Histogram> hists;
    if (histograms_) {
      // LUT parameters only: mapping weights are wiring scores, not table values.
      for (auto& [name, p] : model.named_parameters()) {
        if (name.find("mapping") != std::string::npos || !p->value.defined()) continue;
        const std::vector<double> v = p->value.to(Device::cpu).to(DType::f64).to_vector<double>();
        if (v.empty()) continue;
        Histogram h;
        h.name = name;
        // Clamped parameters (DWN tables in [-1, 1]) keep one range over all epochs.
        if (std::isfinite(p->clamp_min) && std::isfinite(p->clamp_max)) {
          h.lo = p->clamp_min;
          h.hi = p->clamp_max;
        } else {
          h.lo = *std::min_element(v.begin(), v.end());
          h.hi = *std::max_element(v.begin(), v.end());
        }
        if (!(h.hi > h.lo)) h.hi = h.lo + 1.0;
        h.counts.assign(static_cast<size_t>(histogram_bins_), 0);
        const double scale = static_cast<double>(histogram_bins_) / (h.hi - h.lo);
        for (double x : v) {
          if (!std::isfinite(x)) continue;
          const int64_t b = std::clamp<int64_t>(static_cast<int64_t>((x - h.lo) * scale), 0,
                                                histogram_bins_ - 1);
          ++h.counts[static_cast<size_t>(b)];
        }
        hists.push_back(std::move(h));
      }
    }
    track("recording the epoch", [&] {
      Tracker& t = *db_->tracker;
      t.add_measurement(experiment_id_, rec.epoch, "train", rec.seconds, result.train_seconds,
                        {{"loss", rec.train_loss, "", false},
                         {"lr", rec.lr, "", false},
                         {"samples_per_second", rec.samples_per_second, "", false}},
                        hists);
      if (rec.val_accuracy >= 0) {
        if (best) t.clear_best(experiment_id_, "accuracy");
        t.add_measurement(experiment_id_, rec.epoch, "val", std::nullopt, result.train_seconds,
                          {{"accuracy", rec.val_accuracy, best && save_best_ ? best_path : "", best}});
      }
    });
  }
#else
  (void)model;
#endif
  const bool last = rec.epoch == epochs_;
  if (checkpoint_every_ > 0 && (rec.epoch % checkpoint_every_ == 0 || last)) {
    CheckpointState st;
    st.epoch = rec.epoch;
    st.extra["history"] = history_json(result.history);
    st.extra["best_val_accuracy"] = num(result.best_val_accuracy);
    st.extra["best_val_epoch"] = std::to_string(result.best_val_epoch);
    st.extra["train_seconds"] = num(result.train_seconds);
    st.extra["experiment_id"] = std::to_string(experiment_id_);
    save_training_checkpoint((fs::path(run_dir_) / kCheckpointFile).string(), model, optimizer,
                             scheduler, generator, st);
  }
}

void RunRecorder::finish(const TrainResult& result) {
  track("recording the test accuracy", [&] {
#if DIFFLUT_WITH_SQLITE
    Tracker& t = *db_->tracker;
    t.add_measurement(experiment_id_, result.epochs, "test", std::nullopt, result.train_seconds,
                      {{"accuracy", result.test_accuracy, "", false}});
    t.set_run_dir(experiment_id_, run_dir_);
    t.finish(experiment_id_, kStatusCompleted);
#else
    (void)result;
#endif
  });
  finished_ = true;
}

}  // namespace difflut::app
