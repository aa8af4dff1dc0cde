// difflut-train with training.sparse_refresh: the candidates move between epochs, a run killed
// mid-epoch resumes to the uninterrupted run's model (the refresh draws depend on the seed and the
// epoch only, and the checkpoint holds the refreshed candidates), and a refresh the model cannot
// take fails before anything is written, naming the key; training checkpoints carry the
// candidates and refuse missing or damaged ones. The gradient rule (lut/sparse_probe.h) likewise.
#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "apps_test_util.h"
#include "autograd/io/safetensors.h"
#include "autograd/ops.h"
#include "autograd/optim/adam.h"
#include "common/tracking/checkpoint.h"
#include "common/training/train_refresh.h"
#include "encoders/thermometer.h"
#include "lut/lut_network.h"
#include "lut/sparse_refresh.h"
#include "test_networks.h"
#include "test_util.h"

using namespace difflut;
using namespace difflut::app;

namespace {

std::string train_cmd(const std::string& dir, const std::string& extra,
                      const std::string& env = "") {
  return "cd '" + dir + "' && DIFFLUT_NUM_THREADS=2 " + env + " " +
         test::built_program("difflut-train") + " --config-dir '" + test::shipped_config_dir() +
         "' dataloaders.subset_size=1500 training.epochs=3 'model.params.hidden_sizes=[300,100]'"
         " model.params.layer_type=sparse model.params.later_layer_type=sparse"
         " model.params.sparse_candidates=6 device=cpu tracking.enabled=false"
         " experiment_name=refresh " +
         extra;
}

// The value of "run_dir=" in a difflut-train output.
std::string run_dir_of(const std::string& output) {
  for (const std::string& l : test::lines_of(output))
    if (l.rfind("run_dir=", 0) == 0) return l.substr(8);
  return "";
}

Tensor saved(const std::string& run_dir, const std::string& name) {
  const SafetensorsContents c = load_safetensors(run_dir + "/model.safetensors");
  for (const auto& [n, t] : c.tensors)
    if (n == name) return t;
  FAIL("no tensor ", name, " in ", run_dir, "/model.safetensors");
  return Tensor();
}

// Trains with `refresh` (overrides), checks the candidates moved against an unrefreshed run of the
// same seed, then kills a run of the same settings in epoch 2 and checks its resume ends at the
// uninterrupted run's model. Returns the uninterrupted run's directory.
std::string check_refresh_run(const std::string& dir, const std::string& refresh) {
  const test::CommandResult plain = test::run_command(train_cmd(dir, "output_dir=plain"));
  INFO(plain.output);
  REQUIRE(plain.exit_code == 0);
  const test::CommandResult ref = test::run_command(train_cmd(dir, "output_dir=ref " + refresh));
  INFO(ref.output);
  REQUIRE(ref.exit_code == 0);
  const std::string plain_dir = run_dir_of(plain.output), ref_dir = run_dir_of(ref.output);
  REQUIRE(!ref_dir.empty());
  // The log says what each refresh replaced (none after the last epoch).
  CHECK(ref.output.find(" rule) after epoch 2: ") != std::string::npos);
  CHECK(ref.output.find(" rule) after epoch 3: ") == std::string::npos);
  CHECK(ref.output.find(" rule) after epoch 1: 0 candidates") == std::string::npos);
  // Two refreshes (after epochs 1 and 2) in each of 1,800 + 600 slots: the candidate tables
  // differ from the unrefreshed run's, which drew the same initial ones.
  for (const std::string layer : {"layer0", "layer1"}) {
    const Tensor a = saved(plain_dir, layer + ".mapping_candidates");
    const Tensor b = saved(ref_dir, layer + ".mapping_candidates");
    REQUIRE(a.shape() == b.shape());
    CHECK(a.to_vector<int32_t>() != b.to_vector<int32_t>());
  }

  const test::CommandResult victim = test::run_command(
      train_cmd(dir, "output_dir=out " + refresh, "DIFFLUT_TEST_SIGNAL_AT=2:3:KILL"));
  INFO(victim.output);
  REQUIRE(victim.exit_code == 128 + SIGKILL);
  const std::string run_dir = dir + "/out/refresh";
  REQUIRE(std::filesystem::is_directory(run_dir));
  std::string victim_dir;
  for (const auto& e : std::filesystem::directory_iterator(run_dir)) victim_dir = e.path().string();
  const test::CommandResult resumed =
      test::run_command("cd '" + dir + "' && DIFFLUT_NUM_THREADS=2 " +
                        test::built_program("difflut-train") + " training.resume=" + victim_dir);
  INFO(resumed.output);
  REQUIRE(resumed.exit_code == 0);
  CHECK(resumed.last_line() == ref.last_line());
  for (const std::string name : {"layer0.mapping_candidates", "layer1.mapping_candidates",
                                 "layer0.mapping_weights", "layer1.mapping_weights"})
    test::check_equal(saved(victim_dir, name), saved(ref_dir, name));
  return ref_dir;
}

}  // namespace

