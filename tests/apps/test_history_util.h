// Helpers for the history tests (test_history_*.cpp): small difflut-train runs, snapshots of every
// row of the tracking database and every file of a run directory (a refused operation must leave
// both exactly as they were), checkpoint surgery, and child processes stopped at a point the
// trainer defines (DIFFLUT_TEST_SIGNAL_AT), so nothing depends on timing.
#pragma once
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include "autograd/io/safetensors.h"
#include "doctest/doctest.h"
#include "test_util.h"

namespace difflut::test::history {

namespace fs = std::filesystem;

// A tiny run: 300 Fashion-MNIST images, two small layers, a validation split; about a second.
inline const char* const kSmallRun =
    " dataloaders.subset_size=300 training.val_fraction=0.2 'model.params.hidden_sizes=[40,20]'"
    " training.batch_size=50 device=cpu experiment_name=hist ";

inline std::string config_dir_flag() {
  const char* src = std::getenv("DIFFLUT_SOURCE_DIR");
  return src ? std::string(" --config-dir '") + src + "/configs'" : std::string();
}

// difflut-train in `cwd` with `args` (shell words), one thread.
inline CommandResult train(const std::string& cwd, const std::string& args,
                           const std::string& env = "") {
  return run_command("cd '" + cwd + "' && DIFFLUT_NUM_THREADS=1 " + env + " " +
                     built_program("difflut-train") + config_dir_flag() + " " + args);
}

// The value of `key=` on its own line of a run's output ("" when absent).
inline std::string output_value(const std::string& output, const std::string& key) {
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + "=", 0) == 0) return line.substr(key.size() + 1);
  return "";
}

// A completed small run of `epochs` epochs into `db`; returns its run directory.
inline std::string completed_run(const std::string& dir, const std::string& db, int epochs,
                                 const std::string& extra = "") {
  const CommandResult r =
      train(dir, std::string(kSmallRun) + " output_dir=out tracking.db=" + db +
                     " training.epochs=" + std::to_string(epochs) + " " + extra);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const std::string run_dir = output_value(r.output, "run_dir");
  REQUIRE(!run_dir.empty());
  return run_dir;
}

// Every row of every tracking table in id order, each value typed and quoted, so that "equal"
// means row-for-row equal (experiment row with its status and end time, epoch rows, test rows,
// metrics, histograms).
inline std::vector<std::string> db_rows(const std::string& path) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  std::vector<std::string> rows;
  for (const char* table : {"experiments", "measurement_points", "metrics", "histograms"}) {
    sqlite3_stmt* st = nullptr;
    const std::string sql = std::string("SELECT * FROM ") + table + " ORDER BY id";
    REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::string row = table;
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        const int type = sqlite3_column_type(st, c);
        const unsigned char* t = sqlite3_column_text(st, c);
        row += '|';
        if (type == SQLITE_NULL) {
          row += "NULL";
        } else {
          row += std::to_string(type);
          row += ':';
          row.append(reinterpret_cast<const char*>(t));
        }
      }
      rows.push_back(row);
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return rows;
}

// Every entry under `dir`: files with their bytes, directories marked.
inline std::map<std::string, std::string> files(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string rel = fs::relative(e.path(), dir).string();
    if (e.is_directory()) {
      out[rel] = "<dir>";
    } else {
      std::ifstream in(e.path(), std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      out[rel] = ss.str();
    }
  }
  return out;
}

// Rewrites a checkpoint through `edit` (metadata and tensors as the reader returns them).
inline void edit_checkpoint(const std::string& path,
                            const std::function<void(SafetensorsContents&)>& edit) {
  SafetensorsContents c = load_safetensors(path);
  edit(c);
  save_safetensors(path, c.tensors, c.metadata);
}

// Runs a resume that must be refused: non-zero exit, the one error line naming `expected`, and
// the database rows and the run directory's files exactly as before.
inline void expect_refused(const std::string& cwd, const std::string& db,
                           const std::string& run_dir, const std::string& overrides,
                           const std::string& expected) {
  const std::vector<std::string> rows = db_rows(db);
  const std::map<std::string, std::string> before = files(run_dir);
  const CommandResult r = train(cwd, "training.resume='" + run_dir + "' " + overrides);
  INFO("overrides: ", overrides);
  INFO(r.output);
  CHECK(r.exit_code != 0);
  CHECK(r.last_line().rfind("difflut-train: error: ", 0) == 0);
  CHECK(r.last_line().find(expected) != std::string::npos);
  CHECK(db_rows(db) == rows);
  CHECK(files(run_dir) == before);
}

// difflut-train started as a child (stdout and stderr to `log`), with `env` entries added.
inline pid_t spawn_train(const std::string& cwd, const std::string& args,
                         const std::vector<std::string>& env, const std::string& log) {
  const std::string cmd = "cd '" + cwd + "' && exec env DIFFLUT_NUM_THREADS=1 " +
                          [&] {
                            std::string s;
                            for (const std::string& e : env) s += e + " ";
                            return s;
                          }() +
                          built_program("difflut-train") + config_dir_flag() + " " + args + " > '" +
                          log + "' 2>&1";
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

// Waits until the child stops itself (SIGSTOP from DIFFLUT_TEST_SIGNAL_AT): true when it did.
inline bool wait_stopped(pid_t pid) {
  int st = 0;
  return ::waitpid(pid, &st, WUNTRACED) == pid && WIFSTOPPED(st);
}

// Waits for the child to end: its exit code, or 128 + signal.
inline int wait_exit(pid_t pid) {
  int st = 0;
  REQUIRE(::waitpid(pid, &st, 0) == pid);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  REQUIRE(out.good());
}

// The last non-empty line of `text`.
inline std::string last_line(const std::string& text) {
  CommandResult r;
  r.output = text;
  return r.last_line();
}

// One integer from a SQL query.
inline int64_t sql_int(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  const int64_t v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

inline std::string sql_text(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  const unsigned char* t = sqlite3_column_text(st, 0);
  const std::string v = t ? reinterpret_cast<const char*>(t) : "";
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

inline void sql_exec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  INFO((err ? err : ""));
  sqlite3_free(err);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

}  // namespace difflut::test::history
