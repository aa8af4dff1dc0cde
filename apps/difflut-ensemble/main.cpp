// difflut-ensemble: merges LUT-network checkpoints of one architecture (trained with other seeds)
// into one checkpoint whose network adds the members' class counts (lut/network_ensemble.h), so
// the ensemble exports, verifies and compiles as one circuit. With --evaluate it prints every
// member's and the ensemble's accuracy on the test split first. Every error is one line
// "difflut-ensemble: error: ..." and exit code 2; nothing is written then.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
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
    "  --force              replace FILE (and its .json sidecar) if they exist\n"
    "  --evaluate           print each member's and the ensemble's test accuracy first\n"
    "  --dataset NAME       with --evaluate: dataset (default: the first member's)\n"
    "  --data-root DIR      where datasets live (default: $DIFFLUT_DATA_ROOT, ../shared/data)\n"
    "Members must come from difflut-train runs on the same data (dataloaders.name, subset_size\n"
    "and holdout in their stored configs); --evaluate scores the test split those configs name\n"
    "(with dataloaders.holdout=N, the last N training samples).\n"
    "Last line: wrote FILE (N members, hidden_sizes [...]).\n";

struct Options {
  std::vector<std::string> members;
  std::string out;
  bool force = false;
  bool evaluate = false;
  std::string dataset, data_root;
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
      DIFFLUT_CHECK(o.out.empty(), "expected one -o FILE, found '", o.out, "' and another");
      o.out = c.value();
    } else if (a == "--force") {
      o.force = true;
    } else if (a == "--evaluate") {
      o.evaluate = true;
    } else if (a == "--dataset") {
      o.dataset = c.value();
    } else if (a == "--data-root") {
      o.data_root = c.value();
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
  DIFFLUT_CHECK(o.evaluate || o.dataset.empty(),
                "--dataset chooses what --evaluate scores; pass --evaluate");
  namespace fs = std::filesystem;
  for (size_t i = 0; i < o.members.size(); ++i) {
    DIFFLUT_CHECK(fs::is_regular_file(o.members[i]), "member '", o.members[i],
                  "': expected a checkpoint file, found ",
                  fs::exists(o.members[i]) ? "something else" : "nothing");
    DIFFLUT_CHECK(!fs::exists(o.out) || !fs::equivalent(o.out, o.members[i]), "-o '", o.out,
                  "' is member '", o.members[i], "'; write the ensemble to a new file");
    for (size_t j = 0; j < i; ++j)
      DIFFLUT_CHECK(!fs::equivalent(o.members[i], o.members[j]), "member '", o.members[i],
                    "' is also member '", o.members[j],
                    "' (a member given twice would count twice in the vote)");
  }
  // The sidecar is written too: the same rules as for the model file.
  for (const fs::path& p : {fs::path(o.out), fs::path(o.out).replace_extension(".json")}) {
    DIFFLUT_CHECK(!fs::exists(p) || fs::is_regular_file(p), "-o: '", p.string(),
                  "' exists and is not a file");
    DIFFLUT_CHECK(o.force || !fs::exists(p), "-o: '", p.string(),
                  "' exists; pass --force to replace it");
  }
  return o;
}

// Members trained on other data (another data set, subset or held-out split) are refused before
// anything is loaded: their encoders can even agree (uniform thresholds), their vote would not mean
// anything.
CheckpointData check_same_data(const Options& o) {
  const std::string hint = "merge members saved by difflut-train (or call merge_lut_networks)";
  const CheckpointData first = checkpoint_data(o.members[0], hint);
  for (size_t m = 1; m < o.members.size(); ++m) {
    const CheckpointData d = checkpoint_data(o.members[m], hint);
    auto same = [&](bool ok, const char* key, const auto& want, const auto& found) {
      DIFFLUT_CHECK(ok, "member '", o.members[m], "' was trained with ", key, "=", found,
                    ", member '", o.members[0], "' with ", key, "=", want,
                    "; members must be trained on the same data");
    };
    same(d.dataset == first.dataset, "dataloaders.name", first.dataset, d.dataset);
    same(d.subset_size == first.subset_size, "dataloaders.subset_size", first.subset_size,
         d.subset_size);
    same(d.holdout == first.holdout, "dataloaders.holdout", first.holdout, d.holdout);
  }
  return first;
}

