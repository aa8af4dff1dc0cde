// Sweep launchers without a trainer: shell quoting survives sh, the overrides file gives each array
// task its argv back, the local launcher runs every set with at most n_jobs at once and reports
// exit codes, the SLURM script asks for the right array, and submission parses sbatch's answer.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <sys/stat.h>

#include "apps_test_util.h"
#include "common/config/config_compose.h"
#include "common/sweeps/sweep.h"
#include "test_util.h"

using namespace difflut;
using namespace difflut::app;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_script(const std::string& path, const std::string& body) {
  test::write_file(path, "#!/bin/sh\n" + body);
  ::chmod(path.c_str(), 0755);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l)) out.push_back(l);
  return out;
}

}  // namespace

TEST_CASE("sweep: shell_quote keeps every word intact through sh") {
  const std::vector<std::string> words = {"training.lr=0.01",
                                          "model.params.hidden_sizes=[100, 50]",
                                          "experiment_name=it's",
                                          "a\"b",
                                          "$HOME",
                                          "x=`id`",
                                          "",
                                          "tab\there",
                                          "star*"};
  for (const std::string& w : words) {
    const test::CommandResult r = test::run_command("printf '%s|' " + shell_quote(w));
    CHECK(r.exit_code == 0);
    CHECK(r.output == w + "|");
  }
  CHECK(shell_quote("training.lr=0.01") == "training.lr=0.01");  // plain words stay readable
}

TEST_CASE("sweep: each overrides-file line evaluates back to its run's arguments in bash") {
  const std::vector<std::vector<std::string>> sets = {
      {"model.params.node_type=dwn", "training.lr=0.01", "experiment_name=a b"},
      {"model.params.node_type=linear_lut", "'model.params.hidden_sizes=[10,5]'"}};
  const std::string dir = test::temp_dir("sweep-lines");
  test::write_file(dir + "/overrides.txt", overrides_file_text(sets));
  for (size_t i = 0; i < sets.size(); ++i) {
    const std::string cmd = "bash -c 'line=\"$(sed -n " + std::to_string(i + 1) + "p " + dir +
                            "/overrides.txt)\"; eval \"set -- $line\"; printf \"%s\\n\" \"$@\"'";
    const test::CommandResult r = test::run_command(cmd);
    CHECK(r.exit_code == 0);
    CHECK(lines_of(r.output) == sets[i]);
  }
}

TEST_CASE(
    "sweep: the local launcher runs every set, at most n_jobs at once, and reports exit codes") {
  const std::string dir = test::temp_dir("sweep-local");
  // A stand-in trainer: records its arguments, counts how many copies run at once, fails for
  // `fail=1`. mkdir is atomic, so the count of running.* directories is exact.
  const std::string prog = dir + "/fake-train";
  write_script(prog,
               "mkdir \"" + dir +
                   "/running.$$\"\n"
                   "n=$(ls -d \"" +
                   dir +
                   "\"/running.* | wc -l)\n"
                   "echo $n >> \"" +
                   dir +
                   "/concurrency\"\n"
                   "echo \"args: $*\"\n"
                   "echo \"threads: $DIFFLUT_NUM_THREADS\"\n"
                   "sleep 0.4\n"
                   "rmdir \"" +
                   dir +
                   "/running.$$\"\n"
                   "case \"$*\" in *fail=1*) echo 'difflut-train: error: boom' >&2; exit 2;; esac\n"
                   "echo test_accuracy=0.5\n");
  const std::vector<std::vector<std::string>> sets = {
      {"--x", "a=1"}, {"--x", "a=2"}, {"--x", "a=3", "fail=1"}, {"--x", "a=4"}, {"--x", "a=5"}};
  SweepContext ctx;
  ctx.program = prog;
  ctx.base_args = {"--config-name", "experiment"};
  ctx.sweep_dir = dir;
  LauncherSettings s;
  s.n_jobs = 2;
  s.threads_per_job = 3;
  std::ostringstream log;
  ctx.log = &log;
  const std::vector<LocalRunResult> results = run_local_sweep(sets, ctx, s);
  REQUIRE(results.size() == 5);
  for (size_t i = 0; i < results.size(); ++i) {
    CHECK(results[i].exit_code == (i == 2 ? 2 : 0));
    const std::string text = slurp(results[i].log_path);
    CHECK(text.find("args: --config-name experiment --x a=" + std::to_string(i + 1)) !=
          std::string::npos);
    CHECK(text.find("threads: 3") != std::string::npos);
  }
  CHECK(slurp(results[2].log_path).find("boom") != std::string::npos);
  int peak = 0;
  for (const std::string& l : lines_of(slurp(dir + "/concurrency")))
    peak = std::max(peak, std::stoi(l));
  CHECK(peak == 2);
  CHECK(log.str().find("run 3/5 FAILED (exit 2)") != std::string::npos);
}

