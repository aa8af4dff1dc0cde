// difflut-train end to end, by running the built executable: a short Fashion-MNIST run writes a
// complete run directory whose model reloads to the reported accuracy; bad input (unknown node
// type, malformed or unknown overrides, truncated .gz, wrong IDX magic) ends with one error line
// and exit code 2.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "apps_test_util.h"
#include "autograd/io/mini_json.h"
#include "common/config/config_compose.h"
#include "common/training/trainer.h"
#include "data/registry.h"
#include "lut/lut_network.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace difflut;

namespace {

using test::lines_of;
using test::read_text;

std::string binary_path() {
  if (const char* b = std::getenv("DIFFLUT_BINARY_DIR"); b && *b)
    return (fs::path(b) / "difflut-train").string();
  // build/tests/test_apps -> build/difflut-train
  return (fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "difflut-train")
      .string();
}

using test::RunOutput;

// Runs difflut-train with `args` (shell words, already quoted where needed).
RunOutput run_train(const std::string& args, const std::string& tag) {
  return test::run_program(binary_path(),
                           str_cat("--config-dir '", test::shipped_config_dir(), "' ", args),
                           "train_io_" + tag);
}

void check_one_error(const RunOutput& r, const std::string& must_contain) {
  CHECK(r.rc == 2);
  const std::vector<std::string> err = lines_of(r.err);
  int error_lines = 0;
  for (const std::string& l : err) error_lines += l.find("error:") != std::string::npos;
  CHECK_MESSAGE(error_lines == 1, r.err);
  REQUIRE_FALSE(err.empty());
  CHECK_MESSAGE(err.back().rfind("difflut-train: error: ", 0) == 0, err.back());
  CHECK_MESSAGE(err.back().find(must_contain) != std::string::npos, err.back());
  CHECK(r.out.find("test_accuracy=") == std::string::npos);
}

double json_number(const json::Value& root, const char* key) {
  const json::Value* v = root.find(key);
  REQUIRE_MESSAGE(v != nullptr, key);
  REQUIRE_MESSAGE(v->is_number(), key);
  return std::strtod(v->text.c_str(), nullptr);
}

// A data root holding an MNIST folder whose train images are `images` (other files real IDX files,
// taken from the Debian Fashion-MNIST package that the test command always installs: same names
// and format, so these tests do not depend on ../shared/data).
std::string mnist_root_with(const std::string& tag, const std::string& images_name,
                            const std::string& images_bytes) {
  const fs::path root = test::temp_dir("mnist_" + tag);
  const fs::path src = fs::path(test::fashion_mnist_dir());
  fs::create_directories(root / "mnist");
  for (const char* f :
       {"train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"})
    fs::copy_file(src / f, root / "mnist" / f);
  std::ofstream(root / "mnist" / images_name, std::ios::binary) << images_bytes;
  return root.string();
}

}  // namespace

