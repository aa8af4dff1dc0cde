// The tracking database: the original's tables and columns, schema migrations, the experiment life
// cycle (start, measurements, best checkpoint, finish, resume), NaN handling, clear errors, and
// many processes and threads writing one file at once.
#include <sqlite3.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include "apps_test_util.h"
#include "autograd/io/mini_json.h"
#include "common/tracking/tracking_sqlite.h"
#include "test_history_util.h"
#include "test_util.h"

using namespace difflut;
using namespace difflut::app;

namespace {

// Column names of `table`, read with SQLite's own PRAGMA (independent of the Tracker's reads).
std::set<std::string> columns_of(const std::string& path, const std::string& table) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, ("PRAGMA table_info(" + table + ")").c_str(), -1, &st, nullptr) ==
          SQLITE_OK);
  std::set<std::string> cols;
  while (sqlite3_step(st) == SQLITE_ROW)
    cols.insert(reinterpret_cast<const char*>(sqlite3_column_text(st, 1)));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return cols;
}

std::string raw_text(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  const std::string v = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

int64_t raw_count(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  const int64_t n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

ExperimentStart sample_start(const std::string& name) {
  ExperimentStart s;
  s.name = name;
  s.config_json = "{\"experiment_name\":\"" + name + "\"}";
  s.model_name = "dwn";
  s.node_type = "dwn";
  s.dataset_name = "fashionmnist";
  s.lut_count = 3000;
  s.epochs = 3;
  s.learning_rate = 0.01;
  s.device = "cpu";
  s.pid = ::getpid();
  s.hostname = current_hostname();
  return s;
}

}  // namespace

TEST_CASE(
    "tracking: a new database has the original's three tables and columns at the current version") {
  const std::string dir = test::temp_dir("tracking-schema");
  const std::string path = dir + "/sub/experiments.db";  // the directory is created
  Tracker t(path);
  CHECK(t.schema_version() == Tracker::kSchemaVersion);
  const std::set<std::string> e = columns_of(path, "experiments");
  for (const char* c :
       {"id",           "name",           "created_at",  "config",        "model_name",
        "node_type",    "layer_type",     "hidden_size", "num_layers",    "n",
        "dataset_name", "batch_size",     "epochs",      "learning_rate", "optimizer",
        "encoder_name", "encoder_params", "status",      "device",        "cuda_available",
        "notes",        "git_commit",     "start_time",  "end_time",      "run_dir",
        "lut_count"})
    CHECK_MESSAGE(e.count(c), "experiments lacks ", c);
  const std::set<std::string> mp = columns_of(path, "measurement_points");
  for (const char* c :
       {"id", "experiment_id", "timestamp", "epoch", "step", "epoch_time", "total_time", "phase"})
    CHECK_MESSAGE(mp.count(c), "measurement_points lacks ", c);
  const std::set<std::string> m = columns_of(path, "metrics");
  for (const char* c : {"id", "measurement_point_id", "metric_name", "metric_value",
                        "metric_metadata", "is_checkpoint", "checkpoint_path", "is_best"})
    CHECK_MESSAGE(m.count(c), "metrics lacks ", c);
  CHECK(raw_text(path, "PRAGMA journal_mode") == "wal");
}

TEST_CASE("tracking: a version-1 database migrates to the current version and keeps its rows") {
  const std::string dir = test::temp_dir("tracking-migrate");
  const std::string path = dir + "/old.db";
  // The version-1 layout written independently here: the original DiffLUT's tables only.
  test::history::sql_exec(
      path,
      "CREATE TABLE experiments (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, "
      "created_at TEXT NOT NULL, config TEXT NOT NULL, model_name TEXT NOT NULL, node_type TEXT, "
      "layer_type TEXT, hidden_size INTEGER, num_layers INTEGER, n INTEGER, dataset_name TEXT "
      "NOT NULL, batch_size INTEGER, epochs INTEGER, learning_rate REAL, optimizer TEXT, "
      "encoder_name TEXT, encoder_params TEXT, status TEXT DEFAULT 'created', device TEXT, "
      "cuda_available INTEGER, notes TEXT);"
      "CREATE TABLE measurement_points (id INTEGER PRIMARY KEY AUTOINCREMENT, experiment_id "
      "INTEGER NOT NULL, timestamp TEXT NOT NULL, epoch INTEGER NOT NULL, step INTEGER, "
      "epoch_time REAL, total_time REAL, phase TEXT NOT NULL);"
      "CREATE TABLE metrics (id INTEGER PRIMARY KEY AUTOINCREMENT, measurement_point_id INTEGER "
      "NOT NULL, metric_name TEXT NOT NULL, metric_value REAL, metric_metadata TEXT, "
      "is_checkpoint INTEGER DEFAULT 0, checkpoint_path TEXT, is_best INTEGER DEFAULT 0);"
      "INSERT INTO experiments (name, created_at, config, model_name, dataset_name, status) "
      "VALUES ('old_run', '2024-01-01 00:00:00', '{}', 'dwn', 'mnist', 'completed');"
      "INSERT INTO measurement_points (experiment_id, timestamp, epoch, phase) "
      "VALUES (1, '2024-01-01 00:01:00', 1, 'val');"
      "INSERT INTO metrics (measurement_point_id, metric_name, metric_value) "
      "VALUES (1, 'accuracy', 0.75);"
      "PRAGMA user_version = 1;");
  Tracker t(path);
  CHECK(t.schema_version() == Tracker::kSchemaVersion);
  CHECK(columns_of(path, "experiments").count("git_commit"));
  CHECK(columns_of(path, "histograms").count("counts"));
  const std::vector<ExperimentRow> rows = t.experiments();
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].name == "old_run");
  CHECK(rows[0].status == "completed");
  CHECK(rows[0].best.at("val/accuracy") == doctest::Approx(0.75));
  // A second open is a no-op.
  Tracker again(path);
  CHECK(again.experiments().size() == 1);
}

