// Writing a training run's directory (see run_dir.h).
#include "common/tracking/run_dir.h"

#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "autograd/io/mini_json.h"
#include "common/config/config_compose.h"
#include "common/config/settings.h"
#include "common/tracking/run_result.h"
#include "lut/lut_network.h"

namespace difflut::app {

namespace fs = std::filesystem;

namespace {
std::string num(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[40];
  for (int prec = 15; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}
std::string str(const std::string& s) {
  std::string out;
  json::write_string(out, s);
  return out;
}
// Accuracy-like values: null when absent (negative).
std::string opt_num(double v) { return v < 0 ? "null" : num(v); }
}  // namespace

std::string make_timestamped_dir(const std::string& output_dir, const std::string& experiment_name,
                                 const std::string& prefix, const std::string& suffix,
                                 const std::string& what) {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  const fs::path base = fs::path(output_dir) / experiment_name;
  std::error_code ec;
  fs::create_directories(base, ec);
  DIFFLUT_CHECK(!ec, what, ": cannot create '", base.string(), "': ", ec.message());
  const std::string stem = prefix + stamp + suffix;
  for (int n = 1;; ++n) {
    const fs::path p = base / (n == 1 ? stem : stem + "-" + std::to_string(n));
    if (fs::create_directory(p, ec)) return p.string();
    DIFFLUT_CHECK(!ec, what, ": cannot create '", p.string(), "': ", ec.message());
  }
}

std::string make_run_dir(const std::string& output_dir, const std::string& experiment_name,
                         uint64_t seed) {
  return make_timestamped_dir(output_dir, experiment_name, "", "-seed" + std::to_string(seed),
                              "run directory");
}

std::string summary_json(const RunDirContents& c) {
  const TrainResult& r = *c.result;
  const ExperimentSettings& s = *c.settings;
  std::string j = "{\n";
  j += "  \"test_accuracy\": " + num(r.test_accuracy) + ",\n";
  j += "  \"circuit_test_accuracy\": " + opt_num(r.circuit_test_accuracy) + ",\n";
  j += "  \"best_val_accuracy\": " + opt_num(r.best_val_accuracy) + ",\n";
  j += "  \"best_val_epoch\": " +
       (r.best_val_accuracy < 0 ? std::string("null") : std::to_string(r.best_val_epoch)) + ",\n";
  j += "  \"epochs\": " + std::to_string(r.epochs) + ",\n";
  j += "  \"train_seconds\": " + num(r.train_seconds) + ",\n";
  j += "  \"samples_per_second\": " + num(r.samples_per_second) + ",\n";
  j += "  \"device\": " + str(r.device) + ",\n";
  j += "  \"experiment_name\": " + str(s.experiment_name) + ",\n";
  j += "  \"seed\": " + std::to_string(s.seed) + ",\n";
  j += "  \"dataset\": " + str(s.data.dataset) + ",\n";
  if (!c.dataset_note.empty()) j += "  \"dataset_note\": " + str(c.dataset_note) + ",\n";
  j += "  \"num_train\": " + std::to_string(c.num_train) + ",\n";
  j += "  \"num_val\": " + std::to_string(c.num_val) + ",\n";
  j += "  \"num_test\": " + std::to_string(c.num_test) + ",\n";
  j += "  \"batch_size\": " + std::to_string(s.training.batch_size) + ",\n";
  j += "  \"num_parameters\": " + (c.model ? std::to_string(c.model->num_parameters()) : "null") +
       ",\n";
  j += "  \"history\": [";
  for (size_t i = 0; i < r.history.size(); ++i) {
    const EpochRecord& e = r.history[i];
    j += i ? ",\n    " : "\n    ";
    j += "{\"epoch\": " + std::to_string(e.epoch) + ", \"lr\": " + num(e.lr) +
         ", \"train_loss\": " + num(e.train_loss) +
         ", \"val_accuracy\": " + opt_num(e.val_accuracy) + ", \"seconds\": " + num(e.seconds) +
         ", \"samples_per_second\": " + num(e.samples_per_second) + "}";
  }
  j += r.history.empty() ? "]\n" : "\n  ]\n";
  j += "}\n";
  return j;
}

std::string write_run_dir(const std::string& output_dir, const std::string& experiment_name,
                          uint64_t seed, const RunDirContents& c) {
  return write_run_files(make_run_dir(output_dir, experiment_name, seed), c);
}

std::string write_run_files(const std::string& dir, const RunDirContents& c) {
  const fs::path d(dir);
  save_config_file(*c.config, (d / "config.yaml").string());
  if (c.model) {
    LUTNetworkSaveOptions so;
    so.config_yaml = c.config->to_yaml();
    save_lut_network(*c.model, (d / "model.safetensors").string(), so);
  }
  const fs::path sp = d / "summary.json";
  std::ofstream out(sp, std::ios::binary);
  DIFFLUT_CHECK(out.good(), "run directory: cannot write '", sp.string(), "'");
  out << summary_json(c);
  DIFFLUT_CHECK(out.good(), "run directory: writing '", sp.string(), "' failed");
  return dir;
}

}  // namespace difflut::app
