// A 2x2 sweep on a 2000-image Fashion-MNIST subset through `difflut-train -m` with the local
// launcher (two runs at a time): the database then holds four finished experiments, one per
// combination, with per-epoch metrics; difflut-query lists them with their best accuracies and
// difflut-plot draws them.
#include <algorithm>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "apps_test_util.h"
#include "common/tracking/tracking_sqlite.h"
#include "test_util.h"

using namespace difflut;
using namespace difflut::app;

namespace {

std::string config_dir_flag() {
  const char* src = std::getenv("DIFFLUT_SOURCE_DIR");
  return src ? std::string(" --config-dir '") + src + "/configs'" : "";
}

}  // namespace

namespace difflut::test {
// The two node types the sweep compares: dwn and linear_lut when both are registered, else the
// first two the registry lists; with a single node type the second axis is the mapping instead.
std::vector<std::string> sweep_axis_one(std::string& key) {
  const CommandResult r = run_command(built_program("difflut-train") + config_dir_flag() +
                                      " model.params.node_type=__no_such_type__");
  std::vector<std::string> known;
  const size_t at = r.output.find("(known: ");
  if (at != std::string::npos) {
    std::istringstream list(r.output.substr(at + 8, r.output.find(')', at) - at - 8));
    std::string name;
    while (std::getline(list, name, ',')) {
      name.erase(0, name.find_first_not_of(' '));
      known.push_back(name);
    }
  }
  const bool has_linear = std::find(known.begin(), known.end(), "linear_lut") != known.end();
  if (known.size() >= 2) {
    key = "model.params.node_type";
    return {"dwn", has_linear ? "linear_lut" : (known[0] == "dwn" ? known[1] : known[0])};
  }
  MESSAGE("only one node type is registered ("
          << (known.empty() ? "?" : known[0])
          << "): the sweep's first axis is the mapping layer type instead");
  key = "model.params.layer_type";
  return {"learnable", "random"};
}
}  // namespace difflut::test

TEST_CASE("difflut-train -m runs a 2x2 sweep locally into one database that difflut-query lists") {
  const std::string dir = test::temp_dir("sweep-2x2-local");
  std::string key;
  const std::vector<std::string> types = test::sweep_axis_one(key);
  const std::string cmd =
      "cd '" + dir + "' && " + test::built_program("difflut-train") + config_dir_flag() + " -m " +
      key + "=" + types[0] + "," + types[1] + " training.lr=0.01,0.003" +
      " dataloaders.subset_size=2000 training.epochs=2 training.val_fraction=0.1"
      " 'model.params.hidden_sizes=[300,150]' device=cpu experiment_name=sweep2x2"
      " launcher.n_jobs=2";
  const test::CommandResult r = test::run_command(cmd);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("sweep: 4 runs, launcher local") != std::string::npos);
  CHECK(r.output.find("4 of 4 runs succeeded") != std::string::npos);

  TrackerOptions o;
  o.create = false;
  const Tracker t(dir + "/results/experiments.db", o);
  const std::vector<ExperimentRow> rows = t.experiments();
  REQUIRE(rows.size() == 4);
  std::set<std::pair<std::string, double>> combos;
  for (const ExperimentRow& e : rows) {
    CHECK(e.status == kStatusCompleted);
    CHECK(e.epochs_done == 2);
    CHECK(e.best.count("val/accuracy"));
    CHECK(e.best.at("val/accuracy") > 0.2);  // above chance (0.1) after 2 epochs
    CHECK(e.best.count("test/accuracy"));
    CHECK(t.measurements(e.id).size() == 5);  // train + val per epoch, test once
    combos.insert({key == "model.params.node_type" ? e.node_type : e.layer_type, *e.learning_rate});
  }
  CHECK(combos == std::set<std::pair<std::string, double>>{
                      {types[0], 0.01}, {types[0], 0.003}, {types[1], 0.01}, {types[1], 0.003}});

  const test::CommandResult q = test::run_command(test::built_program("difflut-query") + " --db '" +
                                                  dir + "/results/experiments.db' --name sweep2x2");
  INFO(q.output);
  REQUIRE(q.exit_code == 0);
  std::istringstream lines(q.output);
  std::string line;
  int listed = 0;
  while (std::getline(lines, line)) {
    if (line.find("sweep2x2") == std::string::npos) continue;
    ++listed;
    CHECK(line.find("completed") != std::string::npos);
    CHECK(line.find("2/2") != std::string::npos);
    CHECK(line.find(" 0.") != std::string::npos);  // a best accuracy is shown
  }
  CHECK(listed == 4);

  const test::CommandResult p = test::run_command(
      "cd '" + dir + "' && " + test::built_program("difflut-plot") + " sweep -o sweep.svg && " +
      test::built_program("difflut-plot") + " histograms --id 1 -o h.svg");
  INFO(p.output);
  CHECK(p.exit_code == 0);
  if (test::run_command("command -v rsvg-convert").exit_code == 0) {
    CHECK(test::run_command("rsvg-convert -o '" + dir + "/sweep.png' '" + dir + "/sweep.svg'")
              .exit_code == 0);
    CHECK(test::run_command("rsvg-convert -o '" + dir + "/h.png' '" + dir + "/h.svg'").exit_code ==
          0);
  }
}