TEST_CASE("tracking: clear errors for a newer schema, a non-database file and a missing file") {
  const std::string dir = test::temp_dir("tracking-errors");
  test::history::sql_exec(dir + "/future.db",
                          "CREATE TABLE x (a INTEGER); PRAGMA user_version = 99;");
  CHECK_THROWS_WITH_AS(Tracker(dir + "/future.db"),
                       doctest::Contains("schema version 99 is newer than this program's"), Error);
  test::write_file(dir + "/text.db",
                   "this is not a database, just some text long enough to check\n");
  CHECK_THROWS_WITH_AS(Tracker(dir + "/text.db"), doctest::Contains("not a database"), Error);
  TrackerOptions no_create;
  no_create.create = false;
  CHECK_THROWS_WITH_AS(Tracker(dir + "/missing.db", no_create),
                       doctest::Contains("missing.db: no such file"), Error);
  CHECK_FALSE(std::filesystem::exists(dir + "/missing.db"));
}

TEST_CASE(
    "tracking: an experiment's life cycle records best values, the best checkpoint and times") {
  const std::string dir = test::temp_dir("tracking-life");
  Tracker t(dir + "/e.db");
  ExperimentStart s = sample_start("life");
  s.git_commit = "abc123";
  const int64_t id = t.start_experiment(s);
  CHECK(id == 1);
  const double val[] = {0.5, 0.8, 0.7};
  for (int epoch = 1; epoch <= 3; ++epoch) {
    t.add_measurement(
        id, epoch, "train", 1.5 * epoch, 1.5 * epoch,
        {{"loss", 1.0 / epoch, "", false}, {"accuracy", 0.4 + 0.1 * epoch, "", false}});
    const bool best = val[epoch - 1] >= 0.8 || epoch == 1;
    if (best) t.clear_best(id, "accuracy");
    t.add_measurement(
        id, epoch, "val", std::nullopt, 1.5 * epoch,
        {{"accuracy", val[epoch - 1], best ? "ckpt-" + std::to_string(epoch) : "", best}},
        {{"layers.0.table", -1.0, 1.0, {epoch, 2, 3}}});
  }
  t.add_measurement(id, 3, "test", std::nullopt, 5.0, {{"accuracy", 0.77, "", false}});
  {
    const ExperimentRow r = *t.experiment(id);
    CHECK(r.status == kStatusRunning);
    CHECK(r.end_time.empty());
    CHECK_FALSE(r.start_time.empty());
  }
  t.finish(id, kStatusCompleted);
  const ExperimentRow r = *t.experiment(id);
  CHECK(r.status == kStatusCompleted);
  CHECK_FALSE(r.end_time.empty());
  CHECK(r.git_commit == "abc123");
  CHECK(r.lut_count == 3000);
  CHECK(r.epochs_done == 3);
  CHECK(r.best.at("val/accuracy") == doctest::Approx(0.8));
  CHECK(r.best_epoch.at("val/accuracy") == 2);
  CHECK(r.best.at("train/loss") == doctest::Approx(1.0 / 3));  // lowest loss is best
  CHECK(r.best.at("test/accuracy") == doctest::Approx(0.77));
  CHECK(r.best_checkpoint == "ckpt-2");
  // Exactly one is_best row remains after clear_best.
  CHECK(raw_count(dir + "/e.db", "SELECT COUNT(*) FROM metrics WHERE is_best = 1") == 1);
  const std::vector<MeasurementRow> pts = t.measurements(id);
  REQUIRE(pts.size() == 7);
  CHECK(pts[0].phase == "train");
  CHECK(pts[0].epoch_time == doctest::Approx(1.5));
  CHECK(pts[0].metrics.size() == 2);
  const std::vector<HistogramRow> h = t.histograms(id);
  REQUIRE(h.size() == 3);
  CHECK(h[2].epoch == 3);
  CHECK(h[2].histogram.counts == std::vector<int64_t>{3, 2, 3});
  CHECK(h[2].histogram.lo == -1.0);
}

