// Tracking failures are failures (issue 12): when the database cannot record an epoch (a write
// refused, locked past tracking.busy_timeout_s, a full disk, a read-only file), difflut-train stops
// with one error line and a non-zero exit, the checkpoint it already wrote stays usable, the
// experiment is marked "interrupted" where the database still takes that write, and a resume
// completes the run with every epoch recorded once. difflut-query reads databases on read-only
// media. Runs are stopped at points the trainer defines (DIFFLUT_TEST_SIGNAL_AT), never on timers.
#include <sqlite3.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <string>

#include <unistd.h>

#include "common/tracking/tracking_sqlite.h"
#include "test_history_util.h"

using namespace difflut;
using namespace difflut::test::history;

namespace {

int64_t count(const std::string& db, const std::string& where) {
  return sql_int(db, "SELECT count(*) FROM measurement_points WHERE " + where);
}

// After a resume: every epoch 1..3 recorded once per phase, one test row, status completed.
void check_completed_once(const std::string& db) {
  for (int e = 1; e <= 3; ++e) {
    CAPTURE(e);
    CHECK(count(db, "phase = 'train' AND epoch = " + std::to_string(e)) == 1);
    CHECK(count(db, "phase = 'val' AND epoch = " + std::to_string(e)) == 1);
  }
  CHECK(count(db, "phase = 'test'") == 1);
  CHECK(sql_text(db, "SELECT status FROM experiments") == "completed");
  CHECK(sql_int(db, "SELECT count(*) FROM metrics WHERE is_best = 1") == 1);
  CHECK(sql_text(db, "PRAGMA integrity_check") == "ok");
}

std::string checkpoint_epoch(const std::string& run_dir) {
  return load_safetensors(run_dir + "/checkpoint.safetensors").metadata.at("epoch");
}

// Resumes the run that stopped after epoch 2 (its checkpoint must say so) to completion; returns
// the resumed run's result.
test::CommandResult resume_to_completion(const std::string& dir, const std::string& db) {
  const std::string run_dir = sql_text(db, "SELECT run_dir FROM experiments");
  CHECK(checkpoint_epoch(run_dir) == "2");
  test::CommandResult resumed = train(dir, "training.resume='" + run_dir + "'");
  INFO(resumed.output);
  REQUIRE(resumed.exit_code == 0);
  check_completed_once(db);
  return resumed;
}

// A uninterrupted 3-epoch run's last line (test_accuracy=...), to compare resumed runs with.
std::string reference_line(const std::string& dir) {
  const test::CommandResult r = train(
      dir, std::string(kSmallRun) + " output_dir=ref tracking.enabled=false training.epochs=3");
  REQUIRE(r.exit_code == 0);
  return r.last_line();
}

}  // namespace