TEST_CASE("sparse refresh: candidates move, and a killed run resumes to the same model") {
  check_refresh_run(test::temp_dir("sparse-refresh"), "training.sparse_refresh=3");
}

TEST_CASE("sparse refresh, gradient rule: probed candidates move; a killed run resumes exactly") {
  const std::string dir = test::temp_dir("sparse-refresh-gradient");
  // min_t 0: every probe whose gradient points upwards qualifies, so the small run replaces some.
  const std::string ref_dir =
      check_refresh_run(dir,
                        "training.sparse_refresh=3 training.sparse_refresh_rule=gradient "
                        "training.sparse_probe.inputs=20 training.sparse_probe.steps=10 "
                        "training.sparse_probe.min_t=0");
  // Other candidates than the random rule's (the rule, not only the draw, differs).
  const test::CommandResult random_rule =
      test::run_command(train_cmd(dir, "output_dir=random training.sparse_refresh=3"));
  REQUIRE(random_rule.exit_code == 0);
  CHECK(saved(run_dir_of(random_rule.output), "layer0.mapping_candidates").to_vector<int32_t>() !=
        saved(ref_dir, "layer0.mapping_candidates").to_vector<int32_t>());
}

TEST_CASE(
    "SparseRefresher: the gradient rule probes an epoch's last steps, and not the last epoch") {
  Tensor x, y;
  test::toy_data(40, 12, 3, 5, x, y);
  ThermometerEncoder enc("distributive", 3);
  enc.fit(x);
  Generator gen(3);
  LUTNetwork model(test::small_sparse_config(12, 3, {30, 9}, 3, 4), enc, gen);
  model.train();
  TrainSettings s;
  s.sparse_refresh = 2;
  s.sparse_refresh_rule = "gradient";
  s.sparse_probe_inputs = 5;
  s.sparse_probe_steps = 3;
  s.sparse_probe_min_t = 0.0;
  SparseRefresher refresher(model, s, 42);
  const std::vector<int32_t> before = model.layer(0).mapping_candidates().to_vector<int32_t>();
  refresher.begin_epoch(1, 2);
  for (int64_t step = 0; step < 10; ++step) {
    refresher.before_forward(step, 10);
    Graph g;
    Var loss = cross_entropy(model.forward(g, g.input(x)), g.input(y));
    g.backward(loss);
    refresher.after_backward(g);
    CHECK(refresher.probed_steps() == std::max<int64_t>(0, step - 6));
  }
  CHECK(refresher.end_epoch(1, 2) > 0);
  CHECK(model.layer(0).mapping_candidates().to_vector<int32_t>() != before);
  refresher.begin_epoch(2, 2);  // the last epoch: no probe, no refresh after it
  refresher.before_forward(9, 10);
  CHECK(refresher.probed_steps() == 0);
  CHECK(refresher.end_epoch(2, 2) == 0);
}

TEST_CASE("sparse refresh: a model it does not fit fails before anything is written") {
  const std::string dir = test::temp_dir("sparse-refresh-bad");
  struct Case {
    std::string overrides, message;
  };
  const Case cases[] = {
      {"model.params.layer_type=learnable model.params.later_layer_type=random "
       "training.sparse_refresh=1",
       "difflut-train: error: config key 'training.sparse_refresh': expected a model with a "
       "sparse mapping (model.params.layer_type or later_layer_type = sparse), found none; set it "
       "to 0"},
      {"training.sparse_refresh=6",
       "difflut-train: error: config key 'training.sparse_refresh': expected at most 5 (layer 0's "
       "6 candidates per slot less the chosen one), found 6"},
      {"model.params.layer_type=grouped model.params.later_layer_type=random "
       "training.sparse_refresh=1",
       "difflut-train: error: config key 'training.sparse_refresh': expected sparse mappings of "
       "drawn candidates, found layer 0 grouped (its candidates are fixed windows)"},
      {"training.sparse_refresh=-1", "difflut-train: error: config key 'training.sparse_refresh'"},
      {"training.sparse_refresh_rule=gradient",
       "difflut-train: error: config key 'training.sparse_refresh_rule': expected "
       "training.sparse_refresh > 0 with the gradient rule (candidates replaced per slot), found "
       "0"},
      {"training.sparse_refresh=1 training.sparse_refresh_rule=gradient "
       "training.sparse_probe.steps=9 training.sparse_probe.min_t=3",
       "difflut-train: error: config key 'training.sparse_probe.min_t': expected a value below "
       "sqrt(training.sparse_probe.steps) = 3 (|t| never exceeds it, so nothing would be "
       "replaced), found 3"},
      {"training.sparse_refresh=1 training.sparse_refresh_rule=gradient "
       "training.sparse_probe.min_t=7",
       "difflut-train: error: config key 'training.sparse_probe.min_t': expected a value below "
       "sqrt(47 probed steps) = 6.85565 (an epoch has 47 steps; |t| never exceeds it), found 7"},
      {"training.sparse_refresh=1 training.sparse_probe.steps=50",
       "difflut-train: error: config key 'training.sparse_probe.steps': expected its default with "
       "training.sparse_refresh_rule=random (only the gradient rule probes), found a change"},
      {"training.sparse_refresh=1 training.sparse_refresh_rule=gradient "
       "'model.params.hidden_sizes=[300,10]' model.params.sparse_candidates=300",
       "difflut-train: error: config key 'training.sparse_refresh_rule': expected inputs left to "
       "probe beside the candidates with the gradient rule, found layer 1's 300 candidates "
       "covering all its 300 inputs"},
      {"training.sparse_refresh=1 training.sparse_refresh_rule=best",
       "difflut-train: error: config key 'training.sparse_refresh_rule': expected one of random, "
       "gradient, found 'best'"},
      {"training.sparse_refresh=1 training.sparse_refresh_rule=gradient "
       "training.sparse_probe.min_t=-1",
       "difflut-train: error: config key 'training.sparse_probe.min_t': expected a finite number "
       ">= 0, found -1"},
      {"training.sparse_refresh=1 training.sparse_refresh_rule=gradient "
       "training.sparse_probe.inputs=0",
       "difflut-train: error: config key 'training.sparse_probe.inputs'"},
  };
  for (const Case& c : cases) {
    const test::CommandResult r =
        test::run_command(train_cmd(dir, "output_dir=bad " + c.overrides));
    INFO(c.overrides);
    INFO(r.output);
    CHECK(r.exit_code != 0);
    CHECK(r.output.find(c.message) != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir + "/bad"));
  }
}