TEST_CASE("sweep: the SLURM array script asks for one task per run and runs line i") {
  SweepContext ctx;
  ctx.program = "/opt/difflut/bin/difflut-train";
  ctx.base_args = {"--config-dir", "/data/my configs"};
  ctx.sweep_dir = "/scratch/sweep";
  ctx.working_dir = "/scratch";
  LauncherSettings s;
  s.name = "slurm";
  s.array_parallelism = 2;
  s.partition = "gpu";
  s.gres = "gpu:1";
  s.timeout_min = 90;
  s.cpus_per_task = 8;
  s.mem_gb = 32;
  s.setup = "module load cuda";
  const std::string script = slurm_array_script(ctx, s, "/scratch/sweep/overrides.txt", 4, "dwn");
  for (const char* want :
       {"#SBATCH --array=0-3%2\n", "#SBATCH --partition=gpu\n", "#SBATCH --gres=gpu:1\n",
        "#SBATCH --time=90\n", "#SBATCH --cpus-per-task=8\n", "#SBATCH --mem=32G\n",
        "#SBATCH --job-name=dwn\n", "#SBATCH --chdir=/scratch\n", "module load cuda\n",
        "SLURM_ARRAY_TASK_ID + 1",
        "exec /opt/difflut/bin/difflut-train --config-dir '/data/my configs' \"$@\""})
    CHECK_MESSAGE(script.find(want) != std::string::npos, "missing: ", want, "\n", script);
  CHECK(script.rfind("#!/bin/bash\n", 0) == 0);
}

TEST_CASE("sweep: SLURM submission writes the files and reads the job id sbatch prints") {
  const std::string dir = test::temp_dir("sweep-submit");
  const std::string fake = dir + "/fake-sbatch";
  write_script(fake, "echo \"$@\" > \"" + dir + "/sbatch-args\"\necho '4711;cluster'\n");
  ::setenv("DIFFLUT_SBATCH", fake.c_str(), 1);
  SweepContext ctx;
  ctx.program = "/bin/true";
  ctx.sweep_dir = dir;
  LauncherSettings s;
  s.name = "slurm";
  s.additional_parameters = {"--qos=short"};
  const SlurmSubmission sub = submit_slurm_sweep({{"a=1"}, {"a=2"}, {"a=3"}}, ctx, s, "job");
  ::unsetenv("DIFFLUT_SBATCH");
  CHECK(sub.job_id == "4711");
  CHECK(slurp(sub.overrides_path) == "a=1\na=2\na=3\n");
  CHECK(slurp(sub.script_path).find("#SBATCH --array=0-2\n") != std::string::npos);
  const std::string args = slurp(dir + "/sbatch-args");
  CHECK(args.find("--parsable") != std::string::npos);
  CHECK(args.find("--qos=short") != std::string::npos);
  CHECK(args.find(sub.script_path) != std::string::npos);

  write_script(fake, "echo 'sbatch: error: invalid partition specified: nope' >&2\nexit 1\n");
  ::setenv("DIFFLUT_SBATCH", fake.c_str(), 1);
  CHECK_THROWS_WITH_AS(submit_slurm_sweep({{"a=1"}}, ctx, s, "job"),
                       doctest::Contains("invalid partition specified"), Error);
  ::unsetenv("DIFFLUT_SBATCH");
}

TEST_CASE("sweep: launcher settings come from the shipped launcher configs") {
  const std::string dir = test::shipped_config_dir();
  const Config local = compose_config({dir, "experiment"}, {"launcher.n_jobs=3"});
  LauncherSettings s = parse_launcher_settings(local);
  CHECK(s.name == "local");
  CHECK(s.n_jobs == 3);
  const Config slurm =
      compose_config({dir, "experiment"}, {"launcher=slurm", "launcher.array_parallelism=4",
                                           "launcher.partition=gpu", "launcher.wait=true"});
  s = parse_launcher_settings(slurm);
  CHECK(s.name == "slurm");
  CHECK(s.array_parallelism == 4);
  CHECK(s.partition == "gpu");
  CHECK(s.wait);
  CHECK_THROWS_WITH_AS(
      parse_launcher_settings(compose_config({dir, "experiment"}, {"launcher.n_jobs=0"})),
      doctest::Contains("launcher.n_jobs"), Error);
  // An int setting refuses what an int cannot hold (4294967297 ran as 1 job).
  CHECK_THROWS_WITH_AS(
      parse_launcher_settings(compose_config({dir, "experiment"}, {"launcher.n_jobs=4294967297"})),
      "config key 'launcher.n_jobs': expected an integer in [1, 2147483647], found 4294967297",
      Error);
  // Keys of the other launcher are unknown: a typo-safe error, not silently ignored.
  CHECK_THROWS_WITH_AS(compose_config({dir, "experiment"}, {"launcher=slurm", "launcher.n_jobs=2"}),
                       doctest::Contains("launcher.n_jobs"), Error);
}
