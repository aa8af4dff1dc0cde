// difflut-ensemble end to end: two members trained by difflut-train with other seeds merge into one
// checkpoint whose accuracy --evaluate reports next to theirs and which difflut-export lowers with
// 0 mismatches; refusals (one member, a member given twice, members of other architectures or
// trained on other data, an existing output or sidecar) are one line, exit code 2, and leave every
// file as it was.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "apps_test_util.h"
#include "lut/lut_network.h"
#include "tensor/error.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace difflut;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Trains a small sparse model for one epoch (all training images: a subset would be drawn by the
// seed, and so would the encoder fitted on it); returns its model file.
std::string train_member(const std::string& dir, const std::string& name,
                         const std::string& extra) {
  const test::RunOutput r = test::run_program(
      test::built_program("difflut-train"),
      str_cat("--config-dir '", test::shipped_config_dir(),
              "' device=cpu 'model.params.hidden_sizes=[60,30]' "
              "model.params.layer_type=sparse model.params.later_layer_type=sparse "
              "training.epochs=1 tracking.enabled=false training.checkpoint_every=0 "
              "experiment_name=",
              name, " output_dir='", dir, "' ", extra),
      "ensemble_train_" + name);
  INFO(r.err);
  REQUIRE(r.rc == 0);
  std::string path;
  for (const auto& e : fs::directory_iterator(fs::path(dir) / name))
    path = (e.path() / "model.safetensors").string();
  REQUIRE(fs::exists(path));
  return path;
}

}  // namespace

TEST_CASE("difflut-ensemble merges two seeds into one checkpoint that exports with 0 mismatches") {
  const std::string dir = test::temp_dir("ensemble_app");
  const std::string a = train_member(dir, "a", "seed=1");
  const std::string b = train_member(dir, "b", "seed=2");
  const std::string c = train_member(dir, "c", "seed=3 model.params.num_inputs=4");
  const std::string m = train_member(dir, "m", "seed=1 dataloaders=mnist");
  const std::string out = dir + "/merged.safetensors";
  const std::string prog = test::built_program("difflut-ensemble");

  const test::RunOutput r = test::run_program(
      prog, str_cat("-o '", out, "' --evaluate '", a, "' '", b, "'"), "ensemble_merge");
  INFO(r.out);
  INFO(r.err);
  REQUIRE(r.rc == 0);
  CHECK(r.out.find("member " + a + ": fashionmnist test set accuracy=0.") != std::string::npos);
  CHECK(r.out.find("member " + b + ": fashionmnist test set accuracy=0.") != std::string::npos);
  CHECK(r.out.find("ensemble: fashionmnist test set accuracy=0.") != std::string::npos);
  CHECK(r.out.find("(2 members, hidden_sizes [120, 60])") != std::string::npos);
  auto merged = load_lut_network(out);
  CHECK(merged->config().hidden_sizes == std::vector<int64_t>{120, 60});
  // The stored config says what was merged and still names the data set (export finds it).
  const std::string yaml = load_lut_network_config(out);
  CHECK(yaml.find("#   member: " + a) != std::string::npos);
  CHECK(yaml.find("fashionmnist") != std::string::npos);

  const test::RunOutput x =
      test::run_program(test::built_program("difflut-export"),
                        str_cat("'", out, "' --limit 300 --out '", dir, "/v'"), "ensemble_export");
  INFO(x.out);
  INFO(x.err);
  REQUIRE(x.rc == 0);
  CHECK(x.out.find("mismatches=0") != std::string::npos);

  // Refusals: exit 2, one line naming the problem, the existing output untouched.
  const std::string json = dir + "/merged.json";
  const std::string before = read_file(out), before_json = read_file(json);
  auto refused = [&](const std::string& args, const std::string& part) {
    const test::RunOutput e = test::run_program(prog, args, "ensemble_refused");
    INFO(args);
    INFO(e.err);
    CHECK(e.rc == 2);
    CHECK(e.err.find("difflut-ensemble: error: ") == 0);
    CHECK(e.err.find(part) != std::string::npos);
    CHECK(e.err.find('\n') == e.err.size() - 1);
    CHECK(read_file(out) == before);
    CHECK(read_file(json) == before_json);
  };
  refused(str_cat("-o '", out, "' '", a, "' '", b, "'"), "exists; pass --force to replace it");
  refused(str_cat("-o '", out, "' --force '", a, "'"), "expected at least two member checkpoints");
  refused(str_cat("-o '", out, "' --force '", a, "' '", c, "'"),
          "differs from '" + a + "' in k (LUT inputs): expected 6, found 4");
  refused(str_cat("-o '", a, "' --force '", a, "' '", b, "'"), "write the ensemble to a new file");
  refused(str_cat("-o '", dir, "/x.bin' '", a, "' '", b, "'"), "expected a .safetensors file name");
  refused(str_cat("-o '", out, "' --force '", a, "' '", dir, "/missing.safetensors'"),
          "missing.safetensors': expected a checkpoint file, found nothing");
  refused(str_cat("-o '", out, "' --force '", a, "' '", dir, "'"),
          "': expected a checkpoint file, found something else");
  refused(str_cat("-o '", out, "' --force '", a, "' '", b, "' '", a, "'"),
          "' is also member '" + a + "' (a member given twice would count twice in the vote)");
  refused(str_cat("-o '", out, "' --force '", a, "' '", m, "'"),
          "was trained with dataloaders.name=mnist, member '" + a +
              "' with dataloaders.name=fashionmnist; members must be trained on the same data");
  refused(str_cat("-o '", out, "' -o '", dir, "/y.safetensors' '", a, "' '", b, "'"),
          "expected one -o FILE");
  // The sidecar follows the model file's rules: an existing one needs --force, and one that
  // cannot be written stops the merge before the model file is replaced.
  const std::string lone = dir + "/lone.safetensors", lone_json = dir + "/lone.json";
  { std::ofstream(lone_json) << "{\"notes\": 1}\n"; }
  const test::RunOutput side =
      test::run_program(prog, str_cat("-o '", lone, "' '", a, "' '", b, "'"), "ensemble_sidecar");
  CHECK(side.rc == 2);
  CHECK(side.err.find("lone.json' exists; pass --force to replace it") != std::string::npos);
  CHECK(read_file(lone_json) == "{\"notes\": 1}\n");
  CHECK(!fs::exists(lone));
  fs::remove(lone_json);
  fs::create_directory(lone_json);
  const test::RunOutput blocked = test::run_program(
      prog, str_cat("-o '", lone, "' --force '", a, "' '", b, "'"), "ensemble_sidecar_dir");
  CHECK(blocked.rc == 2);
  CHECK(blocked.err.find("lone.json' exists and is not a file") != std::string::npos);
  CHECK(!fs::exists(lone));
  // Nothing temporary is left beside the output.
  for (const auto& e : fs::directory_iterator(dir))
    CHECK(e.path().filename().string().find("ensemble-tmp") == std::string::npos);
}