// Each member's test accuracy, then the ensemble's, on the split the members' configs name.
void evaluate(const Options& o, const CheckpointData& data,
              const std::vector<std::shared_ptr<LUTNetwork>>& members, LUTNetwork& merged) {
  const std::string data_root = o.data_root.empty() ? data.data_root : o.data_root;
  const std::string name = canonical_dataset_name(o.dataset.empty() ? data.dataset : o.dataset);
  const Dataset d =
      data.holdout == 0
          ? load_dataset(name, "test", data_root)
          : split_holdout(load_dataset(name, "train", data_root), data.holdout).second;
  DIFFLUT_CHECK(d.feature_dim() == merged.config().num_features, "dataset '", name,
                "': the members expect ", merged.config().num_features,
                " features per sample, found ", d.feature_dim());
  const Tensor x = d.features_f32();
  const std::string split =
      data.holdout == 0 ? "test set" : str_cat("held-out last ", data.holdout, " training");
  for (size_t m = 0; m < members.size(); ++m)
    std::printf("member %s: %s %s accuracy=%.4f\n", o.members[m].c_str(), name.c_str(),
                split.c_str(), accuracy(members[m]->predict(x), d.labels));
  std::printf("ensemble: %s %s accuracy=%.4f (%lld samples)\n", name.c_str(), split.c_str(),
              accuracy(merged.predict(x), d.labels), static_cast<long long>(d.size()));
  std::fflush(stdout);
}

// Writes the model and its sidecar under temporary names beside OUT, then renames both into
// place: an error on the way (a full disk, an unwritable sidecar) leaves OUT and OUT's .json as
// they were, and removes the temporaries.
void write_merged(LUTNetwork& merged, const std::string& out, const std::string& yaml) {
  namespace fs = std::filesystem;
  const fs::path target(out);
  fs::path tmp = target;
  // str_cat, not "." + string: GCC 12 warns about operator+(const char*, string&&) (-Wrestrict).
  tmp.replace_filename(
      str_cat(".", target.stem().string(), ".ensemble-tmp-", ::getpid(), ".safetensors"));
  fs::path tmp_json = tmp, json = target;
  tmp_json.replace_extension(".json");
  json.replace_extension(".json");
  try {
    LUTNetworkSaveOptions save;
    save.config_yaml = yaml;
    save_lut_network(merged, tmp.string(), save);
    fs::rename(tmp_json, json);
    fs::rename(tmp, target);
  } catch (const std::exception& e) {
    std::error_code ec;
    fs::remove(tmp, ec);
    fs::remove(tmp_json, ec);
    DIFFLUT_FAIL("writing '", out, "': ", e.what());
  }
}

int run(const Options& o) {
  const CheckpointData data = check_same_data(o);
  std::vector<std::shared_ptr<LUTNetwork>> members;
  for (const std::string& m : o.members) members.push_back(load_lut_network(m));
  std::shared_ptr<LUTNetwork> merged = merge_lut_networks(members, o.members);
  if (o.evaluate) evaluate(o, data, members, *merged);

  // The stored config: the first member's, headed by what was merged (the architecture itself is
  // the checkpoint's model metadata; the config's model section describes one member).
  std::string yaml = str_cat("# difflut-ensemble: ", members.size(),
                             " members whose class counts add up; the model section below is "
                             "the first member's\n");
  for (const std::string& m : o.members) yaml += "#   member: " + m + "\n";
  yaml += load_lut_network_config(o.members[0]);
  write_merged(*merged, o.out, yaml);
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
