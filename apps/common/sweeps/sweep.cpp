// Local and SLURM sweep launchers (see sweep.h).
#include "common/sweeps/sweep.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <ostream>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/tracking/run_dir.h"
#include "tensor/error.h"

extern char** environ;

namespace difflut::app {

namespace fs = std::filesystem;

namespace {

bool is_plain_word(const std::string& w) {
  if (w.empty()) return false;
  for (char ch : w) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || std::strchr("_-.,/=:+@%", ch) != nullptr;
    if (!ok) return false;
  }
  return true;
}

std::string join_quoted(const std::vector<std::string>& words) {
  std::string s;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i) s += ' ';
    s += shell_quote(words[i]);
  }
  return s;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    DIFFLUT_CHECK(out.good(), "sweep: cannot write '", tmp, "'");
    out << text;
    out.flush();
    DIFFLUT_CHECK(out.good(), "sweep: cannot write '", tmp, "'");
  }
  fs::rename(tmp, path);
}

// Starts `argv` with stdout+stderr appended to `log_path`, extra environment `env`; returns pid.
pid_t spawn(const std::vector<std::string>& argv, const std::string& log_path,
            const std::string& working_dir, const std::vector<std::string>& env) {
  const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  DIFFLUT_CHECK(fd >= 0, "sweep: cannot open log file '", log_path, "': ", std::strerror(errno));
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // The environment is built before fork: the child may only make async-signal-safe calls.
  std::vector<char*> envp;
  for (char** e = environ; *e; ++e) {
    const std::string_view entry(*e);
    const bool replaced = std::any_of(env.begin(), env.end(), [&](const std::string& x) {
      return entry.substr(0, entry.find('=') + 1) == std::string_view(x).substr(0, x.find('=') + 1);
    });
    if (!replaced) envp.push_back(*e);
  }
  for (const std::string& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    if (!working_dir.empty() && ::chdir(working_dir.c_str()) != 0) ::_exit(126);
    ::execve(args[0], args.data(), envp.data());
    const char msg[] = "sweep: exec failed\n";
    [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::close(fd);
  DIFFLUT_CHECK(pid > 0, "sweep: fork failed: ", std::strerror(errno));
  return pid;
}

// Output and exit status of a command run through sh.
int run_shell(const std::string& command, std::string& output) {
  output.clear();
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  DIFFLUT_CHECK(p != nullptr, "sweep: cannot run '", command, "'");
  char buf[1024];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) output.append(buf, n);
  const int status = ::pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status)
                           : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

std::string exe_path() {
  std::error_code ec;
  const fs::path p = fs::read_symlink("/proc/self/exe", ec);
  DIFFLUT_CHECK(!ec, "sweep: cannot find this program's path: ", ec.message());
  return p.string();
}

}  // namespace

std::string shell_quote(const std::string& word) {
  if (is_plain_word(word)) return word;
  std::string q = "'";
  for (char ch : word) {
    if (ch == '\'')
      q += "'\\''";
    else
      q += ch;
  }
  return q + "'";
}

std::string make_sweep_dir(const std::string& output_dir, const std::string& experiment_name) {
  return fs::absolute(make_timestamped_dir(output_dir, experiment_name, "multirun-", "", "sweep"))
      .string();
}

