// One run's records: run directory, tracking database, checkpoints, resume, signals (see
// tracking_run.h).
#include "common/tracking/tracking_run.h"

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
#include "common/config/config_compose.h"
#include "common/config/settings.h"
#include "common/tracking/checkpoint.h"
#include "common/tracking/json_number.h"
#include "common/tracking/run_dir.h"
#include "common/tracking/run_result.h"
#include "common/tracking/tracking_info.h"
#include "tensor/error.h"
#include "tensor/random.h"
#if DIFFLUT_WITH_SQLITE
#include "common/tracking/tracking_sqlite.h"
#endif

namespace difflut::app {

namespace fs = std::filesystem;

namespace {

// What a checkpoint describes (the keys resume_config refuses to change: seed, model,
// dataloaders) as a fingerprint: the checkpoint stores it, and a resume compares it with the run's
// config.yaml, so an edited config.yaml cannot continue the run as another experiment (a model
// key changed there trained the remaining epochs with it while the row recorded the old value).
std::string setup_fingerprint(const Config& c) {
  ConfigNode m = ConfigNode::map();
  for (const char* key : {"seed", "model", "dataloaders"})
    if (const ConfigNode* n = c.find(key)) m.set(key, *n);
  return config_hash(config_to_json(m));
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
    s += "{\"epoch\":" + std::to_string(e.epoch) + ",\"lr\":" + json_number(e.lr) +
         ",\"train_loss\":" + json_number(e.train_loss) +
         ",\"val_accuracy\":" + json_number(e.val_accuracy) +
         ",\"seconds\":" + json_number(e.seconds) +
         ",\"samples_per_second\":" + json_number(e.samples_per_second) + "}";
  }
  return s + "]";
}

// The checkpoint's epoch history, validated: exactly `epochs` entries numbered 1..epochs with
// finite values (a damaged history would be written into the database as measurements).
std::vector<EpochRecord> parse_history(const std::string& text, int64_t epochs,
                                       const std::string& what) {
  std::vector<EpochRecord> out;
  const json::Value v = json::parse(text.empty() ? std::string("[]") : text, what);
  DIFFLUT_CHECK(v.is_array(), what, ": expected a JSON list of epochs");
  DIFFLUT_CHECK(static_cast<int64_t>(v.items.size()) == epochs, what, ": expected ", epochs,
                " epochs (the checkpoint's epoch), found ", v.items.size());
  for (const json::Value& item : v.items) {
    EpochRecord e;
    auto field = [&](const char* key, bool may_be_null) {
      const json::Value* f = item.find(key);
      if (may_be_null && f && f->kind == json::Value::Kind::null) return -1.0;
      const double x = json_double(f, std::nan(""));
      DIFFLUT_CHECK(std::isfinite(x), what, ": epoch ", out.size() + 1, ": expected a finite '",
                    key, "', found ", f ? f->text : std::string("none"));
      return x;
    };
    const double epoch = field("epoch", false);
    DIFFLUT_CHECK(epoch == static_cast<double>(out.size() + 1), what, ": entry ", out.size() + 1,
                  ": expected epoch ", out.size() + 1, ", found ", epoch);
    e.epoch = static_cast<int64_t>(epoch);
    e.lr = field("lr", false);
    e.train_loss = field("train_loss", false);
    e.val_accuracy = field("val_accuracy", true);
    e.seconds = field("seconds", false);
    e.samples_per_second = field("samples_per_second", false);
    DIFFLUT_CHECK(e.lr >= 0 && e.seconds >= 0 && e.samples_per_second >= 0 &&
                      e.val_accuracy <= 1.0 && (e.val_accuracy >= 0 || e.val_accuracy == -1.0),
                  what, ": epoch ", e.epoch, ": expected lr, seconds, samples_per_second >= 0 and ",
                  "val_accuracy in [0, 1] or null");
    out.push_back(e);
  }
  return out;
}

void write_text_atomic(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    DIFFLUT_CHECK(out.good(), "run directory: cannot write '", tmp.string(), "'");
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  DIFFLUT_CHECK(!ec, "run directory: cannot rename '", tmp.string(), "' to '", path.string(),
                "': ", ec.message());
}

// The same text save_config_file writes, but atomically (a resume rewrites it).
std::string config_file_text(const Config& c) {
  return "# Resolved DiffLUT configuration: every key after composition and overrides.\n" +
         c.to_yaml();
}

// ---- test hook --------------------------------------------------------------------------------------
// (the trainer's DIFFLUT_TEST_SIGNAL_AT lives in trainer.cpp; see docs/PIPELINE.md)

// ---- SIGINT / SIGTERM ------------------------------------------------------------------------------
// The handler only writes the signal number to a pipe; a watcher thread marks the experiment
// "interrupted" through its own connection and ends the process with 128 + signal.
int g_pipe[2] = {-1, -1};
struct sigaction g_old_int, g_old_term;
// The experiment the watcher marks: 0 until this process owns a row (a resume still validating
// owns none, so a Ctrl-C then leaves the row as it was).
std::atomic<int64_t> g_experiment_id{0};

void on_signal(int sig) {
  const unsigned char b = static_cast<unsigned char>(sig);
  [[maybe_unused]] ssize_t n = ::write(g_pipe[1], &b, 1);
}

}  // namespace