TEST_CASE("difflut-train: a short Fashion-MNIST run writes the run directory and reloads exactly") {
  const std::string out_dir = test::temp_dir("train_run");
  const RunOutput r = run_train(
      "device=cpu dataloaders.subset_size=2000 'model.params.hidden_sizes=[600,200]' "
      "model.params.layer_type=learnable training.epochs=3 training.val_fraction=0.1 "
      "training.batch_size=32 experiment_name=smoke output_dir='" +
          out_dir + "'",
      "ok");
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  const std::vector<std::string> out = lines_of(r.out);
  REQUIRE_FALSE(out.empty());
  const std::string& last = out.back();
  REQUIRE_MESSAGE(last.rfind("test_accuracy=0.", 0) == 0, last);
  CHECK(last.size() == std::string("test_accuracy=0.xxxx").size());
  const double printed = std::strtod(last.c_str() + 14, nullptr);
  MESSAGE("3 epochs on 1800 Fashion-MNIST samples: " << last);
  CHECK(printed > 0.6);
  // Plain progress (not a terminal) and one summary line per epoch.
  CHECK(r.err.find("\r") == std::string::npos);
  CHECK(r.err.find("epoch 3/3") != std::string::npos);
  CHECK(r.err.find("samples/s") != std::string::npos);

  // One run directory under output_dir/experiment_name with every file.
  std::vector<fs::path> runs;
  for (const auto& e : fs::directory_iterator(fs::path(out_dir) / "smoke"))
    runs.push_back(e.path());
  REQUIRE(runs.size() == 1);
  const fs::path run = runs[0];
  for (const char* f : {"config.yaml", "model.safetensors", "model.json", "summary.json"})
    CHECK_MESSAGE(fs::exists(run / f), f);

  const json::Value summary = json::parse(read_text(run / "summary.json"), "summary.json");
  const double test_acc = json_number(summary, "test_accuracy");
  CHECK(std::abs(test_acc - printed) < 5e-5);
  const double best_val = json_number(summary, "best_val_accuracy");
  CHECK(best_val > 0.3);
  CHECK(best_val <= 1.0);
  CHECK(json_number(summary, "epochs") == 3);
  CHECK(json_number(summary, "train_seconds") > 0);
  CHECK(json_number(summary, "samples_per_second") > 0);
  CHECK(json_number(summary, "num_train") == 1800);
  CHECK(json_number(summary, "num_val") == 200);
  REQUIRE(summary.find("history") != nullptr);
  CHECK(summary.find("history")->items.size() == 3);
  CHECK(summary.find("device")->text == "cpu");

  // The saved config is the resolved one, overrides included.
  const app::Config saved = app::load_config_file((run / "config.yaml").string());
  CHECK(saved.get_int("training.epochs") == 3);
  CHECK(saved.get_int_list("model.params.hidden_sizes") == std::vector<int64_t>{600, 200});

  // model.json carries the architecture, thresholds and mappings.
  const json::Value meta = json::parse(read_text(run / "model.json"), "model.json");
  REQUIRE(meta.find("model") != nullptr);
  CHECK(meta.find("model")->find("layers")->items.size() == 2);
  CHECK(meta.find("encoder_thresholds")->items.size() == 784);
  CHECK(meta.find("mappings")->find("layer0")->items.size() == 600 * 6);
  CHECK(meta.find("config_yaml")->text.find("hidden_sizes") != std::string::npos);

  // The reloaded model reproduces the reported test accuracy, and twice the same predictions.
  auto net = load_lut_network((run / "model.safetensors").string());
  const Dataset test = load_dataset("fashionmnist", "test");
  const Tensor x = test.features_f32();
  const Tensor p1 = net->predict(x, 1000);
  CHECK(accuracy(p1, test.labels) == doctest::Approx(test_acc).epsilon(1e-12));
  auto again = load_lut_network((run / "model.safetensors").string());
  test::check_equal(again->predict(x, 333), p1);
}

TEST_CASE("difflut-train: --help prints usage and exits 0; --print-config shows overrides") {
  const RunOutput h = run_train("--help", "help");
  CHECK(h.rc == 0);
  CHECK(h.out.find("usage: difflut-train") != std::string::npos);
  const RunOutput p = run_train("--print-config training.epochs=7", "print");
  CHECK(p.rc == 0);
  CHECK(p.out.find("epochs: 7") != std::string::npos);
}

TEST_CASE("difflut-train: an unknown node type is one error line naming it") {
  check_one_error(run_train("model.params.node_type=dwm", "nodetype"), "'dwm'");
}

TEST_CASE("difflut-train: malformed and unknown overrides are one error line naming the key") {
  check_one_error(run_train("training.epochs=abc", "malformed"), "training.epochs");
  check_one_error(run_train("training.epoch=3", "unknown"), "training.epoch");
  check_one_error(run_train("model.params.num_inputs=9", "k"), "model.params.num_inputs");
  check_one_error(run_train("model.params.layer_type=diagonal", "layer"),
                  "model.params.layer_type");
  check_one_error(run_train("justaword", "word"), "justaword");
}

TEST_CASE(
    "difflut-train: sparse_candidates below 1 or above a sparse layer's inputs is one error line") {
  check_one_error(
      run_train("model.params.layer_type=sparse model.params.sparse_candidates=0", "sparse0"),
      "model.params.sparse_candidates");
  // Layer 1 reads 2000 inputs: C = 2001 fits layer 0 (2352) but not a sparse layer 1.
  check_one_error(
      run_train("device=cpu dataloaders.subset_size=100 model.params.layer_type=sparse "
                "model.params.later_layer_type=sparse model.params.sparse_candidates=2001",
                "sparsebig"),
      "model.params.sparse_candidates': expected at most 2000 (the inputs of layer 1, whose "
      "mapping is sparse), found 2001");
}

