// The apps refuse models that cannot fit and checkpoints that do not hold together (issue 12):
// difflut-train with hidden_sizes=[100000000] stops at once with the memory estimate and the
// field to reduce; difflut-export and difflut-infer refuse checkpoints with NaN tables or an edited
// class count with one error line and exit code 2, writing nothing.
#include <algorithm>
#include <filesystem>
#include <functional>
#include <limits>

#include "apps_test_util.h"
#include "autograd/io/safetensors.h"
#include "lut/lut_network.h"
#include "test_networks.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace difflut;

namespace {

// A small Fashion-MNIST-shaped model (784 features, 10 classes) saved with a config naming the
// dataset, as difflut-train writes it; `edit` changes the file before it is written.
std::string saved_model(const std::string& dir, const std::string& name,
                        const std::function<void(Metadata&, NamedTensors&)>& edit) {
  Generator g(3);
  const Tensor x = Tensor::rand({64, 784}, g);
  ThermometerEncoder enc("distributive", 2);
  enc.fit(x);
  LUTNetworkConfig c = test::small_config(784, 10, {40, 20}, 4);
  c.first_mapping = MappingKind::random;
  LUTNetwork net(c, enc, g);
  LUTNetworkSaveOptions o;
  o.config_yaml = "dataloaders:\n  name: fashionmnist\n";
  o.write_json = false;
  const std::string plain = dir + "/" + name + ".orig.safetensors";
  save_lut_network(net, plain, o);
  SafetensorsContents sc = load_safetensors(plain);
  edit(sc.metadata, sc.tensors);
  const std::string path = dir + "/" + name + ".safetensors";
  save_safetensors(path, sc.tensors, sc.metadata);
  fs::remove(plain);
  return path;
}

// Names and sizes of everything under `dir` (to show a refusal wrote nothing).
std::vector<std::pair<std::string, uintmax_t>> listing(const std::string& dir) {
  std::vector<std::pair<std::string, uintmax_t>> l;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    l.emplace_back(e.path().string(), e.is_regular_file() ? e.file_size() : 0);
  std::sort(l.begin(), l.end());
  return l;
}

}  // namespace

TEST_CASE("difflut-train refuses hidden_sizes=[100000000] at once with the estimate") {
  const std::string out = test::temp_dir("limits_train_out");
  const test::RunOutput r = test::run_program(
      test::built_program("difflut-train"),
      str_cat("--config-dir '", test::shipped_config_dir(),
              "' device=cpu dataloaders.subset_size=200 'model.params.hidden_sizes=[100000000]' "
              "training.epochs=1 tracking.enabled=false experiment_name=huge output_dir='",
              out, "'"),
      "limits_train");
  INFO(r.err);
  CHECK(r.rc == 2);
  const std::vector<std::string> lines = test::lines_of(r.err);
  REQUIRE(!lines.empty());
  // The last stderr line is the error; earlier lines are the trainer's progress.
  const std::string& err = lines.back();
  CHECK(err.rfind("difflut-train: error: ", 0) == 0);
  CHECK(err.find("the model needs about ") != std::string::npos);
  CHECK(err.find("of host memory is available") != std::string::npos);
  CHECK(err.find("hidden_sizes[0] = 100000000 nodes") != std::string::npos);
  CHECK(fs::is_empty(out));  // no run directory: the model is built before anything is written
}

TEST_CASE("difflut-export and difflut-infer refuse NaN tables and edited class counts, one line") {
  const std::string dir = test::temp_dir("limits_ckpt");
  struct Case {
    const char* name;
    std::function<void(Metadata&, NamedTensors&)> edit;
    const char* message;
  };
  const Case cases[] = {
      {"nan_table",
       [](Metadata&, NamedTensors& ts) {
         for (auto& [n, t] : ts)
           if (n == "layer1.params") t.data<float>()[9] = std::numeric_limits<float>::quiet_NaN();
       },
       "tensor 'layer1.params': expected finite values, found NaN at [0, 9]"},
      {"inf_threshold",
       [](Metadata&, NamedTensors& ts) {
         for (auto& [n, t] : ts)
           if (n == "encoder.thresholds")
             t.data<float>()[3] = std::numeric_limits<float>::infinity();
       },
       "tensor 'encoder.thresholds': expected finite values, found +Inf at [1, 1]"},
      {"three_classes",
       [](Metadata& m, NamedTensors&) {
         std::string& model = m["difflut.model"];
         model.replace(model.find("\"num_classes\": 10,"), 18, "\"num_classes\": 3,");
       },
       "model metadata \"num_classes\" = 3 but \"groupsum\".\"num_classes\" = 10"},
  };
  for (const Case& k : cases) {
    INFO(k.name);
    const std::string path = saved_model(dir, k.name, k.edit);
    const auto before = listing(dir);
    for (const char* app : {"difflut-export", "difflut-infer"}) {
      INFO(app);
      const test::RunOutput r = test::run_program(
          test::built_program(app), str_cat("'", path, "' --out '", dir, "/out_", app, "'"),
          str_cat("limits_", app));
      INFO(r.err);
      CHECK(r.rc == 2);
      CHECK(r.out.empty());
      const std::vector<std::string> lines = test::lines_of(r.err);
      REQUIRE(lines.size() == 1);
      CHECK(lines[0].rfind(str_cat(app, ": error: ", path, ": ", k.message), 0) == 0);
      CHECK(listing(dir) == before);
    }
  }
}
