// Against a real single-node SLURM (slurm-wlm + munge) that this suite starts and stops itself
// with scripts/slurm/test-cluster.sh (private key, socket, ports and state under /tmp; needs root).
// Without root or the packages the cases skip with the reason. Checks: array jobs run every task;
// each sweep script in scripts/slurm/ passes its task's override (and the extra arguments) to
// difflut-train; and `difflut-train -m ... launcher=slurm` runs a 2x2 sweep whose four runs land in
// the tracking database as finished experiments with per-epoch metrics.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

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
    if (const char* skip = std::getenv("DIFFLUT_SKIP_SLURM"); skip && *skip && std::string(skip) != "0") {
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
  ~Cluster() {
    if (up_) test::run_command(env_ + "bash '" + source_dir() + "/scripts/slurm/test-cluster.sh' stop");
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

#define REQUIRE_SLURM()                                  \
  do {                                                   \
    if (!cluster().up()) {                               \
      MESSAGE("skipped: " << cluster().why());           \
      return;                                            \
    }                                                    \
  } while (0)

void write_script(const std::string& path, const std::string& body) {
  std::ofstream(path) << "#!/bin/bash\n" << body;
  std::filesystem::permissions(path, std::filesystem::perms::owner_all, std::filesystem::perm_options::add);
}

// Submits with `sbatch --parsable` and returns the job id (fails the test if sbatch does).
std::string submit(const std::string& args) {
  const test::CommandResult r = test::run_command(cluster().client_env() + "sbatch --parsable " + args);
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
  write_script(fake, "printf '%s\\n' \"$@\" > \"" + dir + "/args-$SLURM_JOB_NAME-$SLURM_ARRAY_TASK_ID\"\n");
  struct Case {
    const char* script;
    const char* job;
    int tasks;
    int probe;             // a task to look at closely
    const char* expected;  // an argument that task must get
  };
  const Case cases[] = {
      {"sweep_node_types.sbatch", "difflut_nodes", 8, 7, "model.params.node_type=difflogic"},
      {"sweep_layer_types.sbatch", "difflut_layers", 3, 2, "model.params.layer_type=cyclic"},
      {"sweep_datasets.sbatch", "difflut_datasets", 3, 0, "dataloaders=mnist"},
      {"sweep_hyperparams.sbatch", "difflut_hparams", 18, 13, "model.params.hidden_sizes=[2000,1000]"},
  };
  std::vector<std::string> jobs;
  for (const Case& c : cases) {
    // The scripts ask for 8 CPUs and 32 GB; the test node may be smaller, so ask for less.
    jobs.push_back(submit("--export=ALL,DIFFLUT_TRAIN='" + fake + "' --cpus-per-task=1 --mem=50M "
                          "--chdir='" + dir + "' --output='" + dir + "/%x-%a.out' '" + source_dir() +
                          "/scripts/slurm/" + c.script + "' training.epochs=1 'experiment_name=x y'"));
  }
  wait_for(jobs);
  for (const Case& c : cases) {
    for (int t = 0; t < c.tasks; ++t) {
      const std::string args = slurp(dir + "/args-" + c.job + "-" + std::to_string(t));
      CHECK_MESSAGE(args.find("training.epochs=1\nexperiment_name=x y\n") != std::string::npos,
                    c.script, " task ", t, ": ", args);
    }
    const std::string probe = slurp(dir + "/args-" + c.job + "-" + std::to_string(c.probe));
    CHECK_MESSAGE(probe.find(std::string(c.expected) + "\n") != std::string::npos, c.script, ": ", probe);
  }
  // Task 13 of the grid: n index 1 (6), lr index 1 (0.01), size index 1.
  const std::string hp = slurp(dir + "/args-difflut_hparams-13");
  CHECK(hp.find("model.params.num_inputs=6\n") != std::string::npos);
  CHECK(hp.find("training.lr=0.01\n") != std::string::npos);
  CHECK(slurp(dir + "/args-difflut_nodes-7").find("model.params.num_inputs=2\n") != std::string::npos);
}