TEST_CASE("tracking failure: a refused epoch write stops the run; the checkpoint resumes it") {
  const std::string dir = test::temp_dir("hist-trigger");
  const std::string db = dir + "/e.db";
  { app::Tracker t(db); }  // the schema, so the trigger has its table
  // Any write of epoch 2 fails inside SQLite, the way a full disk or an I/O error does.
  sql_exec(db,
           "CREATE TRIGGER refuse_epoch2 BEFORE INSERT ON measurement_points WHEN NEW.epoch >= 2 "
           "BEGIN SELECT RAISE(ABORT, 'database or disk is full (test trigger)'); END;");
  const test::CommandResult r =
      train(dir, std::string(kSmallRun) + " output_dir=out training.epochs=3 tracking.db=" + db);
  INFO(r.output);
  CHECK(r.exit_code == 2);
  const std::string run_dir = sql_text(db, "SELECT run_dir FROM experiments");
  CHECK(
      r.last_line() ==
      "difflut-train: error: tracking database " + db +
          ": step: database or disk is full (test trigger) (while recording epoch 2; the checkpoint "
          "after epoch 2 is saved: resume with training.resume=" +
          run_dir + " once the database can be written)");
  CHECK(r.output.find("warning") == std::string::npos);
  CHECK(sql_text(db, "SELECT status FROM experiments") == "interrupted");
  CHECK(count(db, "epoch = 1") == 2);  // train + val of epoch 1, nothing of epoch 2
  CHECK(count(db, "epoch > 1") == 0);
  CHECK(checkpoint_epoch(run_dir) == "2");  // written before the database was asked

  sql_exec(db, "DROP TRIGGER refuse_epoch2");
  const test::CommandResult resumed = train(dir, "training.resume='" + run_dir + "'");
  INFO(resumed.output);
  REQUIRE(resumed.exit_code == 0);
  CHECK(resumed.output.find("after epoch 2") != std::string::npos);
  check_completed_once(db);
  // Epoch 2 came from the checkpoint's history (no histograms); 1 and 3 from training.
  CHECK(sql_int(db,
                "SELECT count(*) FROM histograms h JOIN measurement_points p ON "
                "h.measurement_point_id = p.id WHERE p.epoch = 2") == 0);
  CHECK(sql_int(db, "SELECT count(*) FROM histograms") == 4);
  CHECK(resumed.last_line() == reference_line(dir));
}

TEST_CASE("tracking failure: a database locked past tracking.busy_timeout_s stops the run") {
  const std::string dir = test::temp_dir("hist-locked");
  const std::string db = dir + "/e.db";
  const std::string log = dir + "/run.log";
  const pid_t pid = spawn_train(dir,
                                std::string(kSmallRun) +
                                    " output_dir=out training.epochs=3 "
                                    "tracking.busy_timeout_s=1 tracking.db=" +
                                    db,
                                {"DIFFLUT_TEST_SIGNAL_AT=2:1:STOP"}, log);
  REQUIRE_MESSAGE(wait_stopped(pid), read_text(log));
  // Another writer holds the database while epoch 2 ends.
  sqlite3* holder = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &holder) == SQLITE_OK);
  REQUIRE(sqlite3_exec(holder, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr) == SQLITE_OK);
  ::kill(pid, SIGCONT);
  const int code = wait_exit(pid);
  sqlite3_exec(holder, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(holder);
  const std::string out = read_text(log);
  INFO(out);
  CHECK(code == 2);
  CHECK(last_line(out).find("database is locked (while recording epoch 2; the checkpoint after "
                            "epoch 2 is saved") != std::string::npos);
  // Still locked when the run tried to mark itself: the row says "running" (and difflut-query
  // shows running* since the process is gone).
  CHECK(sql_text(db, "SELECT status FROM experiments") == "running");
  CHECK(count(db, "epoch > 1") == 0);
  const test::CommandResult resumed = resume_to_completion(dir, db);
  CHECK(resumed.last_line() == reference_line(dir));
}

