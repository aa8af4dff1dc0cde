// Against a real single-node SLURM (slurm-wlm + munge) that this suite starts and stops itself
// with scripts/slurm/test-cluster.sh (private key, socket, ports and state under /tmp; needs root).
// Without root or the packages the cases skip with the reason. Checks: array jobs run every task;
// each sweep script in scripts/slurm/ passes its task's override (and the extra arguments) to
// difflut-train; and `difflut-train -m ... launcher=slurm` runs a 2x2 sweep whose four runs land in
// the tracking database as finished experiments with per-epoch metrics. Full builds only (_full):
// the sweep's results are read back with difflut-query, which needs SQLite.
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/io/mini_json.h"
#include "test_util.h"

using namespace difflut;

namespace {

std::string source_dir() {
  const char* s = std::getenv("DIFFLUT_SOURCE_DIR");
  return s && *s ? s : ".";
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The private cluster, started on first use and stopped when the test program exits.
class Cluster {
 public:
  Cluster() {
    if (const char* skip = std::getenv("DIFFLUT_SKIP_SLURM");
        skip && *skip && std::string(skip) != "0") {
      why_ = "DIFFLUT_SKIP_SLURM is set";
      return;
    }
    dir_ = "/tmp/difflut-slurm-test-" + std::to_string(::getpid());
    const int port = 20000 + static_cast<int>(::getpid() % 20000) * 2;
    env_ = "DIFFLUT_SLURM_DIR='" + dir_ + "' DIFFLUT_SLURM_PORT=" + std::to_string(port) + " ";
    const test::CommandResult r =
        test::run_command(env_ + "bash '" + source_dir() + "/scripts/slurm/test-cluster.sh' start");
    up_ = r.exit_code == 0;
    if (!up_) why_ = "the test cluster did not start: " + r.output;
  }
  // Runs after doctest has finished: plain std::system, no doctest assertions.
  ~Cluster() {
    if (up_) {
      const std::string cmd =
          env_ + "bash '" + source_dir() + "/scripts/slurm/test-cluster.sh' stop >/dev/null 2>&1";
      [[maybe_unused]] const int rc = std::system(cmd.c_str());
    }
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  bool up() const { return up_; }
  const std::string& why() const { return why_; }
  // Prefix for client commands (sbatch, squeue) and anything that calls them.
  std::string client_env() const { return "SLURM_CONF='" + dir_ + "/slurm.conf' "; }

 private:
  bool up_ = false;
  std::string why_, dir_, env_;
};

Cluster& cluster() {
  static Cluster c;
  return c;
}

#define REQUIRE_SLURM()                        \
  do {                                         \
    if (!cluster().up()) {                     \
      MESSAGE("skipped: " << cluster().why()); \
      return;                                  \
    }                                          \
  } while (0)

void write_script(const std::string& path, const std::string& body) {
  std::ofstream(path) << "#!/bin/bash\n" << body;
  std::filesystem::permissions(path, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::add);
}

// Submits with `sbatch --parsable` and returns the job id (fails the test if sbatch does).
std::string submit(const std::string& args) {
  const test::CommandResult r =
      test::run_command(cluster().client_env() + "sbatch --parsable " + args);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  return r.last_line().substr(0, r.last_line().find(';'));
}

// Polls squeue until none of `jobs` is pending or running (sbatch --wait polls far slower).
void wait_for(const std::vector<std::string>& jobs, double timeout_s = 300) {
  std::string ids;
  for (const std::string& j : jobs) ids += (ids.empty() ? "" : ",") + j;
  for (double waited = 0; waited < timeout_s; waited += 0.3) {
    const test::CommandResult r =
        test::run_command(cluster().client_env() + "squeue -h -o %i -j " + ids);
    if (r.exit_code == 0 && r.output.find_first_not_of(" \n") == std::string::npos) return;
    ::usleep(300000);
  }
  FAIL("jobs " << ids << " still queued or running after " << timeout_s << " s");
}

}  // namespace

TEST_CASE("slurm: the test cluster runs every task of an array job") {
  REQUIRE_SLURM();
  const std::string dir = test::temp_dir("slurm-array");
  wait_for({submit("--array=0-3 --chdir='" + dir + "' --output='" + dir +
                   "/task-%a.out' --wrap 'echo task=$SLURM_ARRAY_TASK_ID'")});
  for (int t = 0; t < 4; ++t)
    CHECK(slurp(dir + "/task-" + std::to_string(t) + ".out") == "task=" + std::to_string(t) + "\n");
}

TEST_CASE("slurm: every sweep script passes its task's override and the extra arguments") {
  REQUIRE_SLURM();
  const std::string dir = test::temp_dir("slurm-scripts");
  // A stand-in difflut-train: one file per task with the arguments it was given.
  const std::string fake = dir + "/fake-train";
  write_script(
      fake, "printf '%s\\n' \"$@\" > \"" + dir + "/args-$SLURM_JOB_NAME-$SLURM_ARRAY_TASK_ID\"\n");
  struct Case {
    const char* script;
    const char* job;
    int tasks;
    int probe;             // a task to look at closely
    const char* expected;  // an argument that task must get
  };
  const Case cases[] = {
      {"sweep_node_types.sbatch", "difflut_nodes", 13, 12,
       "model.params.node_type=gradient_stabilized"},
      {"sweep_layer_types.sbatch", "difflut_layers", 3, 2, "model.params.layer_type=cyclic"},
      {"sweep_datasets.sbatch", "difflut_datasets", 3, 0, "dataloaders=mnist"},
      {"sweep_hyperparams.sbatch", "difflut_hparams", 18, 13,
       "model.params.hidden_sizes=[2000,1000]"},
  };
  std::vector<std::string> jobs;
  for (const Case& c : cases) {
    // The scripts ask for 8 CPUs and 32 GB; the test node may be smaller, so ask for less.
    jobs.push_back(submit("--export=ALL,DIFFLUT_TRAIN='" + fake +
                          "' --cpus-per-task=1 --mem=50M "
                          "--chdir='" +
                          dir + "' --output='" + dir + "/%x-%a.out' '" + source_dir() +
                          "/scripts/slurm/" + c.script +
                          "' training.epochs=1 'experiment_name=x y'"));
  }
  wait_for(jobs);
  for (const Case& c : cases) {
    for (int t = 0; t < c.tasks; ++t) {
      const std::string args = slurp(dir + "/args-" + c.job + "-" + std::to_string(t));
      CHECK_MESSAGE(args.find("training.epochs=1\nexperiment_name=x y\n") != std::string::npos,
                    c.script, " task ", t, ": ", args);
    }
    const std::string probe = slurp(dir + "/args-" + c.job + "-" + std::to_string(c.probe));
    CHECK_MESSAGE(probe.find(std::string(c.expected) + "\n") != std::string::npos, c.script, ": ",
                  probe);
  }
  // Task 13 of the grid: n index 1 (6), lr index 1 (0.01), size index 1.
  const std::string hp = slurp(dir + "/args-difflut_hparams-13");
  CHECK(hp.find("model.params.num_inputs=6\n") != std::string::npos);
  CHECK(hp.find("training.lr=0.01\n") != std::string::npos);
  CHECK(slurp(dir + "/args-difflut_nodes-7").find("model.params.num_inputs=2\n") !=
        std::string::npos);
}

namespace {

// The sweep's first axis: two registered node types (dwn and linear_lut when both exist), else the
// mapping layer type when only one node type is registered.
std::pair<std::string, std::vector<std::string>> first_axis() {
  const test::CommandResult r =
      test::run_command(test::built_program("difflut-train") + " --config-dir '" + source_dir() +
                        "/configs' model.params.node_type=__no_such_type__");
  std::vector<std::string> known;
  const size_t at = r.output.find("(known: ");
  if (at != std::string::npos) {
    std::istringstream list(r.output.substr(at + 8, r.output.find(')', at) - at - 8));
    std::string name;
    while (std::getline(list, name, ',')) known.push_back(name.substr(name.find_first_not_of(' ')));
  }
  if (known.size() < 2) {
    MESSAGE("one node type registered: the first axis is model.params.layer_type");
    return {"model.params.layer_type", {"learnable", "random"}};
  }
  const bool linear = std::find(known.begin(), known.end(), "linear_lut") != known.end();
  return {"model.params.node_type",
          {"dwn", linear ? "linear_lut" : (known[0] == "dwn" ? known[1] : known[0])}};
}

}  // namespace

TEST_CASE("slurm: difflut-train -m launcher=slurm runs a 2x2 sweep into one tracking database") {
  REQUIRE_SLURM();
  const std::string dir = test::temp_dir("slurm-sweep-2x2");
  const auto [key, values] = first_axis();
  const test::CommandResult r = test::run_command(
      "cd '" + dir + "' && " + cluster().client_env() + test::built_program("difflut-train") +
      " --config-dir '" + source_dir() + "/configs' -m " + key + "=" + values[0] + "," + values[1] +
      " training.lr=0.01,0.003 dataloaders.subset_size=2000 training.epochs=2"
      " training.val_fraction=0.1 'model.params.hidden_sizes=[300,150]' device=cpu"
      " experiment_name=slurm2x2 launcher=slurm launcher.wait=true launcher.cpus_per_task=1"
      " launcher.mem_gb=2 launcher.timeout_min=30");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const size_t at = r.output.find("slurm_job_id=");
  REQUIRE(at != std::string::npos);
  const std::string job = r.output.substr(at + 13, r.output.find('\n', at) - at - 13);

  const test::CommandResult q = test::run_command(test::built_program("difflut-query") + " --db '" +
                                                  dir + "/results/experiments.db' --json -");
  INFO(q.output);
  REQUIRE(q.exit_code == 0);
  const json::Value v = json::parse(q.output, "difflut-query --json");
  const json::Value* exps = v.find("experiments");
  REQUIRE(exps != nullptr);
  REQUIRE(exps->items.size() == 4);
  std::set<std::string> tasks;
  for (const json::Value& e : exps->items) {
    CHECK(e.find("status")->text == "completed");
    CHECK(e.find("epochs")->text == "2/2");
    REQUIRE(e.find("best_val_accuracy")->is_number());
    CHECK(std::stod(e.find("best_val_accuracy")->text) > 0.2);
    CHECK(e.find("test_accuracy")->is_number());
    tasks.insert(e.find("slurm_job_id")->text);
  }
  CHECK(tasks == std::set<std::string>{job + "_0", job + "_1", job + "_2", job + "_3"});
  // difflut-query's table lists the four with their best accuracies.
  const test::CommandResult list =
      test::run_command(test::built_program("difflut-query") + " --db '" + dir +
                        "/results/experiments.db' --name slurm2x2");
  CHECK(list.exit_code == 0);
  size_t rows = 0;
  for (size_t p = list.output.find("slurm2x2"); p != std::string::npos;
       p = list.output.find("slurm2x2", p + 1))
    ++rows;
  CHECK(rows == 4);
}