TEST_CASE(
    "difflut-train: num_groups above a grouped layer's inputs, or leaving a group without "
    "nodes, is one error line") {
  // 60 nodes in 25 groups go in blocks of 3: 20 groups get nodes, the other 5 (and their inputs)
  // none. This used to train, with those inputs never connected.
  check_one_error(run_train("device=cpu dataloaders.subset_size=100 "
                            "'model.params.hidden_sizes=[60,30]' model.params.layer_type=grouped "
                            "model.params.num_groups=25",
                            "groups25"),
                  "model.params.num_groups': expected a group count that gives every group of "
                  "layer 0 a node (its 60 nodes fill 20 groups of 3), found 25");
  check_one_error(run_train("device=cpu dataloaders.subset_size=100 "
                            "'model.params.hidden_sizes=[60,30]' model.params.layer_type=grouped "
                            "model.params.num_groups=61",
                            "groups61"),
                  "(its 60 nodes fill 60 groups of 1), found 61");
  // Layer 1 reads the 20 outputs of layer 0: 30 groups is more than its inputs, named by key.
  check_one_error(run_train("device=cpu dataloaders.subset_size=100 "
                            "'model.params.hidden_sizes=[20,60]' "
                            "model.params.later_layer_type=grouped model.params.num_groups=30",
                            "groups30later"),
                  "model.params.num_groups': expected at most 20 (the inputs of layer 1, whose "
                  "mapping is grouped), found 30");
  // Layer 0 reads the 2352 encoded bits: only the data tells, so the model build refuses it.
  check_one_error(run_train("device=cpu dataloaders.subset_size=100 "
                            "'model.params.hidden_sizes=[2400,30]' model.params.layer_type=grouped "
                            "model.params.num_groups=2400",
                            "groups2400"),
                  "model.params.num_groups: expected at most 2352 (the inputs of layer 0, whose "
                  "mapping is grouped), found 2400");
}

TEST_CASE(
    "difflut-train: layer_type=sparse trains, and its checkpoint reloads to the reported accuracy") {
  const std::string out_dir = test::temp_dir("train_sparse");
  const RunOutput r = run_train(
      "device=cpu dataloaders.subset_size=2000 'model.params.hidden_sizes=[600,200]' "
      "model.params.layer_type=sparse model.params.later_layer_type=sparse "
      "model.params.sparse_candidates=6 training.epochs=2 training.batch_size=32 "
      "experiment_name=sparse output_dir='" +
          out_dir + "'",
      "sparse");
  REQUIRE_MESSAGE(r.rc == 0, r.err);
  const std::vector<std::string> out = lines_of(r.out);
  REQUIRE_FALSE(out.empty());
  REQUIRE_MESSAGE(out.back().rfind("test_accuracy=0.", 0) == 0, out.back());
  const double printed = std::strtod(out.back().c_str() + 14, nullptr);
  MESSAGE("sparse mapping, 2 epochs on 2000 Fashion-MNIST samples: " << out.back());
  CHECK(printed > 0.5);
  std::vector<fs::path> runs;
  for (const auto& e : fs::directory_iterator(fs::path(out_dir) / "sparse"))
    runs.push_back(e.path());
  REQUIRE(runs.size() == 1);
  auto net = load_lut_network((runs[0] / "model.safetensors").string());
  CHECK(net->layer(0).mapping_kind() == MappingKind::sparse);
  CHECK(net->layer(1).mapping_kind() == MappingKind::sparse);
  CHECK(net->layer(0).mapping_weights()->value.shape() == Shape{600 * 6, 6});
  const Dataset test = load_dataset("fashionmnist", "test");
  CHECK(std::abs(accuracy(net->predict(test.features_f32(), 1000), test.labels) - printed) < 6e-5);
}

TEST_CASE("difflut-train: a truncated .gz dataset file is one error line naming the file") {
  const fs::path src = fs::path(test::fashion_mnist_dir()) / "train-images-idx3-ubyte.gz";
  const std::string full = read_text(src);
  REQUIRE(full.size() > 100000);
  const std::string root =
      mnist_root_with("trunc", "train-images-idx3-ubyte.gz", full.substr(0, 50000));
  check_one_error(
      run_train(
          "dataloaders=mnist device=cpu model.params.layer_type=random data_root='" + root + "'",
          "trunc"),
      "train-images-idx3-ubyte.gz");
}

TEST_CASE("difflut-train: a wrong IDX magic number is one error line naming the file") {
  std::string bad(16 + 28 * 28, '\0');
  bad[2] = 0x08;
  bad[3] = 0x07;  // should be 0x00000803 for images
  bad[7] = 1;
  bad[11] = 28;
  bad[15] = 28;
  const std::string root = mnist_root_with("magic", "train-images-idx3-ubyte", bad);
  check_one_error(
      run_train(
          "dataloaders=mnist device=cpu model.params.layer_type=random data_root='" + root + "'",
          "magic"),
      "train-images-idx3-ubyte");
}