std::vector<LocalRunResult> run_local_sweep(const std::vector<std::vector<std::string>>& sets,
                                            const SweepContext& ctx, const LauncherSettings& s) {
  std::vector<LocalRunResult> results(sets.size());
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int jobs = std::min<int>(s.n_jobs, static_cast<int>(std::max<size_t>(1, sets.size())));
  const int threads = s.threads_per_job > 0 ? s.threads_per_job : std::max(1, cores / jobs);
  std::vector<std::string> env;
  // Concurrent runs each get a share of the cores, unless the user set the count explicitly.
  if (!std::getenv("DIFFLUT_NUM_THREADS") || s.threads_per_job > 0)
    env.push_back("DIFFLUT_NUM_THREADS=" + std::to_string(threads));
  std::map<pid_t, size_t> running;
  size_t next = 0, done = 0;
  auto log = [&](const std::string& line) {
    if (ctx.log) *ctx.log << "sweep: " << line << "\n" << std::flush;
  };
  while (done < sets.size()) {
    while (next < sets.size() && static_cast<int>(running.size()) < jobs) {
      LocalRunResult& r = results[next];
      r.overrides = sets[next];
      r.log_path = (fs::path(ctx.sweep_dir) / ("run-" + std::to_string(next) + ".log")).string();
      std::vector<std::string> argv = {ctx.program};
      argv.insert(argv.end(), ctx.base_args.begin(), ctx.base_args.end());
      argv.insert(argv.end(), sets[next].begin(), sets[next].end());
      const pid_t pid = spawn(argv, r.log_path, ctx.working_dir, env);
      running[pid] = next;
      log("run " + std::to_string(next + 1) + "/" + std::to_string(sets.size()) +
          " started: " + join_quoted(sets[next]));
      ++next;
    }
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      DIFFLUT_FAIL("sweep: waitpid failed: ", std::strerror(errno));
    }
    auto it = running.find(pid);
    if (it == running.end()) continue;  // not one of ours
    LocalRunResult& r = results[it->second];
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::string how =
        r.exit_code == 0 ? "finished" : "FAILED (exit " + std::to_string(r.exit_code) + ")";
    if (WIFSIGNALED(status)) how = "KILLED by signal " + std::to_string(WTERMSIG(status));
    log("run " + std::to_string(it->second + 1) + "/" + std::to_string(sets.size()) + " " + how +
        "; log: " + r.log_path);
    running.erase(it);
    ++done;
  }
  return results;
}

std::string overrides_file_text(const std::vector<std::vector<std::string>>& sets) {
  std::string s;
  for (const auto& set : sets) s += join_quoted(set) + "\n";
  return s;
}

std::string slurm_array_script(const SweepContext& ctx, const LauncherSettings& s,
                               const std::string& overrides_path, size_t num_tasks,
                               const std::string& job_name) {
  DIFFLUT_CHECK(num_tasks >= 1, "sweep: a SLURM array needs at least one run");
  std::string array = "0-" + std::to_string(num_tasks - 1);
  if (s.array_parallelism > 0) array += "%" + std::to_string(s.array_parallelism);
  const std::string logs = (fs::path(ctx.sweep_dir) / "slurm-%A_%a.out").string();
  std::string t = "#!/bin/bash\n";
  t += "# Written by difflut-train -m (launcher=slurm): array task i runs line i of\n";
  t += "# " + overrides_path + ". Resubmit with: sbatch " +
       shell_quote((fs::path(ctx.sweep_dir) / "array.sbatch").string()) + "\n";
  t += "#SBATCH --job-name=" + job_name + "\n";
  t += "#SBATCH --array=" + array + "\n";
  t += "#SBATCH --output=" + logs + "\n";
  t += "#SBATCH --cpus-per-task=" + std::to_string(s.cpus_per_task) + "\n";
  t += "#SBATCH --mem=" + std::to_string(s.mem_gb) + "G\n";
  t += "#SBATCH --time=" + std::to_string(s.timeout_min) + "\n";
  t += "#SBATCH --nodes=1\n#SBATCH --ntasks=1\n";
  if (!s.partition.empty()) t += "#SBATCH --partition=" + s.partition + "\n";
  if (!s.gres.empty()) t += "#SBATCH --gres=" + s.gres + "\n";
  if (!ctx.working_dir.empty()) t += "#SBATCH --chdir=" + ctx.working_dir + "\n";
  t += "set -euo pipefail\n";
  if (!s.setup.empty()) t += s.setup + "\n";
  t += "overrides_file=" + shell_quote(overrides_path) + "\n";
  t += "line=\"$(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" \"$overrides_file\")\"\n";
  t += "eval \"set -- $line\"\n";
  t += "export DIFFLUT_NUM_THREADS=\"${DIFFLUT_NUM_THREADS:-${SLURM_CPUS_PER_TASK:-" +
       std::to_string(s.cpus_per_task) + "}}\"\n";
  t += "echo \"task $SLURM_ARRAY_TASK_ID on $(hostname): $line\"\n";
  t += "exec " + shell_quote(ctx.program);
  if (!ctx.base_args.empty()) {
    t += ' ';
    t += join_quoted(ctx.base_args);
  }
  t += " \"$@\"\n";
  return t;
}