#if DIFFLUT_WITH_SQLITE
struct RunRecorder::Db {
  std::unique_ptr<Tracker> tracker;
  ExperimentStart start;
  std::optional<ExperimentRow> resumed;  // the stored row a resume continues (validated)
  std::thread watcher;
};
#else
struct RunRecorder::Db {
  std::thread watcher;
};
#endif

void RunRecorder::tracking_failure(const std::string& what, const std::exception& e) {
  tracking_failed_ = true;
  const std::string saved = last_checkpoint_epoch_ > 0
                                ? str_cat("the checkpoint after epoch ", last_checkpoint_epoch_,
                                          " is saved: resume with training.resume=", run_dir_,
                                          " once the database can be written")
                                : std::string("no checkpoint was written yet");
  DIFFLUT_FAIL(e.what(), " (while ", what, "; ", saved, ")");
}

// Every database write of a running experiment goes through here. A write that fails is a
// tracking failure: the run stops, because a run whose history is silently missing epochs is
// worse than a run that has to be resumed.
template <class F>
void RunRecorder::track(const std::string& what, F&& f) {
  if (!tracking_) return;
  try {
    f();
  } catch (const std::exception& e) {
    tracking_failure(what, e);
  }
}

void RunRecorder::write_tracking_file() {
  std::string db;
  json::write_string(db, db_path_);
  write_text_atomic(fs::path(run_dir_) / kTrackingFile,
                    "{\"experiment_id\": " + std::to_string(experiment_id_) + ", \"db\": " + db +
                        ", \"config_hash\": \"" + stored_hash_ + "\"}\n");
}