TEST_CASE(
    "tracking: resume drops the epochs after the checkpoint and marks the run running again") {
  const std::string dir = test::temp_dir("tracking-resume");
  Tracker t(dir + "/e.db");
  const int64_t id = t.start_experiment(sample_start("resume"));
  for (int epoch = 1; epoch <= 3; ++epoch)
    t.add_measurement(id, epoch, "val", 1.0, 1.0 * epoch, {{"accuracy", 0.1 * epoch, "", false}},
                      {{"t", 0, 1, {1, 1}}});
  t.set_status(id, kStatusInterrupted);
  ExperimentStart again = sample_start("resume");
  again.pid = 4242;
  t.resume_experiment(id, 2, again);
  const ExperimentRow r = *t.experiment(id);
  CHECK(r.status == kStatusRunning);
  CHECK(r.pid == 4242);
  CHECK(r.epochs_done == 2);
  CHECK(r.best.at("val/accuracy") == doctest::Approx(0.2));
  CHECK(t.histograms(id).size() == 2);
  CHECK(raw_count(dir + "/e.db", "SELECT COUNT(*) FROM metrics") == 2);
  CHECK_THROWS_WITH_AS(t.resume_experiment(99, 0, again), doctest::Contains("does not exist"),
                       Error);
}

TEST_CASE("tracking: a NaN metric is stored as NULL and never counts as best") {
  const std::string dir = test::temp_dir("tracking-nan");
  Tracker t(dir + "/e.db");
  const int64_t id = t.start_experiment(sample_start("nan"));
  t.add_measurement(id, 1, "train", 1.0, 1.0, {{"loss", 2.0, "", false}});
  t.add_measurement(id, 2, "train", 1.0, 2.0, {{"loss", std::nan(""), "", false}});
  const ExperimentRow r = *t.experiment(id);
  CHECK(r.best.at("train/loss") == 2.0);
  const std::vector<MeasurementRow> pts = t.measurements(id);
  REQUIRE(pts.size() == 2);
  CHECK_FALSE(pts[1].metrics[0].second.has_value());
}

