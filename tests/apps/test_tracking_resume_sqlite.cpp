// difflut-train survives SIGKILL: a run on a 2000-image Fashion-MNIST subset is killed with
// SIGKILL in the middle of epoch 2 (after its step 3, by the trainer's DIFFLUT_TEST_SIGNAL_AT
// hook, so the point does not depend on timing or machine load); the tracking database and the
// checkpoint of epoch 1 are readable, the experiment is not finished, and training.resume=
// completes it in the same experiment row with every epoch recorded once and the same results,
// bit for bit, as a run that was never killed.
#include <sqlite3.h>

#include <csignal>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <signal.h>

#include "apps_test_util.h"
#include "autograd/io/safetensors.h"
#include "common/tracking/tracking_sqlite.h"
#include "test_util.h"

using namespace difflut;
using namespace difflut::app;

namespace {

std::string train_cmd(const std::string& dir, const std::string& extra,
                      const std::string& env = "") {
  const char* src = std::getenv("DIFFLUT_SOURCE_DIR");
  const std::string config_dir = src ? std::string(" --config-dir '") + src + "/configs'" : "";
  return "cd '" + dir + "' && DIFFLUT_NUM_THREADS=2 " + env + " " +
         test::built_program("difflut-train") + config_dir +
         " dataloaders.subset_size=2000 training.epochs=3 training.val_fraction=0.1"
         " 'model.params.hidden_sizes=[500,250]' device=cpu experiment_name=killme " +
         extra;
}

std::string integrity(const std::string& db_path) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  const std::string r = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return r;
}

// (phase, epoch) -> list of metric values named `metric`.
std::map<std::pair<std::string, int64_t>, std::vector<double>> values(const Tracker& t, int64_t id,
                                                                      const std::string& metric) {
  std::map<std::pair<std::string, int64_t>, std::vector<double>> out;
  for (const MeasurementRow& p : t.measurements(id))
    for (const auto& [name, v] : p.metrics)
      if (name == metric && v) out[{p.phase, p.epoch}].push_back(*v);
  return out;
}

}  // namespace

TEST_CASE("difflut-train killed with SIGKILL mid-epoch resumes to the uninterrupted result") {
  namespace fs = std::filesystem;
  const std::string dir = test::temp_dir("resume-kill");
  const std::string db_ref = dir + "/ref.db", db = dir + "/results/experiments.db";

  // The reference: the same run, never interrupted.
  const test::CommandResult ref =
      test::run_command(train_cmd(dir, "output_dir=ref tracking.db=" + db_ref));
  INFO(ref.output);
  REQUIRE(ref.exit_code == 0);
  REQUIRE(ref.last_line().rfind("test_accuracy=", 0) == 0);

  // The victim kills itself with SIGKILL after step 3 of epoch 2: epoch 1 and its checkpoint
  // are complete by then (the trainer records an epoch only after its checkpoint is durable).
  const test::CommandResult victim =
      test::run_command(train_cmd(dir, "output_dir=out", "DIFFLUT_TEST_SIGNAL_AT=2:3:KILL"));
  INFO(victim.output);
  REQUIRE(victim.exit_code == 128 + SIGKILL);

  // What the crash left: a sound database, an unfinished experiment, a readable checkpoint.
  CHECK(integrity(db) == "ok");
  TrackerOptions o;
  o.create = false;
  int64_t id = 0;
  std::string run_dir;
  {
    const Tracker t(db, o);
    const std::vector<ExperimentRow> rows = t.experiments();
    REQUIRE(rows.size() == 1);
    id = rows[0].id;
    CHECK(rows[0].status == kStatusRunning);
    CHECK(rows[0].end_time.empty());
    CHECK(rows[0].epochs_done == 1);
    run_dir = rows[0].run_dir;
  }
  REQUIRE(!run_dir.empty());
  CHECK(fs::exists(run_dir + "/config.yaml"));
  const SafetensorsContents ckpt = load_safetensors(run_dir + "/checkpoint.safetensors");
  const int64_t ckpt_epoch = std::stoll(ckpt.metadata.at("epoch"));
  CHECK(ckpt_epoch == 1);
  CHECK_FALSE(fs::exists(run_dir + "/summary.json"));  // the run never finished
  const test::CommandResult q =
      test::run_command(test::built_program("difflut-query") + " --db " + db);
  CHECK(q.output.find("running*") != std::string::npos);

  // Resume from another working directory: the run directory knows its database.
  const test::CommandResult resumed =
      test::run_command("cd / && DIFFLUT_NUM_THREADS=2 " + test::built_program("difflut-train") +
                        " training.resume=" + run_dir);
  INFO(resumed.output);
  REQUIRE(resumed.exit_code == 0);
  CHECK(resumed.output.find("resuming " + run_dir + " after epoch " + std::to_string(ckpt_epoch)) !=
        std::string::npos);
  CHECK(resumed.last_line() == ref.last_line());  // test_accuracy, same to the printed digit

  const Tracker t(db, o);
  const std::vector<ExperimentRow> rows = t.experiments();
  REQUIRE(rows.size() == 1);  // the same experiment, continued
  CHECK(rows[0].id == id);
  CHECK(rows[0].status == kStatusCompleted);
  CHECK(rows[0].epochs_done == 3);
  CHECK_FALSE(rows[0].end_time.empty());
  CHECK(rows[0].best_checkpoint == run_dir + "/best.safetensors");
  // Every epoch once per phase, and the numbers of the run that was never killed.
  const Tracker tr(db_ref, o);
  const int64_t ref_id = tr.experiments().at(0).id;
  const auto val = values(t, id, "accuracy"), val_ref = values(tr, ref_id, "accuracy");
  const auto loss = values(t, id, "loss"), loss_ref = values(tr, ref_id, "loss");
  for (int64_t e = 1; e <= 3; ++e) {
    REQUIRE(val.count({"val", e}));
    CHECK(val.at({"val", e}).size() == 1);
    CHECK(loss.at({"train", e}).size() == 1);
    CHECK(val.at({"val", e}) == val_ref.at({"val", e}));
    CHECK(loss.at({"train", e}) == loss_ref.at({"train", e}));
  }
  CHECK(val.at({"test", 3}) == val_ref.at({"test", 3}));
  CHECK(t.histograms(id).size() == 6);  // 2 LUT layers x 3 epochs
  CHECK(fs::exists(run_dir + "/summary.json"));
  CHECK(integrity(db) == "ok");
}