RunRecorder::RunRecorder(const Config& config, const ExperimentSettings& s,
                         const std::string& device, std::ostream* log)
    : log_(log), config_(config), db_(std::make_unique<Db>()) {
  epochs_ = s.training.epochs;
  resume_ = s.training.resume;
  save_best_ = s.training.save_best;
  checkpoint_every_ = s.training.checkpoint_every;
  tracking_ = s.tracking.enabled;
  histograms_ = s.tracking.histograms;
  histogram_bins_ = s.tracking.histogram_bins;
  busy_timeout_s_ = s.tracking.busy_timeout_s;
  db_path_ = s.tracking.db;

  int64_t stored_id = 0;
  if (!resume_.empty()) {
    // Nothing is written here: the run directory, its files and the database stay as they are
    // until restore() has validated the checkpoint and the stored experiment.
    run_dir_ = resume_run_dir(resume_);
    const fs::path tj = fs::path(run_dir_) / kTrackingFile;
    std::error_code ec;
    if (fs::exists(tj, ec)) {
      DIFFLUT_CHECK(fs::is_regular_file(tj, ec), "training.resume: '", tj.string(),
                    "': expected a file, found a directory or special file");
      std::ifstream in(tj);
      std::stringstream ss;
      ss << in.rdbuf();
      DIFFLUT_CHECK(in.good() || in.eof(), "training.resume: cannot read '", tj.string(), "'");
      const json::Value v = json::parse(ss.str(), tj.string());
      const double id = json_double(v.find("experiment_id"), std::nan(""));
      DIFFLUT_CHECK(std::isfinite(id) && id >= 1 && id <= 9.0e15 && id == std::floor(id),
                    "training.resume: '", tj.string(),
                    "': expected 'experiment_id' an integer >= 1, found ",
                    v.find("experiment_id") ? v.find("experiment_id")->text : std::string("none"));
      stored_id = static_cast<int64_t>(id);
      if (const json::Value* d = v.find("db"); d && d->is_string()) db_path_ = d->text;
      if (const json::Value* h = v.find("config_hash"); h && h->is_string()) stored_hash_ = h->text;
    }
  }

#if DIFFLUT_WITH_SQLITE
  if (tracking_) {
    db_path_ = fs::absolute(db_path_).lexically_normal().string();
    TrackerOptions to;
    to.busy_timeout_s = busy_timeout_s_;
    // Opening checks the database is writable before any training time is spent.
    db_->tracker = std::make_unique<Tracker>(db_path_, to);
    ExperimentStart& st = db_->start;
    st = ExperimentStart::from_config(config);
    st.device = device;
    st.cuda_available = device == "cuda";
    st.git_commit = current_git_commit();
  }
#else
  (void)device;
  (void)stored_id;
  tracking_ = false;
#endif

  if (resume_.empty()) {
    run_dir_ = fs::absolute(make_run_dir(s.output_dir, s.experiment_name, s.seed)).string();
    try {
      save_config_file(config, (fs::path(run_dir_) / "config.yaml").string());
#if DIFFLUT_WITH_SQLITE
      if (tracking_) {
        db_->start.run_dir = run_dir_;
        stored_hash_ = config_hash(db_->start.config_json);
        experiment_id_ = db_->tracker->start_experiment(db_->start);
        write_tracking_file();
      }
#endif
    } catch (...) {
      // A run that could not start leaves nothing behind: the directory is ours and new.
      std::error_code ec;
      fs::remove_all(run_dir_, ec);
      throw;
    }
    started_ = true;
    g_experiment_id = experiment_id_;
    if (log_ && tracking_)
      *log_ << "difflut-train: tracking experiment " << experiment_id_ << " in " << db_path_
            << "\n";
  } else {
#if DIFFLUT_WITH_SQLITE
    if (tracking_ && stored_id > 0) {
      experiment_id_ = stored_id;
      open_resumed_experiment(s.experiment_name);
    }
#endif
  }
  if (log_) *log_ << "difflut-train: run directory " << run_dir_ << "\n" << std::flush;

  // Signals: only when this process does not have a recorder already (one run at a time).
  if (g_pipe[0] < 0 && ::pipe(g_pipe) == 0) {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &g_old_int);
    sigaction(SIGTERM, &sa, &g_old_term);
    const std::string db_path = db_path_;
    const bool tracking = tracking_;
    std::ostream* out = log_;
    const std::string run_dir = run_dir_;
    db_->watcher = std::thread([db_path, tracking, out, run_dir] {
      unsigned char sig = 0;
      while (::read(g_pipe[0], &sig, 1) < 0) {
      }
      if (sig == 0) return;  // the recorder is done
#if DIFFLUT_WITH_SQLITE
      if (const int64_t id = g_experiment_id.load(); tracking && id > 0) {
        try {
          TrackerOptions o;
          o.busy_timeout_s = 10;
          Tracker(db_path, o).finish(id, kStatusInterrupted);
        } catch (...) {
        }
      }
#else
      (void)tracking;
#endif
      if (out)
        *out << "\ndifflut-train: interrupted by signal " << static_cast<int>(sig)
             << "; resume with training.resume=" << run_dir << "\n"
             << std::flush;
      ::_exit(128 + sig);
    });
  }
}