TEST_CASE("tracking: filters by name pattern, status and id") {
  const std::string dir = test::temp_dir("tracking-filter");
  Tracker t(dir + "/e.db");
  t.start_experiment(sample_start("sweep_dwn_lr0.01"));
  const int64_t b = t.start_experiment(sample_start("sweep_linear_lr0.01"));
  t.start_experiment(sample_start("baseline"));
  t.finish(b, kStatusCompleted);
  ExperimentFilter f;
  f.name = "sweep";
  CHECK(t.experiments(f).size() == 2);
  f.name = "sweep_%_lr0.01";
  CHECK(t.experiments(f).size() == 2);
  f.status = kStatusCompleted;
  REQUIRE(t.experiments(f).size() == 1);
  CHECK(t.experiments(f)[0].id == b);
  ExperimentFilter ids;
  ids.ids = {1, 3};
  CHECK(t.experiments(ids).size() == 2);
}

TEST_CASE("tracking: four processes and four threads writing one database at once lose nothing") {
  const std::string dir = test::temp_dir("tracking-concurrent");
  const std::string path = dir + "/shared.db";
  constexpr int kProcesses = 4, kThreads = 4, kEpochs = 40;
  auto writer = [&](const std::string& name) {
    // Each writer opens its own connection, like the runs of a sweep.
    TrackerOptions o;
    o.busy_timeout_s = 60;
    Tracker t(path, o);
    const int64_t id = t.start_experiment(sample_start(name));
    for (int e = 1; e <= kEpochs; ++e) {
      t.add_measurement(id, e, "train", 0.01, 0.01 * e, {{"loss", 1.0 / e, "", false}});
      t.add_measurement(id, e, "val", std::nullopt, 0.01 * e, {{"accuracy", e / 100.0, "", false}});
    }
    t.finish(id, kStatusCompleted);
  };
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      int code = 0;
      try {
        writer("proc" + std::to_string(p));
      } catch (...) {
        code = 1;
      }
      ::_exit(code);
    }
    children.push_back(pid);
  }
  std::atomic<int> thread_failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&, i] {
      try {
        writer("thread" + std::to_string(i));
      } catch (...) {
        ++thread_failures;
      }
    });
  for (std::thread& th : threads) th.join();
  for (pid_t pid : children) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  CHECK(thread_failures == 0);
  Tracker t(path);
  const std::vector<ExperimentRow> rows = t.experiments();
  REQUIRE(rows.size() == kProcesses + kThreads);
  for (const ExperimentRow& r : rows) {
    CHECK(r.status == kStatusCompleted);
    CHECK(r.epochs_done == kEpochs);
    CHECK(t.measurements(r.id).size() == 2 * kEpochs);
    CHECK(r.best.at("val/accuracy") == doctest::Approx(kEpochs / 100.0));
  }
  CHECK(raw_count(path, "SELECT COUNT(*) FROM metrics") == (kProcesses + kThreads) * kEpochs * 2);
  CHECK(raw_text(path, "PRAGMA integrity_check") == "ok");
}