TEST_CASE("checkpoint: a sparse layer's candidates travel; missing or bad ones change nothing") {
  const std::string dir = test::temp_dir("sparse-refresh-ckpt");
  const std::string path = dir + "/checkpoint.safetensors";
  LUTNetworkConfig cfg = test::small_config(10, 3, {20, 8}, 3);
  cfg.first_mapping = MappingKind::sparse;
  cfg.later_mapping = MappingKind::random;
  cfg.sparse_candidates = 5;
  Tensor x, y;
  test::toy_data(32, 10, 3, 4, x, y);
  ThermometerEncoder enc("distributive", 3);
  enc.fit(x);
  auto build = [&] {
    Generator g(6);
    return std::make_unique<LUTNetwork>(cfg, enc, g);
  };
  auto saved_net = build();
  Adam opt(*saved_net, AdamOptions{});
  Generator gen(1);
  REQUIRE(refresh_sparse_layer(saved_net->layer(0), 2, gen) > 0);
  const Tensor refreshed = saved_net->layer(0).mapping_candidates().clone();
  CheckpointState st;
  st.epoch = 1;
  save_training_checkpoint(path, *saved_net, opt, nullptr, gen, st);

  // A fresh model (the seed's candidates) takes the refreshed ones from the checkpoint.
  auto loaded = build();
  Adam opt_l(*loaded, AdamOptions{});
  CHECK(loaded->layer(0).mapping_candidates().to_vector<int32_t>() !=
        refreshed.to_vector<int32_t>());
  load_training_checkpoint(path, *loaded, opt_l, nullptr, gen);
  test::check_equal(loaded->layer(0).mapping_candidates(), refreshed);

  // Damaged or missing candidates: one line naming the entry, the model as it was.
  SafetensorsContents file = load_safetensors(path);
  auto rewrite = [&](const std::function<void(NamedTensors&)>& edit) {
    SafetensorsContents c = file;
    edit(c.tensors);
    c.metadata["checksum"] = "";
    save_safetensors(path, c.tensors, c.metadata);
  };
  const std::string key = "state:layer0.mapping_candidates";
  rewrite([&](NamedTensors& t) {
    for (auto& [n, v] : t)
      if (n == key) v = Tensor::full(v.shape(), 1000, DType::i32);
  });
  auto victim = build();
  Adam opt_v(*victim, AdamOptions{});
  const Tensor before = victim->layer(0).mapping_candidates().clone();
  const Tensor w_before = victim->layer(0).mapping_weights()->value.clone();
  CHECK_THROWS_WITH_AS(load_training_checkpoint(path, *victim, opt_v, nullptr, gen),
                       doctest::Contains("module 'layer0': LUTLayer: entry 'mapping_candidates': "
                                         "entry 0 = 1000 is outside [0, 30)"),
                       Error);
  rewrite([&](NamedTensors& t) {
    t.erase(std::remove_if(t.begin(), t.end(), [&](const auto& e) { return e.first == key; }),
            t.end());
  });
  CHECK_THROWS_WITH_AS(load_training_checkpoint(path, *victim, opt_v, nullptr, gen),
                       doctest::Contains("entry 'state:layer0.mapping_candidates' of the model is "
                                         "missing"),
                       Error);
  test::check_equal(victim->layer(0).mapping_candidates(), before);
  test::check_equal(victim->layer(0).mapping_weights()->value, w_before);
}
