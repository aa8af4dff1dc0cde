// The tracking database on SQLite (see tracking_sqlite.h for the tables and the locking rules).
#include "common/tracking/tracking_sqlite.h"

#include <sqlite3.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include <signal.h>

#include "tensor/error.h"

namespace difflut::app {
namespace {

// Migration i (0-based) takes the schema from version i to version i + 1. Never edit a released
// step: add a new one and bump Tracker::kSchemaVersion.
const char* const kMigrations[] = {
    // 1: the original DiffLUT's three tables and columns (experiments/measurement_points/metrics).
    R"sql(
CREATE TABLE experiments (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  created_at TEXT NOT NULL,
  config TEXT NOT NULL,
  model_name TEXT NOT NULL,
  node_type TEXT,
  layer_type TEXT,
  hidden_size INTEGER,
  num_layers INTEGER,
  n INTEGER,
  dataset_name TEXT NOT NULL,
  batch_size INTEGER,
  epochs INTEGER,
  learning_rate REAL,
  optimizer TEXT,
  encoder_name TEXT,
  encoder_params TEXT,
  status TEXT DEFAULT 'created',
  device TEXT,
  cuda_available INTEGER,
  notes TEXT
);
CREATE TABLE measurement_points (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  experiment_id INTEGER NOT NULL REFERENCES experiments(id),
  timestamp TEXT NOT NULL,
  epoch INTEGER NOT NULL,
  step INTEGER,
  epoch_time REAL,
  total_time REAL,
  phase TEXT NOT NULL
);
CREATE TABLE metrics (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  measurement_point_id INTEGER NOT NULL REFERENCES measurement_points(id),
  metric_name TEXT NOT NULL,
  metric_value REAL,
  metric_metadata TEXT,
  is_checkpoint INTEGER DEFAULT 0,
  checkpoint_path TEXT,
  is_best INTEGER DEFAULT 0
);
)sql",
    // 2: run facts (git commit, start/end times, run directory, process, LUT count), indexes, and
    // per-epoch histograms of LUT table values.
    R"sql(
ALTER TABLE experiments ADD COLUMN git_commit TEXT;
ALTER TABLE experiments ADD COLUMN start_time TEXT;
ALTER TABLE experiments ADD COLUMN end_time TEXT;
ALTER TABLE experiments ADD COLUMN run_dir TEXT;
ALTER TABLE experiments ADD COLUMN hostname TEXT;
ALTER TABLE experiments ADD COLUMN pid INTEGER;
ALTER TABLE experiments ADD COLUMN slurm_job_id TEXT;
ALTER TABLE experiments ADD COLUMN lut_count INTEGER;
CREATE INDEX idx_measurement_points_experiment ON measurement_points(experiment_id, epoch);
CREATE INDEX idx_metrics_measurement_point ON metrics(measurement_point_id);
CREATE TABLE histograms (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  measurement_point_id INTEGER NOT NULL REFERENCES measurement_points(id),
  name TEXT NOT NULL,
  lo REAL NOT NULL,
  hi REAL NOT NULL,
  counts TEXT NOT NULL
);
CREATE INDEX idx_histograms_measurement_point ON histograms(measurement_point_id);
)sql",
};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == Tracker::kSchemaVersion);

const char* const kNow = "strftime('%Y-%m-%d %H:%M:%f', 'now')";

[[noreturn]] void fail(sqlite3* db, const std::string& path, const std::string& what) {
  DIFFLUT_FAIL("tracking database ", path, ": ", what, ": ", db ? sqlite3_errmsg(db) : "no handle");
}

void exec(sqlite3* db, const std::string& path, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db);
    sqlite3_free(err);
    DIFFLUT_FAIL("tracking database ", path, ": ", msg);
  }
}