SlurmSubmission submit_slurm_sweep(const std::vector<std::vector<std::string>>& sets,
                                   const SweepContext& ctx, const LauncherSettings& s,
                                   const std::string& job_name) {
  SlurmSubmission sub;
  sub.overrides_path = (fs::path(ctx.sweep_dir) / "overrides.txt").string();
  sub.script_path = (fs::path(ctx.sweep_dir) / "array.sbatch").string();
  write_file(sub.overrides_path, overrides_file_text(sets));
  write_file(sub.script_path,
             slurm_array_script(ctx, s, sub.overrides_path, sets.size(), job_name));
  fs::permissions(sub.script_path, fs::perms::owner_exec, fs::perm_options::add);
  const char* sbatch_env = std::getenv("DIFFLUT_SBATCH");
  std::string cmd = sbatch_env && *sbatch_env ? sbatch_env : "sbatch";
  cmd += " --parsable";
  if (s.wait) cmd += " --wait";
  for (const std::string& p : s.additional_parameters) {
    cmd += ' ';
    cmd += shell_quote(p);
  }
  cmd += ' ';
  cmd += shell_quote(sub.script_path);
  if (ctx.log) *ctx.log << "sweep: " << cmd << "\n" << std::flush;
  std::string out;
  const int rc = run_shell(cmd, out);
  // --parsable prints "<jobid>[;<cluster>]" first; with --wait a failed task makes rc non-zero
  // after a successful submission.
  std::istringstream lines(out);
  std::string first;
  while (std::getline(lines, first)) {
    if (!first.empty() && std::isdigit(static_cast<unsigned char>(first[0]))) break;
    first.clear();
  }
  sub.job_id = first.substr(0, first.find(';'));
  DIFFLUT_CHECK(!sub.job_id.empty(), "sweep: sbatch failed (exit ", rc,
                "): ", out.empty() ? std::string("no output") : out);
  sub.wait_exit_code = s.wait ? rc : 0;
  return sub;
}

int run_sweep(const std::vector<std::vector<std::string>>& sets,
              const std::vector<ExperimentSettings>& runs, const LauncherSettings& settings,
              const std::vector<std::string>& base_args, std::ostream& log) {
  DIFFLUT_CHECK(!sets.empty() && sets.size() == runs.size(),
                "sweep: expected one parsed config per override set");
  const std::string& experiment = runs.front().experiment_name;
  const std::string& output_dir = runs.front().output_dir;
  SweepContext ctx;
  ctx.program = exe_path();
  ctx.base_args = base_args;
  ctx.sweep_dir = make_sweep_dir(output_dir, experiment);
  ctx.working_dir = fs::current_path().string();
  ctx.log = &log;
  log << "sweep: " << sets.size() << " runs, launcher " << settings.name << ", directory "
      << ctx.sweep_dir << "\n";
  write_file((fs::path(ctx.sweep_dir) / "overrides.txt").string(), overrides_file_text(sets));
  if (settings.name == "slurm") {
    const SlurmSubmission sub = submit_slurm_sweep(sets, ctx, settings, experiment);
    log << "sweep: submitted SLURM array job " << sub.job_id << " (" << sets.size()
        << " tasks); logs: " << ctx.sweep_dir << "/slurm-" << sub.job_id << "_<task>.out\n";
    std::printf("slurm_job_id=%s\nsweep_dir=%s\n", sub.job_id.c_str(), ctx.sweep_dir.c_str());
    if (settings.wait && sub.wait_exit_code != 0) {
      log << "sweep: at least one array task failed (sbatch --wait exit " << sub.wait_exit_code
          << ")\n";
      return 1;
    }
    return 0;
  }
  const std::vector<LocalRunResult> results = run_local_sweep(sets, ctx, settings);
  int failed = 0;
  for (const LocalRunResult& r : results) failed += r.exit_code != 0;
  // Each run's last line is its result (test_accuracy=...): show them together.
  for (size_t i = 0; i < results.size(); ++i) {
    std::string text = read_file(results[i].log_path);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    const std::string last = text.substr(text.find_last_of('\n') + 1);
    std::printf("run %zu: %s -> %s\n", i + 1, join_quoted(results[i].overrides).c_str(),
                results[i].exit_code == 0 ? last.c_str() : "failed");
  }
  std::printf("sweep_dir=%s\n", ctx.sweep_dir.c_str());
  std::fflush(stdout);
  log << "sweep: " << (results.size() - failed) << " of " << results.size() << " runs succeeded\n";
  return failed == 0 ? 0 : 1;
}

}  // namespace difflut::app
