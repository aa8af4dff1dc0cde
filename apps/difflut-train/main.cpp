// difflut-train: the original DiffLUT pipeline's entry point in C++. Composes the YAML config
// (Hydra-style groups and key=value overrides, docs/CONFIG.md), trains a LUT network, writes the
// run directory and prints `test_accuracy=0.xxxx` as its last line. Every error is one line
// "difflut-train: error: <message>" on stderr and exit code 2.
#include <cstdio>
#include <exception>
#include <filesystem>
#include <iostream>

#include "common/config/cli.h"
#include "common/config/config_compose.h"
#include "common/config/settings.h"
#include "common/sweeps/sweep.h"
#include "common/tracking/checkpoint.h"
#include "common/training/progress.h"
#include "common/training/trainer.h"

namespace {

constexpr const char* kProgram = "difflut-train";

const char* tty_break() { return difflut::app::stderr_is_tty() ? "\n" : ""; }

int run(int argc, char** argv) {
  using namespace difflut::app;
  const CliArgs args = parse_cli(argc, argv);
  if (args.help) {
    std::cout << help_text(kProgram);
    return 0;
  }
  const std::string config_dir = resolve_config_dir(args.config_dir, args.config_name);
  std::vector<std::vector<std::string>> runs;
  if (args.multirun) {
    runs = expand_multirun(args.overrides);
  } else {
    runs.push_back(args.overrides);
  }
  // Compose every configuration first, so a typo in any of them fails before hours of training.
  std::vector<Config> configs;
  for (const auto& ov : runs)
    configs.push_back(resolve_experiment_name(
        resume_config(compose_config({config_dir, args.config_name}, ov), ov)));
  if (args.print_config) {
    for (size_t i = 0; i < configs.size(); ++i) {
      if (configs.size() > 1) std::cout << "# run " << (i + 1) << " of " << configs.size() << "\n";
      std::cout << configs[i].to_yaml();
    }
    return 0;
  }
  // Every run's settings are parsed and checked here, once, before anything starts.
  std::vector<ExperimentSettings> settings;
  for (const Config& c : configs) settings.push_back(parse_experiment_settings(c));
  // A sweep runs each set as its own difflut-train process (locally or as a SLURM array job).
  if (args.multirun)
    return run_sweep(runs, settings, parse_launcher_settings(configs.front()),
                     {"--config-dir", std::filesystem::absolute(config_dir).string(),
                      "--config-name", args.config_name},
                     std::cerr);

  TrainerIo io;
  io.log = &std::cerr;
  io.live_progress = stderr_is_tty();
  for (size_t i = 0; i < configs.size(); ++i) {
    if (configs.size() > 1)
      std::cerr << kProgram << ": run " << (i + 1) << " of " << configs.size() << "\n";
    const TrainResult r = run_training(settings[i], configs[i], io);
    std::printf("run_dir=%s\n", r.run_dir.c_str());
    if (r.best_val_accuracy >= 0) std::printf("best_val_accuracy=%.4f\n", r.best_val_accuracy);
    std::printf("train_seconds=%.1f samples_per_second=%.0f\n", r.train_seconds,
                r.samples_per_second);
    if (r.circuit_test_accuracy >= 0)
      std::printf("circuit_test_accuracy=%.4f\n", r.circuit_test_accuracy);
    std::printf("test_accuracy=%.4f\n", r.test_accuracy);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // A live progress line may be on screen: start an error message on a fresh line.
  return difflut::app::run_guarded(
      kProgram, [&] { return run(argc, argv); }, tty_break());
}