#if DIFFLUT_WITH_SQLITE
// The row tracking.json names must be this run's: ids are reused when a database is recreated,
// and trusting the id rewrote another experiment's history.
void RunRecorder::open_resumed_experiment(const std::string& experiment_name) {
  std::optional<ExperimentRow> row = db_->tracker->experiment(experiment_id_);
  if (!row) {
    if (log_)
      *log_ << "difflut-train: experiment " << experiment_id_ << " of " << kTrackingFile
            << " is not in " << db_path_
            << " (a new database?): the resumed run will be recorded as a new experiment\n";
    experiment_id_ = 0;
    return;
  }
  auto same_dir = [](const std::string& a, const std::string& b) {
    std::error_code ec;
    return a == b || (!a.empty() && fs::exists(a, ec) && fs::equivalent(a, b, ec));
  };
  const std::string found_hash = config_hash(row->config_json);
  const bool hash_ok = stored_hash_.empty() || stored_hash_ == found_hash;
  DIFFLUT_CHECK(row->name == experiment_name && same_dir(row->run_dir, run_dir_) && hash_ok,
                "training.resume: ", kTrackingFile, " of ", run_dir_, " names experiment ",
                experiment_id_, " of ", db_path_, ", but that row is another run (expected name '",
                experiment_name, "', run directory '", run_dir_, "'",
                stored_hash_.empty() ? std::string() : ", config " + stored_hash_, "; found '",
                row->name, "', '", row->run_dir, "'",
                stored_hash_.empty() ? std::string() : ", config " + found_hash,
                "): refusing to change it (was the database recreated? move ", kTrackingFile,
                " away to record the resumed run as a new experiment)");
  db_->resumed = std::move(row);
}
#endif