// A prepared statement with typed binds and column reads.
class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& path, const std::string& sql) : db_(db), path_(path) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK)
      fail(db, path, "preparing '" + sql.substr(0, 60) + "'");
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int i, int64_t v) { return check(sqlite3_bind_int64(stmt_, i, v)); }
  Stmt& bind(int i, double v) {
    // SQLite would store NaN as NULL anyway; say so explicitly.
    return check(std::isnan(v) ? sqlite3_bind_null(stmt_, i) : sqlite3_bind_double(stmt_, i, v));
  }
  Stmt& bind(int i, const std::string& v) {
    return check(
        sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  }
  Stmt& bind_text_or_null(int i, const std::string& v) {
    return v.empty() ? check(sqlite3_bind_null(stmt_, i)) : bind(i, v);
  }
  template <typename T>
  Stmt& bind(int i, const std::optional<T>& v) {
    return v ? bind(i, *v) : check(sqlite3_bind_null(stmt_, i));
  }

  // Steps once: true when a row is available.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail(db_, path_, "step");
  }
  void run() {
    while (step()) {
    }
  }

  bool is_null(int c) const { return sqlite3_column_type(stmt_, c) == SQLITE_NULL; }
  int64_t i64(int c) const { return sqlite3_column_int64(stmt_, c); }
  double f64(int c) const { return sqlite3_column_double(stmt_, c); }
  std::string text(int c) const {
    const unsigned char* t = sqlite3_column_text(stmt_, c);
    return t ? std::string(reinterpret_cast<const char*>(t),
                           static_cast<size_t>(sqlite3_column_bytes(stmt_, c)))
             : std::string();
  }
  std::optional<int64_t> opt_i64(int c) const {
    return is_null(c) ? std::nullopt : std::optional<int64_t>(i64(c));
  }
  std::optional<double> opt_f64(int c) const {
    return is_null(c) ? std::nullopt : std::optional<double>(f64(c));
  }

 private:
  Stmt& check(int rc) {
    if (rc != SQLITE_OK) fail(db_, path_, "bind");
    return *this;
  }
  sqlite3* db_;
  const std::string& path_;
  sqlite3_stmt* stmt_ = nullptr;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back if not committed. IMMEDIATE takes the write lock up
// front, so a writer waits in the busy handler instead of failing on a read-to-write upgrade.
// Inside an open transaction (Tracker::atomically) it joins that one: no BEGIN, and commit and
// rollback are left to the outer transaction.
class WriteTransaction {
 public:
  WriteTransaction(sqlite3* db, const std::string& path)
      : db_(db), path_(path), nested_(sqlite3_get_autocommit(db) == 0) {
    if (!nested_) exec(db, path, "BEGIN IMMEDIATE");
  }
  ~WriteTransaction() {
    if (!done_ && !nested_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void commit() {
    if (!nested_) exec(db_, path_, "COMMIT");
    done_ = true;
  }

 private:
  sqlite3* db_;
  const std::string& path_;
  bool nested_;
  bool done_ = false;
};

// "file:" URI for `path` with `query` (SQLite URIs: '%', '?' and '#' must be escaped).
std::string file_uri(const std::string& path, const std::string& query) {
  std::string uri = "file:";
  for (char c : std::filesystem::absolute(path).string()) {
    if (c == '%' || c == '?' || c == '#') {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(c));
      uri += buf;
    } else {
      uri += c;
    }
  }
  return uri + "?" + query;
}

bool lower_is_better(const std::string& metric) {
  return metric.find("loss") != std::string::npos || metric.find("time") != std::string::npos;
}

std::string counts_json(const std::vector<int64_t>& counts) {
  std::string s = "[";
  for (size_t i = 0; i < counts.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(counts[i]);
  }
  return s + "]";
}

std::vector<int64_t> parse_counts(const std::string& text, const std::string& path) {
  std::vector<int64_t> out;
  size_t i = 0;
  auto skip = [&] {
    while (i < text.size() &&
           (text[i] == ' ' || text[i] == ',' || text[i] == '[' || text[i] == ']'))
      ++i;
  };
  skip();
  while (i < text.size()) {
    char* end = nullptr;
    const long long v = std::strtoll(text.c_str() + i, &end, 10);
    DIFFLUT_CHECK(end != text.c_str() + i, "tracking database ", path,
                  ": histogram counts: expected a JSON list of integers, found '", text, "'");
    out.push_back(v);
    i = static_cast<size_t>(end - text.c_str());
    skip();
  }
  return out;
}

}  // namespace

