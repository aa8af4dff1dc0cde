// difflut-query against a database written here with the Tracker: the list with best accuracies,
// name and status filters, one experiment's per-epoch table, CSV and JSON exports that parse back,
// and one-line errors for a missing database or experiment.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "apps_test_util.h"
#include "autograd/io/mini_json.h"
#include "common/tracking/tracking_sqlite.h"
#include "test_util.h"

using namespace difflut;
using namespace difflut::app;

namespace {

std::string query(const std::string& args) {
  return test::built_program("difflut-query") + " " + args;
}

// Two finished sweep runs and one killed run (status still "running", its pid long gone).
std::string make_db(const std::string& dir) {
  const std::string path = dir + "/experiments.db";
  Tracker t(path);
  struct Run {
    const char* name;
    const char* node;
    double lr;
    double val[3];
    const char* status;
  };
  const Run runs[] = {{"sweep_dwn", "dwn", 0.01, {0.61, 0.72, 0.70}, kStatusCompleted},
                      {"sweep_linear", "linear_lut", 0.003, {0.55, 0.58, 0.66}, kStatusCompleted},
                      {"killed_run", "dwn", 0.01, {0.40, 0, 0}, kStatusRunning}};
  for (const Run& r : runs) {
    ExperimentStart s;
    s.name = r.name;
    s.node_type = r.node;
    s.model_name = "dwn";
    s.dataset_name = "fashionmnist";
    s.learning_rate = r.lr;
    s.lut_count = 300;
    s.epochs = 3;
    s.device = "cpu";
    s.hostname = current_hostname();
    s.pid = 999999999;  // no such process: a killed run
    s.config_json = "{\"experiment_name\":\"" + std::string(r.name) + "\"}";
    const int64_t id = t.start_experiment(s);
    const int epochs = r.status == kStatusRunning ? 1 : 3;
    for (int e = 1; e <= epochs; ++e) {
      t.add_measurement(
          id, e, "train", 2.0, 2.0 * e,
          {{"loss", 1.0 / e, "", false}, {"accuracy", r.val[e - 1] - 0.05, "", false}});
      t.add_measurement(id, e, "val", std::nullopt, 2.0 * e,
                        {{"accuracy", r.val[e - 1], "", false}});
    }
    if (r.status != kStatusRunning) {
      t.add_measurement(id, 3, "test", std::nullopt, 6.5,
                        {{"accuracy", r.val[2] - 0.01, "", false}});
      t.finish(id, r.status);
    }
  }
  return path;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l)) out.push_back(l);
  return out;
}

}  // namespace

TEST_CASE("difflut-query lists every experiment with its best validation and test accuracy") {
  const std::string dir = test::temp_dir("query-list");
  const std::string db = make_db(dir);
  const test::CommandResult r = test::run_command(query("--db " + db));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const std::vector<std::string> lines = lines_of(r.output);
  REQUIRE(lines.size() >= 5);
  CHECK(lines[0].find("best_val_accuracy") != std::string::npos);
  // Row 1: best val 0.72 at epoch 2, test 0.69.
  CHECK(lines[2].find("sweep_dwn") != std::string::npos);
  CHECK(lines[2].find("0.7200") != std::string::npos);
  CHECK(lines[2].find("0.6900") != std::string::npos);
  CHECK(lines[2].find("completed") != std::string::npos);
  CHECK(lines[2].find("3/3") != std::string::npos);
  CHECK(lines[3].find("sweep_linear") != std::string::npos);
  CHECK(lines[3].find("0.6600") != std::string::npos);
  // The killed run: status running, flagged because its process is gone.
  CHECK(lines[4].find("killed_run") != std::string::npos);
  CHECK(lines[4].find("running*") != std::string::npos);
  CHECK(lines[4].find("1/3") != std::string::npos);
  CHECK(r.output.find("training.resume=") != std::string::npos);
}

TEST_CASE("difflut-query filters by name and status") {
  const std::string dir = test::temp_dir("query-filter");
  const std::string db = make_db(dir);
  test::CommandResult r =
      test::run_command(query("--db " + db + " --name sweep --status completed"));
  REQUIRE(r.exit_code == 0);
  CHECK(lines_of(r.output).size() == 4);  // header, rule, two rows
  CHECK(r.output.find("killed_run") == std::string::npos);
  r = test::run_command(query("--db " + db + " --status running"));
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("killed_run") != std::string::npos);
  CHECK(r.output.find("sweep_dwn") == std::string::npos);
  r = test::run_command(query("--db " + db + " --name nothing_like_this"));
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("no experiments match") != std::string::npos);
}

TEST_CASE("difflut-query --show prints one experiment's metrics per epoch") {
  const std::string dir = test::temp_dir("query-show");
  const std::string db = make_db(dir);
  const test::CommandResult r = test::run_command(query("--db " + db + " --show 2"));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("name: sweep_linear") != std::string::npos);
  CHECK(r.output.find("node_type: linear_lut") != std::string::npos);
  const std::vector<std::string> lines = lines_of(r.output);
  size_t header = 0;
  while (header < lines.size() && lines[header].rfind("epoch ", 0) != 0) ++header;
  REQUIRE(header + 4 < lines.size());
  CHECK(lines[header].find("train/loss") != std::string::npos);
  CHECK(lines[header].find("val/accuracy") != std::string::npos);
  CHECK(lines[header].find("test/accuracy") != std::string::npos);
  CHECK(lines[header + 2].find("0.55000") != std::string::npos);  // epoch 1 val
  CHECK(lines[header + 4].find("0.65000") != std::string::npos);  // epoch 3 test (0.66 - 0.01)
}