TEST_CASE(
    "tracking failure: a full disk (tmpfs) stops the run; freeing space and resuming completes it") {
  const std::string dir = test::temp_dir("hist-full");
  const std::string mnt = dir + "/small";
  fs::create_directory(mnt);
  if (::geteuid() != 0 ||
      test::run_command("mount -t tmpfs -o size=4m tmpfs '" + mnt + "' 2>&1").exit_code != 0) {
    MESSAGE("skipped: needs root and a tmpfs mount (the trigger case covers the code path)");
    return;
  }
  struct Unmount {
    std::string path;
    ~Unmount() { test::run_command("umount '" + path + "' 2>&1"); }
  } unmount{mnt};
  const std::string db = mnt + "/e.db";
  const std::string log = dir + "/run.log";
  const pid_t pid = spawn_train(dir,
                                std::string(kSmallRun) +
                                    " output_dir=out training.epochs=3 "
                                    "tracking.db=" +
                                    db,
                                {"DIFFLUT_TEST_SIGNAL_AT=2:1:STOP"}, log);
  REQUIRE_MESSAGE(wait_stopped(pid), read_text(log));
  // Fill the file system to the last byte.
  const std::string filler = mnt + "/filler";
  {
    std::FILE* f = std::fopen(filler.c_str(), "wb");
    REQUIRE(f != nullptr);
    const std::string block(4096, 'x');
    while (std::fwrite(block.data(), 1, block.size(), f) == block.size() && std::fflush(f) == 0) {
    }
    std::fclose(f);
    std::FILE* g = std::fopen((mnt + "/filler2").c_str(), "wb");  // the last partial block
    if (g) {
      while (std::fputc('x', g) != EOF && std::fflush(g) == 0) {
      }
      std::fclose(g);
    }
  }
  ::kill(pid, SIGCONT);
  const int code = wait_exit(pid);
  const std::string out = read_text(log);
  INFO(out);
  CHECK(code == 2);
  CHECK(last_line(out).find("full") != std::string::npos);
  CHECK(last_line(out).find("while recording epoch 2; the checkpoint after epoch 2 is saved") !=
        std::string::npos);
  fs::remove(filler);
  fs::remove(mnt + "/filler2");
  const std::string status = sql_text(db, "SELECT status FROM experiments");
  CHECK((status == "running" || status == "interrupted"));
  CHECK(count(db, "epoch > 1") == 0);
  resume_to_completion(dir, db);
}

TEST_CASE(
    "tracking failure: a read-only database stops a new run before it starts; difflut-query reads it") {
  const std::string dir = test::temp_dir("hist-readonly");
  const std::string src = dir + "/src", ro = dir + "/ro";
  fs::create_directories(src);
  fs::create_directories(ro);
  completed_run(dir, src + "/e.db", 1);
  // Read-only media where possible (a read-only bind mount, as root); else permissions (which
  // root ignores, hence the mount).
  bool mounted = false;
  if (::geteuid() == 0) {
    mounted = test::run_command("mount --bind '" + src + "' '" + ro +
                                "' 2>&1 && mount -o "
                                "remount,bind,ro '" +
                                ro + "' 2>&1")
                  .exit_code == 0;
    if (!mounted) test::run_command("umount '" + ro + "' 2>&1");
  } else {
    fs::remove(ro);
    fs::rename(src, ro);
    fs::permissions(ro + "/e.db", fs::perms::owner_read | fs::perms::group_read);
    fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec);
  }
  if (::geteuid() == 0 && !mounted) {
    MESSAGE("skipped: running as root without a read-only bind mount");
    return;
  }
  struct Restore {
    std::string path;
    bool mounted;
    ~Restore() {
      if (mounted) {
        test::run_command("umount '" + path + "' 2>&1");
      } else {
        std::error_code ec;
        fs::permissions(path, fs::perms::owner_all, ec);
      }
    }
  } restore{ro, mounted};
  const std::string db = ro + "/e.db";
  REQUIRE_FALSE(fs::exists(db + "-shm"));  // closed cleanly: no WAL index to reuse

  const test::CommandResult q =
      test::run_command(test::built_program("difflut-query") + " --db '" + db + "'");
  INFO(q.output);
  CHECK(q.exit_code == 0);
  CHECK(q.output.find("completed") != std::string::npos);
  const test::CommandResult show =
      test::run_command(test::built_program("difflut-query") + " --db '" + db + "' --show 1");
  CHECK(show.exit_code == 0);

  const test::CommandResult r =
      train(dir, std::string(kSmallRun) + " output_dir=out2 training.epochs=1 tracking.db=" + db);
  INFO(r.output);
  CHECK(r.exit_code == 2);
  CHECK(r.last_line() == "difflut-train: error: tracking database " + db +
                             ": expected a writable file, found it read-only (file permissions "
                             "or a read-only file system)");
  // Nothing was left behind: no run directory for a run that never started.
  CHECK((!fs::exists(dir + "/out2/hist") || fs::is_empty(dir + "/out2/hist")));
}