std::string default_tracking_db() {
  if (const char* v = std::getenv("DIFFLUT_TRACKING_DB"); v && *v) return v;
  return "results/experiments.db";
}

bool process_alive(int64_t pid) {
  if (pid <= 0) return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

Tracker::Tracker(const std::string& path, TrackerOptions options) : path_(path) {
  namespace fs = std::filesystem;
  DIFFLUT_CHECK(!path.empty(), "tracking database: expected a file path, found an empty string");
  if (!options.create) {
    DIFFLUT_CHECK(fs::exists(path), "tracking database ", path,
                  ": no such file (set --db, or run difflut-train first; it creates the database)");
  } else if (fs::path(path).has_parent_path()) {
    std::error_code ec;
    fs::create_directories(fs::path(path).parent_path(), ec);
    DIFFLUT_CHECK(!ec, "tracking database ", path, ": cannot create its directory: ", ec.message());
  }
  if (options.read_only) {
    open_read_only(options);
    return;
  }
  const int flags =
      SQLITE_OPEN_READWRITE | (options.create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_FULLMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    const std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    DIFFLUT_FAIL("tracking database ", path, ": cannot open: ", msg);
  }
  try {
    // SQLite silently opens a write-protected file read-only; a writer would then fail at its
    // first record, possibly hours into a run. Say so now.
    DIFFLUT_CHECK(sqlite3_db_readonly(db_, "main") != 1, "tracking database ", path,
                  ": expected a writable file, found it read-only (file permissions or a "
                  "read-only file system)");
    sqlite3_busy_timeout(db_, static_cast<int>(options.busy_timeout_s * 1000.0));
    // WAL: readers never block the writer and one writer commits while others wait; NORMAL
    // synchronisation keeps every committed transaction across a crash of the process.
    // Switching a fresh database to WAL needs an exclusive lock, and SQLite reports a concurrent
    // opener's lock at once here instead of calling the busy handler (seen with a 2-job sweep on a
    // loaded machine): retry within the busy timeout.
    const auto deadline =
        std::chrono::steady_clock::now() +
        std::chrono::milliseconds(static_cast<int64_t>(options.busy_timeout_s * 1000));
    for (;;) {
      try {
        exec(db_, path_, "PRAGMA journal_mode=WAL");
        break;
      } catch (const Error&) {
        const int code = sqlite3_errcode(db_) & 0xff;
        if ((code != SQLITE_BUSY && code != SQLITE_LOCKED) ||
            std::chrono::steady_clock::now() >= deadline)
          throw;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    exec(db_, path_, "PRAGMA synchronous=NORMAL");
    exec(db_, path_, "PRAGMA foreign_keys=ON");
    migrate();
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

void Tracker::open_read_only(const TrackerOptions& options) {
  // mode=ro still takes shared locks and reads the WAL, so it sees what running trainers have
  // committed. On read-only media it cannot create the WAL index (-shm) and fails at the first
  // read; immutable=1 then reads the main file without locks, which is right for media nobody
  // writes (a database closed cleanly has its WAL folded into the main file).
  for (const char* query : {"mode=ro", "immutable=1"}) {
    const int flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_FULLMUTEX;
    if (sqlite3_open_v2(file_uri(path_, query).c_str(), &db_, flags, nullptr) == SQLITE_OK) {
      sqlite3_busy_timeout(db_, static_cast<int>(options.busy_timeout_s * 1000.0));
      if (sqlite3_exec(db_, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr) ==
          SQLITE_OK)
        break;
    }
    const std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    if (std::string(query) == "immutable=1")
      DIFFLUT_FAIL("tracking database ", path_, ": cannot open read-only: ", msg);
  }
  const int version = schema_version();
  if (version != kSchemaVersion) {
    sqlite3_close(db_);
    db_ = nullptr;
    DIFFLUT_FAIL("tracking database ", path_, ": expected schema version ", kSchemaVersion,
                 ", found ", version,
                 version > kSchemaVersion ? " (newer than this program: use a newer DiffLUT)"
                                          : " (open it once with difflut-train to migrate it)");
  }
}

Tracker::~Tracker() { sqlite3_close(db_); }

void Tracker::atomically(const std::function<void()>& f) {
  WriteTransaction tx(db_, path_);
  f();
  tx.commit();
}

int Tracker::schema_version() const {
  Stmt s(db_, path_, "PRAGMA user_version");
  return s.step() ? static_cast<int>(s.i64(0)) : 0;
}

void Tracker::migrate() {
  if (schema_version() == kSchemaVersion) return;
  WriteTransaction tx(db_, path_);
  const int version = schema_version();  // again, under the lock: another process may have won
  DIFFLUT_CHECK(version <= kSchemaVersion, "tracking database ", path_, ": schema version ",
                version, " is newer than this program's (", kSchemaVersion,
                "); use a newer DiffLUT or another database file");
  for (int v = version; v < kSchemaVersion; ++v) exec(db_, path_, kMigrations[v]);
  exec(db_, path_, "PRAGMA user_version=" + std::to_string(kSchemaVersion));
  tx.commit();
}

int64_t Tracker::start_experiment(const ExperimentStart& s) {
  WriteTransaction tx(db_, path_);
  Stmt st(db_, path_,
          std::string("INSERT INTO experiments (name, created_at, config, model_name, node_type, "
                      "layer_type, hidden_size, num_layers, n, dataset_name, batch_size, epochs, "
                      "learning_rate, optimizer, encoder_name, encoder_params, status, device, "
                      "cuda_available, notes, git_commit, start_time, run_dir, hostname, pid, "
                      "slurm_job_id, lut_count) VALUES (?1, ") +
              kNow +
              ", ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, "
              "?18, ?19, ?20, " +
              kNow + ", ?21, ?22, ?23, ?24, ?25)");
  st.bind(1, s.name.empty() ? std::string("unnamed") : s.name)
      .bind(2, s.config_json.empty() ? std::string("{}") : s.config_json)
      .bind(3, s.model_name.empty() ? std::string("unknown") : s.model_name)
      .bind_text_or_null(4, s.node_type)
      .bind_text_or_null(5, s.layer_type)
      .bind(6, s.hidden_size)
      .bind(7, s.num_layers)
      .bind(8, s.n)
      .bind(9, s.dataset_name.empty() ? std::string("unknown") : s.dataset_name)
      .bind(10, s.batch_size)
      .bind(11, s.epochs)
      .bind(12, s.learning_rate)
      .bind_text_or_null(13, s.optimizer)
      .bind_text_or_null(14, s.encoder_name)
      .bind_text_or_null(15, s.encoder_params_json)
      .bind(16, std::string(kStatusRunning))
      .bind_text_or_null(17, s.device)
      .bind(18, static_cast<int64_t>(s.cuda_available))
      .bind_text_or_null(19, s.notes)
      .bind_text_or_null(20, s.git_commit)
      .bind_text_or_null(21, s.run_dir)
      .bind_text_or_null(22, s.hostname)
      .bind(23, s.pid)
      .bind_text_or_null(24, s.slurm_job_id)
      .bind(25, s.lut_count);
  st.run();
  const int64_t id = sqlite3_last_insert_rowid(db_);
  tx.commit();
  return id;
}

void Tracker::resume_experiment(int64_t id, int64_t completed_epochs, const ExperimentStart& s) {
  WriteTransaction tx(db_, path_);
  {
    Stmt st(db_, path_,
            "UPDATE experiments SET status = ?2, end_time = NULL, hostname = ?3, pid = ?4, "
            "slurm_job_id = ?5, device = COALESCE(?6, device), epochs = COALESCE(?7, epochs) "
            "WHERE id = ?1");
    // epochs: the planned count, which a resume with training.epochs=N raises (train longer).
    st.bind(1, id)
        .bind(2, std::string(kStatusRunning))
        .bind_text_or_null(3, s.hostname)
        .bind(4, s.pid)
        .bind_text_or_null(5, s.slurm_job_id)
        .bind_text_or_null(6, s.device)
        .bind(7, s.epochs);
    st.run();
    DIFFLUT_CHECK(sqlite3_changes(db_) == 1, "tracking database ", path_, ": experiment ", id,
                  " to resume does not exist");
  }
  const std::string later =
      "SELECT id FROM measurement_points WHERE experiment_id = ?1 AND epoch > ?2";
  for (const char* table : {"metrics", "histograms"}) {
    Stmt st(db_, path_,
            std::string("DELETE FROM ") + table + " WHERE measurement_point_id IN (" + later + ")");
    st.bind(1, id).bind(2, completed_epochs).run();
  }
  Stmt st(db_, path_, "DELETE FROM measurement_points WHERE experiment_id = ?1 AND epoch > ?2");
  st.bind(1, id).bind(2, completed_epochs).run();
  tx.commit();
}

int64_t Tracker::add_measurement(int64_t experiment_id, int64_t epoch, const std::string& phase,
                                 std::optional<double> epoch_time, std::optional<double> total_time,
                                 const std::vector<MetricValue>& metrics,
                                 const std::vector<Histogram>& histograms,
                                 std::optional<int64_t> step) {
  WriteTransaction tx(db_, path_);
  Stmt st(db_, path_,
          std::string("INSERT INTO measurement_points (experiment_id, timestamp, epoch, step, "
                      "epoch_time, total_time, phase) VALUES (?1, ") +
              kNow + ", ?2, ?3, ?4, ?5, ?6)");
  st.bind(1, experiment_id).bind(2, epoch).bind(3, step).bind(4, epoch_time).bind(5, total_time);
  st.bind(6, phase);
  st.run();
  const int64_t mp = sqlite3_last_insert_rowid(db_);
  for (const MetricValue& m : metrics) add_metric(mp, m);
  for (const Histogram& h : histograms) {
    Stmt hs(db_, path_,
            "INSERT INTO histograms (measurement_point_id, name, lo, hi, counts) "
            "VALUES (?1, ?2, ?3, ?4, ?5)");
    hs.bind(1, mp).bind(2, h.name).bind(3, h.lo).bind(4, h.hi).bind(5, counts_json(h.counts));
    hs.run();
  }
  tx.commit();
  return mp;
}

void Tracker::add_metric(int64_t measurement_point_id, const MetricValue& m) {
  // Inside add_measurement's transaction this joins it; alone it is its own (autocommit) one.
  Stmt st(db_, path_,
          "INSERT INTO metrics (measurement_point_id, metric_name, metric_value, is_checkpoint, "
          "checkpoint_path, is_best) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  st.bind(1, measurement_point_id)
      .bind(2, m.name)
      .bind(3, m.value)
      .bind(4, static_cast<int64_t>(!m.checkpoint_path.empty()))
      .bind_text_or_null(5, m.checkpoint_path)
      .bind(6, static_cast<int64_t>(m.is_best));
  st.run();
}

void Tracker::clear_best(int64_t experiment_id, const std::string& metric_name) {
  WriteTransaction tx(db_, path_);
  Stmt st(db_, path_,
          "UPDATE metrics SET is_best = 0 WHERE is_best = 1 AND metric_name = ?2 AND "
          "measurement_point_id IN (SELECT id FROM measurement_points WHERE experiment_id = ?1)");
  st.bind(1, experiment_id).bind(2, metric_name).run();
  tx.commit();
}

namespace {
// One UPDATE of an experiment row (?1 = its id, ?2 = `value`) in its own write transaction.
void update_experiment(sqlite3* db, const std::string& path, const std::string& sql,
                       int64_t experiment_id, const std::string& value) {
  WriteTransaction tx(db, path);
  Stmt st(db, path, sql);
  st.bind(1, experiment_id).bind(2, value).run();
  tx.commit();
}
}  // namespace

void Tracker::set_status(int64_t experiment_id, const std::string& status) {
  update_experiment(db_, path_, "UPDATE experiments SET status = ?2 WHERE id = ?1", experiment_id,
                    status);
}

void Tracker::finish(int64_t experiment_id, const std::string& status) {
  update_experiment(
      db_, path_,
      std::string("UPDATE experiments SET status = ?2, end_time = ") + kNow + " WHERE id = ?1",
      experiment_id, status);
}

void Tracker::set_run_dir(int64_t experiment_id, const std::string& run_dir) {
  update_experiment(db_, path_, "UPDATE experiments SET run_dir = ?2 WHERE id = ?1", experiment_id,
                    run_dir);
}

// ---- reading -----------------------------------------------------------------------------------

namespace {
const char* const kExperimentColumns =
    "id, name, status, created_at, start_time, end_time, device, git_commit, run_dir, hostname, "
    "slurm_job_id, model_name, node_type, layer_type, dataset_name, optimizer, encoder_name, "
    "config, hidden_size, num_layers, n, batch_size, epochs, lut_count, pid, learning_rate";

ExperimentRow read_experiment(const Stmt& s) {
  ExperimentRow r;
  r.id = s.i64(0);
  std::string* texts[] = {
      &r.name,       &r.status,       &r.created_at, &r.start_time,   &r.end_time,   &r.device,
      &r.git_commit, &r.run_dir,      &r.hostname,   &r.slurm_job_id, &r.model_name, &r.node_type,
      &r.layer_type, &r.dataset_name, &r.optimizer,  &r.encoder_name, &r.config_json};
  for (int i = 0; i < 17; ++i) *texts[i] = s.text(1 + i);
  std::optional<int64_t>* ints[] = {&r.hidden_size, &r.num_layers, &r.n,  &r.batch_size,
                                    &r.epochs,      &r.lut_count,  &r.pid};
  for (int i = 0; i < 7; ++i) *ints[i] = s.opt_i64(18 + i);
  r.learning_rate = s.opt_f64(25);
  return r;
}
}  // namespace

void Tracker::fill_best(ExperimentRow& row) const {
  Stmt s(db_, path_,
         "SELECT mp.phase, m.metric_name, m.metric_value, mp.epoch FROM metrics m "
         "JOIN measurement_points mp ON m.measurement_point_id = mp.id "
         "WHERE mp.experiment_id = ?1 AND m.metric_value IS NOT NULL ORDER BY m.id");
  s.bind(1, row.id);
  while (s.step()) {
    const std::string key = s.text(0) + "/" + s.text(1);
    const double v = s.f64(2);
    auto it = row.best.find(key);
    const bool better =
        it == row.best.end() || (lower_is_better(s.text(1)) ? v < it->second : v > it->second);
    if (better) {
      row.best[key] = v;
      row.best_epoch[key] = s.i64(3);
    }
  }
  Stmt e(db_, path_, "SELECT MAX(epoch) FROM measurement_points WHERE experiment_id = ?1");
  e.bind(1, row.id);
  if (e.step() && !e.is_null(0)) row.epochs_done = e.i64(0);
  Stmt c(db_, path_,
         "SELECT m.checkpoint_path FROM metrics m JOIN measurement_points mp "
         "ON m.measurement_point_id = mp.id WHERE mp.experiment_id = ?1 AND m.is_best = 1 "
         "AND m.checkpoint_path IS NOT NULL ORDER BY m.id DESC LIMIT 1");
  c.bind(1, row.id);
  if (c.step()) row.best_checkpoint = c.text(0);
}

std::vector<ExperimentRow> Tracker::experiments(const ExperimentFilter& f) const {
  std::string sql = std::string("SELECT ") + kExperimentColumns + " FROM experiments WHERE 1";
  std::string pattern = f.name;
  if (!pattern.empty()) {
    if (pattern.find_first_of("%_") == std::string::npos) pattern = "%" + pattern + "%";
    sql += " AND name LIKE ?1";
  }
  if (!f.status.empty()) sql += " AND status = ?2";
  if (!f.ids.empty()) {
    sql += " AND id IN (";
    for (size_t i = 0; i < f.ids.size(); ++i) {
      if (i) sql += ',';
      sql += std::to_string(f.ids[i]);
    }
    sql += ")";
  }
  sql += " ORDER BY id";
  // One read transaction: a consistent snapshot while sweep runs keep writing (inside an open
  // transaction, that one already is).
  const bool own = sqlite3_get_autocommit(db_) != 0;
  if (own) exec(db_, path_, "BEGIN");
  std::vector<ExperimentRow> rows;
  try {
    Stmt s(db_, path_, sql);
    if (!pattern.empty()) s.bind(1, pattern);
    if (!f.status.empty()) s.bind(2, f.status);
    while (s.step()) rows.push_back(read_experiment(s));
    for (ExperimentRow& r : rows) fill_best(r);
  } catch (...) {
    if (own) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  if (own) exec(db_, path_, "COMMIT");
  return rows;
}

std::optional<ExperimentRow> Tracker::experiment(int64_t id) const {
  ExperimentFilter f;
  f.ids = {id};
  std::vector<ExperimentRow> rows = experiments(f);
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

std::vector<MeasurementRow> Tracker::measurements(int64_t experiment_id) const {
  std::vector<MeasurementRow> rows;
  Stmt s(db_, path_,
         "SELECT mp.id, mp.epoch, mp.step, mp.phase, mp.timestamp, mp.epoch_time, mp.total_time, "
         "m.metric_name, m.metric_value FROM measurement_points mp LEFT JOIN metrics m "
         "ON m.measurement_point_id = mp.id WHERE mp.experiment_id = ?1 "
         "ORDER BY mp.epoch, mp.id, m.id");
  s.bind(1, experiment_id);
  while (s.step()) {
    const int64_t id = s.i64(0);
    if (rows.empty() || rows.back().id != id) {
      MeasurementRow r;
      r.id = id;
      r.epoch = s.i64(1);
      r.step = s.opt_i64(2);
      r.phase = s.text(3);
      r.timestamp = s.text(4);
      r.epoch_time = s.opt_f64(5);
      r.total_time = s.opt_f64(6);
      rows.push_back(std::move(r));
    }
    if (!s.is_null(7)) rows.back().metrics.emplace_back(s.text(7), s.opt_f64(8));
  }
  return rows;
}

std::vector<HistogramRow> Tracker::histograms(int64_t experiment_id) const {
  std::vector<HistogramRow> rows;
  Stmt s(db_, path_,
         "SELECT mp.epoch, mp.phase, h.name, h.lo, h.hi, h.counts FROM histograms h "
         "JOIN measurement_points mp ON h.measurement_point_id = mp.id "
         "WHERE mp.experiment_id = ?1 ORDER BY mp.epoch, h.id");
  s.bind(1, experiment_id);
  while (s.step()) {
    HistogramRow r;
    r.epoch = s.i64(0);
    r.phase = s.text(1);
    r.histogram.name = s.text(2);
    r.histogram.lo = s.f64(3);
    r.histogram.hi = s.f64(4);
    r.histogram.counts = parse_counts(s.text(5), path_);
    rows.push_back(std::move(r));
  }
  return rows;
}

}  // namespace difflut::app