TEST_CASE("difflut-query exports CSV and JSON that parse back") {
  const std::string dir = test::temp_dir("query-export");
  const std::string db = make_db(dir);
  test::CommandResult r = test::run_command(query("--db " + db + " --csv -"));
  REQUIRE(r.exit_code == 0);
  std::vector<std::string> lines = lines_of(r.output);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0].rfind("id,name,status,", 0) == 0);
  CHECK(lines[0].find("best_train/loss") != std::string::npos);
  CHECK(lines[1].rfind("1,sweep_dwn,completed,", 0) == 0);
  CHECK(lines[1].find(",0.72,") != std::string::npos);

  r = test::run_command(query("--db " + db + " --json " + dir + "/list.json"));
  REQUIRE(r.exit_code == 0);
  std::ifstream in(dir + "/list.json");
  std::stringstream ss;
  ss << in.rdbuf();
  const json::Value v = json::parse(ss.str(), "list.json");
  const json::Value* exps = v.find("experiments");
  REQUIRE(exps != nullptr);
  REQUIRE(exps->items.size() == 3);
  CHECK(exps->items[0].find("name")->text == "sweep_dwn");
  CHECK(std::stod(exps->items[0].find("best_val_accuracy")->text) == doctest::Approx(0.72));
  CHECK(exps->items[2].find("test_accuracy")->kind == json::Value::Kind::null);

  r = test::run_command(query("--db " + db + " --show 1 --json -"));
  REQUIRE(r.exit_code == 0);
  const json::Value one = json::parse(r.output, "show json");
  CHECK(one.find("config")->find("experiment_name")->text == "sweep_dwn");
  REQUIRE(one.find("per_epoch")->items.size() == 3);
  CHECK(std::stod(one.find("per_epoch")->items[1].find("val/accuracy")->text) ==
        doctest::Approx(0.72));

  r = test::run_command(query("--db " + db + " --show 1 --csv -"));
  REQUIRE(r.exit_code == 0);
  lines = lines_of(r.output);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0].rfind("epoch,train/loss,train/accuracy,val/accuracy", 0) == 0);
}

TEST_CASE("difflut-query --seeds summarises runs that differ only in seed") {
  const std::string dir = test::temp_dir("query-seeds");
  const std::string path = dir + "/experiments.db";
  {
    Tracker t(path);
    const double acc[] = {0.87, 0.88, 0.86, 0.80};
    for (int i = 0; i < 4; ++i) {
      ExperimentStart s;
      s.name = i < 3 ? "spread" : "other";
      s.node_type = "dwn";
      s.dataset_name = "fashionmnist";
      s.device = "cpu";
      s.epochs = 15;
      s.config_json = "{\"experiment_name\":\"" + s.name + "\",\"seed\":" + std::to_string(i + 1) +
                      ",\"output_dir\":\"out" + std::to_string(i) + "\"}";
      const int64_t id = t.start_experiment(s);
      t.add_measurement(id, 15, "test", std::nullopt, 1.0, {{"accuracy", acc[i], "", false}});
      t.finish(id, kStatusCompleted);
    }
  }
  test::CommandResult r = test::run_command(query("--db " + path + " --seeds"));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const std::vector<std::string> lines = lines_of(r.output);
  REQUIRE(lines.size() == 4);  // header, rule, two groups
  CHECK(lines[0].find("test_mean") != std::string::npos);
  CHECK(lines[2].find("spread") != std::string::npos);
  CHECK(lines[2].find("0.8700") != std::string::npos);  // mean of 0.87, 0.88, 0.86
  CHECK(lines[2].find("0.0100") != std::string::npos);  // their sample sd
  CHECK(lines[2].find("1 2 3") != std::string::npos);   // seeds (and ids)
  CHECK(lines[3].find("other") != std::string::npos);

  r = test::run_command(query("--db " + path + " --seeds --json -"));
  REQUIRE(r.exit_code == 0);
  const json::Value v = json::parse(r.output, "seeds json");
  REQUIRE(v.find("seed_groups")->items.size() == 2);
  CHECK(std::stod(v.find("seed_groups")->items[0].find("runs")->text) == 3);
  CHECK(std::stod(v.find("seed_groups")->items[0].find("test_max")->text) == doctest::Approx(0.88));

  r = test::run_command(query("--db " + path + " --seeds --show 1"));
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("--seeds and --show") != std::string::npos);
}

TEST_CASE("difflut-query errors are one clear line with exit code 2") {
  const std::string dir = test::temp_dir("query-errors");
  test::CommandResult r = test::run_command(query("--db " + dir + "/nope.db"));
  CHECK(r.exit_code == 2);
  CHECK(r.output.rfind("difflut-query: error: tracking database " + dir + "/nope.db: no such file",
                       0) == 0);
  CHECK(lines_of(r.output).size() == 1);
  const std::string db = make_db(dir);
  r = test::run_command(query("--db " + db + " --show 42"));
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("--show 42: no experiment with that id") != std::string::npos);
  r = test::run_command(query("--db " + db + " --status finished"));
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("expected one of created, running, completed") != std::string::npos);
  r = test::run_command(query("--bogus"));
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("unknown argument '--bogus'") != std::string::npos);
}