RunRecorder::~RunRecorder() {
  if (started_ && !finished_ && tracking_) {
    // After a tracking failure the run can be resumed from its checkpoint: "interrupted", if the
    // database still takes this one write; any other exception: "failed". Silent either way: the
    // error line the app prints is the one the user needs.
    try {
#if DIFFLUT_WITH_SQLITE
      db_->tracker->finish(experiment_id_, tracking_failed_ ? kStatusInterrupted : kStatusFailed);
#endif
    } catch (...) {
    }
  }
  g_experiment_id = 0;
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
  // ---- 1. read and validate the checkpoint: nothing on disk or in the database changes yet ----
  const fs::path ckpt = fs::path(run_dir_) / kCheckpointFile;
  int64_t done = 0;
  std::error_code ec;
  if (fs::exists(fs::symlink_status(ckpt, ec))) {
    // A directory or device where the checkpoint belongs is damage, not "no checkpoint yet"
    // (which restarted the run from epoch 1 and deleted its recorded epochs).
    DIFFLUT_CHECK(fs::is_regular_file(ckpt, ec), "training.resume: '", ckpt.string(),
                  "': expected a checkpoint file, found ",
                  fs::is_directory(ckpt, ec) ? "a directory" : "something that is not a file");
    const uint64_t seed = generator.seed();
    const CheckpointState st =
        load_training_checkpoint(ckpt.string(), model, optimizer, scheduler, generator);
    // The generator is seeded from the run's seed; another seed means another run's checkpoint.
    DIFFLUT_CHECK(st.generator_seed == seed, "checkpoint '", ckpt.string(),
                  "': metadata entry 'generator_seed': expected this run's seed ", seed, ", found ",
                  st.generator_seed);
    done = st.epoch;
    auto extra = [&](const char* key) -> std::string {
      auto it = st.extra.find(key);
      return it == st.extra.end() ? std::string() : it->second;
    };
    // Checkpoints written before the fingerprint lack it.
    const std::string setup = extra("setup");
    DIFFLUT_CHECK(setup.empty() || setup == setup_fingerprint(config_), "checkpoint '",
                  ckpt.string(), "': expected the seed, model and data it was written for ",
                  "(fingerprint ", setup, "), found others in ",
                  (fs::path(run_dir_) / "config.yaml").string(), " (fingerprint ",
                  setup_fingerprint(config_),
                  "): was it edited? Restore it (the tracking database's row holds the run's ",
                  "config) or start a new run");
    auto number = [&](const char* key, double dflt) {
      const std::string text = extra(key);
      if (text.empty()) return dflt;
      if (text == "null") return -1.0;
      char* end = nullptr;
      const double v = std::strtod(text.c_str(), &end);
      DIFFLUT_CHECK(end == text.c_str() + text.size() && std::isfinite(v), "checkpoint '",
                    ckpt.string(), "': metadata entry 'difflut.", key,
                    "': expected a number, found '", text, "'");
      return v;
    };
    const std::string what = "checkpoint '" + ckpt.string() + "': metadata entry 'difflut.history'";
    result.history = parse_history(extra("history"), done, what);
    result.best_val_accuracy = number("best_val_accuracy", -1.0);
    const double best_epoch = number("best_val_epoch", 0.0);
    result.train_seconds = number("train_seconds", 0.0);
    DIFFLUT_CHECK(best_epoch >= 0 && best_epoch <= static_cast<double>(done) &&
                      best_epoch == std::floor(best_epoch),
                  "checkpoint '", ckpt.string(),
                  "': metadata entry 'difflut.best_val_epoch': ", "expected an epoch in [0, ", done,
                  "], found ", best_epoch);
    result.best_val_epoch = static_cast<int64_t>(best_epoch);
    DIFFLUT_CHECK(result.best_val_accuracy <= 1.0 &&
                      (result.best_val_accuracy >= 0 || result.best_val_accuracy == -1.0),
                  "checkpoint '", ckpt.string(), "': metadata entry 'difflut.best_val_accuracy': ",
                  "expected an accuracy in [0, 1], found ", result.best_val_accuracy);
    DIFFLUT_CHECK(result.train_seconds >= 0, "checkpoint '", ckpt.string(),
                  "': metadata entry 'difflut.train_seconds': expected seconds >= 0, found ",
                  result.train_seconds);
#if DIFFLUT_WITH_SQLITE
    // The checkpoint names the experiment it was written for; another one's checkpoint copied
    // into this directory must not continue this row.
    if (db_->resumed && !extra("experiment_id").empty())
      DIFFLUT_CHECK(extra("experiment_id") == std::to_string(experiment_id_), "checkpoint '",
                    ckpt.string(), "': written for experiment ", extra("experiment_id"), ", but ",
                    kTrackingFile, " names experiment ", experiment_id_);
#endif
    last_checkpoint_epoch_ = done;
  }
  DIFFLUT_CHECK(done <= epochs_, "training.resume: the checkpoint is after epoch ", done,
                " but training.epochs is ", epochs_, " (set training.epochs to train longer)");
  // The resumed config.yaml is written to a temporary file now and renamed into place after the
  // database has taken the resume, so a full disk fails here, before any row changes.
  const fs::path config_path = fs::path(run_dir_) / "config.yaml";
  const fs::path config_tmp = config_path.string() + ".resume." + std::to_string(::getpid());
  struct TempFile {
    fs::path path;
    ~TempFile() {
      std::error_code ec;
      fs::remove(path, ec);
    }
  } pending{config_tmp};
  write_text_atomic(config_tmp, config_file_text(config_));

  // ---- 2. the stored experiment: may it continue, and which of its rows would change? ----
#if DIFFLUT_WITH_SQLITE
  if (tracking_) {
    Tracker& t = *db_->tracker;
    std::vector<MeasurementRow> points;
    if (db_->resumed) {
      const ExperimentRow& row = *db_->resumed;
      DIFFLUT_CHECK(!(row.status == kStatusCompleted && done >= epochs_),
                    "training.resume: ", "experiment ", experiment_id_,
                    " is completed after epoch ", done,
                    "; nothing to resume (set training.epochs above ", done, " to train longer)");
      DIFFLUT_CHECK(!(row.status == kStatusRunning && row.pid && *row.pid != ::getpid() &&
                      row.hostname == current_hostname() && process_alive(*row.pid)),
                    "training.resume: experiment ", experiment_id_, " is running in process ",
                    row.pid.value_or(0), " on this host; stop it first");
      points = t.measurements(experiment_id_);
      // Rows after the checkpoint are dropped and recorded again by the resumed run. That is
      // only right for epochs that never had a checkpoint (training.checkpoint_every > 1); an
      // epoch that had one means this checkpoint is older than the history: refuse.
      int64_t every = checkpoint_every_;
      try {
        const json::Value cfg = json::parse(row.config_json, "stored config");
        if (const json::Value* tr = cfg.find("training"))
          every = static_cast<int64_t>(json_double(tr->find("checkpoint_every"), 1.0));
      } catch (const std::exception&) {
      }
      for (const MeasurementRow& p : points) {
        if (p.epoch <= done) continue;
        const bool checkpointed = p.phase == "test" || (row.epochs && p.epoch == *row.epochs) ||
                                  (every > 0 && p.epoch % every == 0);
        DIFFLUT_CHECK(!checkpointed, "training.resume: experiment ", experiment_id_,
                      " records epoch ", p.epoch, " (", p.phase, "), which had a checkpoint, but ",
                      done > 0 ? str_cat(kCheckpointFile, " is after epoch ", done)
                               : str_cat("there is no ", kCheckpointFile),
                      ": refusing to delete recorded epochs (restore the run's newer checkpoint)");
      }
    }
    // ---- 3. continue the row (or start one) in one transaction ----
    ExperimentStart& st = db_->start;
    st.run_dir = run_dir_;
    const std::string best_path = (fs::path(run_dir_) / kBestModelFile).string();
    try {
      t.atomically([&] {
        if (db_->resumed) {
          t.resume_experiment(experiment_id_, done, st);
        } else {
          stored_hash_ = config_hash(st.config_json);
          experiment_id_ = t.start_experiment(st);
        }
        // Epochs the checkpoint holds but the row lacks (the process died between the
        // checkpoint's rename and the epoch's commit, or the row is new): recorded from the
        // checkpoint's history, without histograms.
        double total = 0;
        for (const EpochRecord& e : result.history) {
          total += e.seconds;
          const bool have = std::any_of(points.begin(), points.end(), [&](const MeasurementRow& p) {
            return p.epoch == e.epoch && p.phase == "train";
          });
          if (have) continue;
          t.add_measurement(experiment_id_, e.epoch, "train", e.seconds, total,
                            {{"loss", e.train_loss, "", false},
                             {"lr", e.lr, "", false},
                             {"samples_per_second", e.samples_per_second, "", false}});
          if (e.val_accuracy >= 0) {
            const bool best = e.epoch == result.best_val_epoch;
            if (best) t.clear_best(experiment_id_, "accuracy");
            t.add_measurement(
                experiment_id_, e.epoch, "val", std::nullopt, total,
                {{"accuracy", e.val_accuracy, best && save_best_ ? best_path : "", best}});
          }
        }
      });
    } catch (const std::exception& e) {
      DIFFLUT_FAIL(e.what(), " (while resuming; nothing was changed)");
    }
    if (!db_->resumed) write_tracking_file();
    if (log_)
      *log_ << "difflut-train: tracking experiment " << experiment_id_ << " in " << db_path_
            << "\n";
  }
#endif
  // ---- 4. the run is this process's now ----
  fs::rename(config_tmp, config_path, ec);
  DIFFLUT_CHECK(!ec, "run directory: cannot rename '", config_tmp.string(), "' to '",
                config_path.string(), "': ", ec.message());
  started_ = true;
  g_experiment_id = experiment_id_;
  if (log_) {
    if (done > 0)
      *log_ << "difflut-train: resuming " << run_dir_ << " after epoch " << done << " of "
            << epochs_ << "\n";
    else
      *log_ << "difflut-train: " << run_dir_ << " has no " << kCheckpointFile
            << " (killed in its first epoch?): starting it again from epoch 1\n";
  }
  return done + 1;
}