TEST_CASE("tracking: the config snapshot is JSON that parses back to the same values") {
  const std::string dir = test::temp_dir("tracking-json");
  test::write_file(
      dir + "/c.yaml",
      "experiment_name: \"a \\\"quoted\\\" name\"\nseed: 7\nlr: 0.001\nnothing: null\n"
      "flag: true\nmodel:\n  name: dwn\n  params:\n    hidden_sizes: [2000, 1000]\n"
      "    num_inputs: 6\n    node_type: dwn\n    encoder: {name: distributive, num_bits: 3}\n"
      "dataloaders: {name: fashionmnist}\ntraining: {batch_size: 32, epochs: 4, lr: 0.01, "
      "optimizer: adam}\nbig: .inf\n");
  const Config c = load_config_file(dir + "/c.yaml");
  const std::string text = config_to_json(c.root());
  const json::Value v = json::parse(text, "snapshot");
  REQUIRE(v.is_object());
  CHECK(v.find("experiment_name")->text == "a \"quoted\" name");
  CHECK(v.find("seed")->text == "7");
  CHECK(std::stod(v.find("lr")->text) == 0.001);
  CHECK(v.find("nothing")->kind == json::Value::Kind::null);
  CHECK(v.find("flag")->boolean);
  CHECK(v.find("big")->kind == json::Value::Kind::null);  // JSON has no infinity
  CHECK(v.find("model")->find("params")->find("hidden_sizes")->items.size() == 2);

  const ExperimentStart s = ExperimentStart::from_config(c);
  CHECK(s.name == "a \"quoted\" name");
  CHECK(s.lut_count == 3000);
  CHECK(s.hidden_size == 2000);
  CHECK(s.num_layers == 2);
  CHECK(s.n == 6);
  CHECK(s.node_type == "dwn");
  CHECK(s.dataset_name == "fashionmnist");
  CHECK(s.epochs == 4);
  CHECK(s.learning_rate == 0.01);
  CHECK(s.encoder_name == "distributive");
  CHECK(json::parse(s.encoder_params_json, "encoder").find("num_bits")->text == "3");
}

TEST_CASE("tracking: the git commit of this checkout is found, and none outside a repository") {
  const char* src = std::getenv("DIFFLUT_SOURCE_DIR");
  if (!src ||
      test::run_command("git -C '" + std::string(src) + "' rev-parse HEAD").exit_code != 0) {
    MESSAGE("skipped: the source tree is not a git checkout");
    return;
  }
  const std::string head =
      test::run_command("git -C '" + std::string(src) + "' rev-parse HEAD").last_line();
  const std::string found = current_git_commit(std::string(src));
  CHECK(found.rfind(head, 0) == 0);  // HEAD, possibly with -dirty
  const std::string outside = test::temp_dir("tracking-nogit");
  CHECK(current_git_commit(outside) == "");
}

TEST_CASE("tracking: atomically commits its writes together, or none of them when it throws") {
  const std::string dir = test::temp_dir("tracking-atomic");
  const std::string db = dir + "/e.db";
  Tracker t(db);
  const int64_t id = t.start_experiment(sample_start("atomic"));
  CHECK_THROWS_WITH_AS(t.atomically([&] {
    t.add_measurement(id, 1, "train", 1.0, 1.0, {{"loss", 0.5, "", false}});
    t.set_status(id, kStatusCompleted);
    throw Error("stop here");
  }),
                       "stop here", Error);
  CHECK(raw_count(db, "SELECT COUNT(*) FROM measurement_points") == 0);
  CHECK(raw_count(db, "SELECT COUNT(*) FROM metrics") == 0);
  CHECK(t.experiment(id)->status == kStatusRunning);
  t.atomically([&] {
    t.add_measurement(id, 1, "train", 1.0, 1.0, {{"loss", 0.5, "", false}});
    t.finish(id, kStatusCompleted);
  });
  CHECK(raw_count(db, "SELECT COUNT(*) FROM measurement_points") == 1);
  CHECK(t.experiment(id)->status == kStatusCompleted);
}

TEST_CASE(
    "tracking: a read-only open reads without writing; an old schema is refused, not migrated") {
  const std::string dir = test::temp_dir("tracking-ro");
  const std::string db = dir + "/e.db";
  {
    Tracker t(db);
    t.start_experiment(sample_start("ro"));
  }
  {
    const Tracker ro(db, existing_database_options());
    CHECK(ro.experiments().size() == 1);
    Tracker& w = const_cast<Tracker&>(ro);
    CHECK_THROWS_WITH_AS(w.set_status(1, kStatusFailed), doctest::Contains("readonly"), Error);
  }
  test::history::sql_exec(db, "PRAGMA user_version=1");
  CHECK_THROWS_WITH_AS(Tracker(db, existing_database_options()),
                       doctest::Contains("expected schema version 2, found 1 (open it once with "
                                         "difflut-train to migrate it)"),
                       Error);
  CHECK(raw_text(db, "PRAGMA user_version") == "1");  // nothing was migrated
}
