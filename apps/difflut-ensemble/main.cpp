// difflut-ensemble: merges LUT-network checkpoints of one architecture (trained with other seeds)
// into one checkpoint whose network adds the members' class counts (lut/network_ensemble.h), so
// the ensemble exports, verifies and compiles as one circuit. With --evaluate it prints every
// member's and the ensemble's accuracy on the test split first. Every error is one line
// "difflut-ensemble: error: ..." and exit code 2; nothing is written then.
#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "common/config/checkpoint_dataset.h"
#include "common/config/cli.h"
#include "data/loader.h"
#include "data/registry.h"
#include "lut/lut_network.h"
#include "lut/network_ensemble.h"
#include "tensor/error.h"

namespace {

using namespace difflut;
using namespace difflut::app;

constexpr const char* kProgram = "difflut-ensemble";

const char* kUsage =
    "usage: difflut-ensemble -o OUT.safetensors MEMBER.safetensors MEMBER.safetensors [...]\n"
    "Merges checkpoints of one architecture (other seeds, one encoder) into one network that\n"
    "predicts the class with the largest sum of the members' class counts. The merged layers hold\n"
    "the members' nodes side by side; export, verify and compile OUT like any checkpoint.\n"
    "  -o, --out FILE       the merged checkpoint (.safetensors; a .json sidecar beside it)\n"
    "  --force              replace FILE if it exists\n"
    "  --evaluate           print each member's and the ensemble's test accuracy first\n"
    "  --dataset NAME       with --evaluate: dataset (default: the first member's)\n"
    "  --data-root DIR      where datasets live (default: $DIFFLUT_DATA_ROOT, ../shared/data)\n"
    "  --holdout N          with --evaluate: the last N training samples are the test set\n"
    "                       (members trained with dataloaders.holdout=N)\n"
    "Last line: wrote FILE (N members, hidden_sizes [...]).\n";

struct Options {
  std::vector<std::string> members;
  std::string out;
  bool force = false;
  bool evaluate = false;
  std::string dataset, data_root;
  int64_t holdout = 0;
};

Options parse(int argc, char** argv) {
  Options o;
  FlagCursor c(argc, argv);
  while (c.next()) {
    const std::string& a = c.name();
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (a == "-o" || a == "--out") {
      o.out = c.value();
    } else if (a == "--force") {
      o.force = true;
    } else if (a == "--evaluate") {
      o.evaluate = true;
    } else if (a == "--dataset") {
      o.dataset = c.value();
    } else if (a == "--data-root") {
      o.data_root = c.value();
    } else if (a == "--holdout") {
      const std::string v = c.value();
      char* end = nullptr;
      const long long x = std::strtoll(v.c_str(), &end, 10);
      DIFFLUT_CHECK(
          !v.empty() && end && *end == '\0' && x >= 1 && x < std::numeric_limits<int32_t>::max(),
          "--holdout: expected a positive integer, found '", v, "'");
      o.holdout = x;
    } else if (!a.empty() && a[0] == '-') {
      DIFFLUT_FAIL("unknown option '", c.raw(), "' (see --help)");
    } else {
      o.members.push_back(a);
    }
  }
  DIFFLUT_CHECK(!o.out.empty(), "expected -o OUT.safetensors (see --help)");
  DIFFLUT_CHECK(o.members.size() >= 2, "expected at least two member checkpoints, found ",
                o.members.size());
  DIFFLUT_CHECK(std::filesystem::path(o.out).extension() == ".safetensors",
                "-o: expected a .safetensors file name, found '", o.out, "'");
  DIFFLUT_CHECK(o.evaluate || (o.dataset.empty() && o.holdout == 0),
                "--dataset and --holdout choose what --evaluate scores; pass --evaluate");
  namespace fs = std::filesystem;
  for (const std::string& m : o.members)
    DIFFLUT_CHECK(!fs::exists(o.out) || !fs::equivalent(o.out, m), "-o '", o.out, "' is member '",
                  m, "'; write the ensemble to a new file");
  DIFFLUT_CHECK(o.force || !fs::exists(o.out), "-o '", o.out,
                "' exists; pass --force to replace it");
  return o;
}

// Each member's test accuracy, then the ensemble's.
void evaluate(const Options& o, const std::vector<std::shared_ptr<LUTNetwork>>& members,
              LUTNetwork& merged) {
  std::string data_root = o.data_root;
  const std::string name = canonical_dataset_name(
      o.dataset.empty() ? checkpoint_dataset(o.members[0], &data_root, "pass --dataset NAME")
                        : o.dataset);
  const Dataset d = o.holdout == 0
                        ? load_dataset(name, "test", data_root)
                        : split_holdout(load_dataset(name, "train", data_root), o.holdout).second;
  DIFFLUT_CHECK(d.feature_dim() == merged.config().num_features, "dataset '", name,
                "': the members expect ", merged.config().num_features,
                " features per sample, found ", d.feature_dim());
  const Tensor x = d.features_f32();
  const std::string split = o.holdout == 0 ? "test set" : str_cat("last ", o.holdout, " training");
  for (size_t m = 0; m < members.size(); ++m)
    std::printf("member %s: %s %s accuracy=%.4f\n", o.members[m].c_str(), name.c_str(),
                split.c_str(), accuracy(members[m]->predict(x), d.labels));
  std::printf("ensemble: %s %s accuracy=%.4f (%lld samples)\n", name.c_str(), split.c_str(),
              accuracy(merged.predict(x), d.labels), static_cast<long long>(d.size()));
  std::fflush(stdout);
}

int run(const Options& o) {
  std::vector<std::shared_ptr<LUTNetwork>> members;
  for (const std::string& m : o.members) members.push_back(load_lut_network(m));
  std::shared_ptr<LUTNetwork> merged = merge_lut_networks(members, o.members);
  if (o.evaluate) evaluate(o, members, *merged);

  // The stored config: the first member's, headed by what was merged (the architecture itself is
  // the checkpoint's model metadata; the config's model section describes one member).
  std::string yaml = str_cat("# difflut-ensemble: ", members.size(),
                             " members whose class counts add up; the model section below is "
                             "the first member's\n");
  for (const std::string& m : o.members) yaml += "#   member: " + m + "\n";
  yaml += load_lut_network_config(o.members[0]);
  LUTNetworkSaveOptions save;
  save.config_yaml = yaml;
  save_lut_network(*merged, o.out, save);
  std::string sizes;
  for (int64_t n : merged->config().hidden_sizes)
    sizes += (sizes.empty() ? "" : ", ") + std::to_string(n);
  std::printf("wrote %s (%zu members, hidden_sizes [%s])\n", o.out.c_str(), members.size(),
              sizes.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_guarded(kProgram, [&] { return run(parse(argc, argv)); });
}