void RunRecorder::end_epoch(const EpochRecord& rec, Module& model, Optimizer& optimizer,
                            const LRScheduler* scheduler, const Generator& generator,
                            const TrainResult& result,
                            const std::function<void(const std::string&)>& save_model) {
  const bool best = rec.val_accuracy >= 0 && rec.epoch == result.best_val_epoch;
  const std::string best_path = (fs::path(run_dir_) / kBestModelFile).string();
  if (best && save_best_ && save_model) {
    save_model(best_path);
    sync_directory(run_dir_);
  }
  // The checkpoint first, flushed and renamed: the database must never record an epoch that a
  // resume could not continue from.
  const bool last = rec.epoch == epochs_;
  if (checkpoint_every_ > 0 && (rec.epoch % checkpoint_every_ == 0 || last)) {
    CheckpointState st;
    st.epoch = rec.epoch;
    st.extra["history"] = history_json(result.history);
    st.extra["best_val_accuracy"] = json_number(result.best_val_accuracy);
    st.extra["best_val_epoch"] = std::to_string(result.best_val_epoch);
    st.extra["train_seconds"] = json_number(result.train_seconds);
    st.extra["experiment_id"] = std::to_string(experiment_id_);
    st.extra["setup"] = setup_fingerprint(config_);
    save_training_checkpoint((fs::path(run_dir_) / kCheckpointFile).string(), model, optimizer,
                             scheduler, generator, st);
    last_checkpoint_epoch_ = rec.epoch;
  }
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
          const int64_t b =
              std::clamp<int64_t>(static_cast<int64_t>((x - h.lo) * scale), 0, histogram_bins_ - 1);
          ++h.counts[static_cast<size_t>(b)];
        }
        hists.push_back(std::move(h));
      }
    }
    track(str_cat("recording epoch ", rec.epoch), [&] {
      Tracker& t = *db_->tracker;
      t.atomically([&] {
        t.add_measurement(experiment_id_, rec.epoch, "train", rec.seconds, result.train_seconds,
                          {{"loss", rec.train_loss, "", false},
                           {"lr", rec.lr, "", false},
                           {"samples_per_second", rec.samples_per_second, "", false}},
                          hists);
        if (rec.val_accuracy >= 0) {
          if (best) t.clear_best(experiment_id_, "accuracy");
          t.add_measurement(
              experiment_id_, rec.epoch, "val", std::nullopt, result.train_seconds,
              {{"accuracy", rec.val_accuracy, best && save_best_ ? best_path : "", best}});
        }
      });
    });
  }
#else
  (void)model;
#endif
}

void RunRecorder::finish(const TrainResult& result) {
  // The test point, the run directory and "completed" in one transaction: a completed row always
  // has its test accuracy, and a row with a test accuracy is completed.
  track("recording the test accuracy", [&] {
#if DIFFLUT_WITH_SQLITE
    Tracker& t = *db_->tracker;
    t.atomically([&] {
      t.add_measurement(experiment_id_, result.epochs, "test", std::nullopt, result.train_seconds,
                        {{"accuracy", result.test_accuracy, "", false}});
      t.set_run_dir(experiment_id_, run_dir_);
      t.finish(experiment_id_, kStatusCompleted);
    });
#else
    (void)result;
#endif
  });
  finished_ = true;
}

}  // namespace difflut::app
