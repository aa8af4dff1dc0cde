// Loaded and configured models are checked before use (issue 12): the memory estimate refuses a
// model that cannot fit before allocating it, and load_lut_network refuses checkpoints whose
// metadata disagrees with itself or with the tensors, or whose values are not finite, naming the
// field or tensor. Valid checkpoints still load exactly.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <string>

#include "autograd/io/safetensors.h"
#include "lut/lut_network.h"
#include "lut/model_memory.h"
#include "tensor/allocator.h"
#include "test_networks.h"
#include "test_util.h"

using namespace difflut;

namespace {

void toy_data(int64_t n, int64_t F, uint64_t seed, Tensor& x, Tensor& y) {
  Generator g(seed);
  x = Tensor::rand({n, F}, g);
  y = Tensor::empty({n}, DType::i64);
  for (int64_t i = 0; i < n; ++i) y.data<int64_t>()[i] = static_cast<int64_t>(g.below(3));
}

LUTNetworkConfig toy_config() {
  LUTNetworkConfig c = test::small_config(12, 3, {30, 12}, 4);
  c.first_mapping = MappingKind::learnable;
  c.later_mapping = MappingKind::random;
  return c;
}

std::shared_ptr<LUTNetwork> toy_network(const LUTNetworkConfig& c, const Tensor& x) {
  ThermometerEncoder enc("distributive", 3);
  enc.fit(x);
  Generator gen(5);
  return std::make_shared<LUTNetwork>(c, enc, gen);
}

// Sets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old, had_ = true;
    ::setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (had_)
      ::setenv(name_, old_.c_str(), 1);
    else
      ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

// Replaces the first occurrence of `from` in `s` (which must exist).
void replace_first(std::string& s, const std::string& from, const std::string& to) {
  const size_t at = s.find(from);
  REQUIRE_MESSAGE(at != std::string::npos, "'" << from << "' not in " << s);
  s.replace(at, from.size(), to);
}

// A saved toy checkpoint that tests edit and reload.
struct Checkpoint {
  std::string dir;
  SafetensorsContents c;

  explicit Checkpoint(const std::string& tag, bool mapping_weights = true) {
    dir = test::temp_dir(tag);
    Tensor x, y;
    toy_data(64, 12, 3, x, y);
    auto net = toy_network(toy_config(), x);
    LUTNetworkSaveOptions o;
    o.mapping_weights = mapping_weights;
    o.write_json = false;
    save_lut_network(*net, dir + "/good.safetensors", o);
    c = load_safetensors(dir + "/good.safetensors");
  }
  // Writes an edited copy and returns its path.
  std::string edited(const std::string& name, const std::function<void(std::string&)>& model,
                     const std::function<void(NamedTensors&)>& tensors = nullptr) const {
    Metadata meta = c.metadata;
    if (model) model(meta["difflut.model"]);
    NamedTensors ts;
    for (const auto& [n, t] : c.tensors) ts.emplace_back(n, t.clone());
    if (tensors) tensors(ts);
    const std::string path = dir + "/" + name + ".safetensors";
    save_safetensors(path, ts, meta);
    return path;
  }
};

Tensor& tensor_named(NamedTensors& ts, const std::string& name) {
  for (auto& [n, t] : ts)
    if (n == name) return t;
  FAIL("no tensor " << name);
  return ts.front().second;
}

}  // namespace

TEST_CASE("model memory: the estimate counts parameters, gradients, Adam state and indices") {
  const LUTNetworkConfig c = toy_config();
  // 36 encoded bits in; layer0 learnable: W [36, 120] f32 and tables [30, 16]; layer1 random:
  // tables [12, 16], 48 slots.
  const ModelMemoryEstimate e = estimate_lut_network_memory(c, 36);
  CHECK(e.parameter_bytes == (36 * 120 + 30 * 16 + 12 * 16) * 4);
  CHECK(e.gradient_bytes == (30 * 16 + 12 * 16) * 4);  // fused W update: no dW buffer
  CHECK(e.optimizer_bytes == 2 * e.parameter_bytes);
  CHECK(e.index_bytes == 120 * 8 + 48 * 4 * 2 + 48 * 8 + 31 * 8);
  CHECK(e.largest_layer == 0);
  LUTNetworkConfig unfused = c;
  unfused.fused_update = false;
  CHECK(estimate_lut_network_memory(unfused, 36).gradient_bytes == e.gradient_bytes + 36 * 120 * 4);
  CHECK(format_bytes(999) == "999 bytes");
  CHECK(format_bytes(1.5e9) == "1.5 GB");
  CHECK(format_bytes(5.63e12) == "5.63 TB");
  CHECK(available_memory_bytes(Device::cpu) > 0);
}

TEST_CASE("model memory: hidden_sizes = [100000000] is refused at once, naming the field") {
  Tensor x, y;
  toy_data(32, 12, 1, x, y);
  LUTNetworkConfig c = toy_config();
  c.hidden_sizes = {100000000};
  std::string msg;
  try {
    toy_network(c, x);
  } catch (const Error& e) {
    msg = e.what();
  }
  // The estimate's message (not an allocation failure) shows it was refused before allocating.
  INFO(msg);
  CHECK(msg.find("LUTNetwork: the model needs about ") == 0);
  CHECK(msg.find("202 GB for training (parameters 64 GB, ") != std::string::npos);
  CHECK(msg.find("of host memory is available") != std::string::npos);
  CHECK(msg.find("reduce hidden_sizes[0] = 100000000 nodes") != std::string::npos);
  CHECK(msg.find('\n') == std::string::npos);
  CHECK(allocator_stats(Device::cpu).bytes_in_use < (size_t{1} << 30));
}

TEST_CASE("model memory: DIFFLUT_MEMORY_LIMIT caps what is available; the limit is exact") {
  Tensor x, y;
  toy_data(32, 12, 1, x, y);
  const LUTNetworkConfig c = toy_config();
  const double need = estimate_lut_network_memory(c, 36).total();
  {
    ScopedEnv env("DIFFLUT_MEMORY_LIMIT", std::to_string(static_cast<uint64_t>(need) - 1).c_str());
    CHECK_THROWS_WITH_AS(toy_network(c, x), doctest::Contains("reduce hidden_sizes[0] = 30 nodes"),
                         Error);
  }
  {
    ScopedEnv env("DIFFLUT_MEMORY_LIMIT", std::to_string(static_cast<uint64_t>(need)).c_str());
    CHECK_NOTHROW(toy_network(c, x));
  }
  {
    ScopedEnv env("DIFFLUT_MEMORY_LIMIT", "lots");
    CHECK_THROWS_WITH_AS(toy_network(c, x), doctest::Contains("DIFFLUT_MEMORY_LIMIT"), Error);
  }
  // A later layer that is too large is the one named.
  LUTNetworkConfig big = c;
  big.hidden_sizes = {30, 40000000};
  CHECK_THROWS_WITH_AS(check_lut_network_memory(big, 36, uint64_t{1} << 30),
                       doctest::Contains("reduce hidden_sizes[1] = 40000000 nodes"), Error);
  CHECK_NOTHROW(check_lut_network_memory(big, 36, std::numeric_limits<uint64_t>::max()));
}

TEST_CASE("check_finite_tensor names the tensor, the value and its index") {
  Tensor t = Tensor::zeros({2, 3});
  CHECK_NOTHROW(check_finite_tensor(t, "t"));
  t.data<float>()[4] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH_AS(
      check_finite_tensor(t, "tensor 'w'"),
      "tensor 'w': expected finite values, found NaN at [1, 1] (of f32[2, 3] on cpu)", Error);
  Tensor d = Tensor::zeros({3}, DType::f64);
  d.data<double>()[2] = -std::numeric_limits<double>::infinity();
  CHECK_THROWS_WITH_AS(check_finite_tensor(d, "d"), doctest::Contains("found -Inf at [2]"), Error);
  CHECK_NOTHROW(check_finite_tensor(Tensor::zeros({4}, DType::i64), "ints"));
}

TEST_CASE("load_lut_network: a valid checkpoint still loads and predicts exactly") {
  for (bool weights : {true, false}) {
    Checkpoint ck("model_checks_ok", weights);
    Tensor x, y;
    toy_data(64, 12, 3, x, y);
    auto net = toy_network(toy_config(), x);
    net->eval();
    auto back = load_lut_network(ck.dir + "/good.safetensors");
    test::check_equal(back->logits(x), net->logits(x));
  }
}

TEST_CASE("load_lut_network: metadata that disagrees with itself or the tensors is refused") {
  const Checkpoint ck("model_checks_meta");
  using Edit = std::function<void(std::string&)>;
  struct Case {
    const char* name;
    Edit edit;
    const char* message;
  };
  const Case cases[] = {
      // The class count edited at the top level only (a 3-class circuit from a 10-class model).
      {"classes",
       [](std::string& m) { replace_first(m, "\"num_classes\": 3,", "\"num_classes\": 2,"); },
       "model metadata \"num_classes\" = 2 but \"groupsum\".\"num_classes\" = 3"},
      {"classes_gs",
       [](std::string& m) { replace_first(m, "{\"num_classes\": 3", "{\"num_classes\": 10"); },
       "\"groupsum\".\"num_classes\" = 10"},
      {"classes_huge",
       [](std::string& m) {
         replace_first(m, "\"num_classes\": 3,", "\"num_classes\": 3000000000,");
       },
       "\"num_classes\": expected an integer in [1, 2147483647], found 3000000000"},
      {"features",
       [](std::string& m) { replace_first(m, "\"num_features\": 12", "\"num_features\": 13"); },
       "\"output_features\" = 36, expected num_features x num_bits = 13 x 3"},
      {"out_features",
       [](std::string& m) {
         replace_first(m, "\"output_features\": 36", "\"output_features\": 48");
       },
       "\"output_features\" = 48"},
      {"input_size",
       [](std::string& m) { replace_first(m, "\"input_size\": 30", "\"input_size\": 31"); },
       "layer 1 \"input_size\" = 31, expected 30 (the previous layer's num_nodes)"},
      {"num_nodes",
       [](std::string& m) { replace_first(m, "\"num_nodes\": 30", "\"num_nodes\": 31"); },
       "layer 1 \"input_size\" = 30, expected 31"},
      {"k", [](std::string& m) { replace_first(m, "\"k\": 4,", "\"k\": 9,"); },
       "\"k\": expected an integer in [1, 8], found 9"},
      {"k_all",
       [](std::string& m) {
         for (int i = 0; i < 3; ++i) replace_first(m, "\"k\": 4", "\"k\": 3");
       },
       "tensor 'layer0.params' expected shape [30, 8]"},
      {"tau", [](std::string& m) { replace_first(m, "\"tau\": 3.3", "\"tau\": 1e999"); },
       "\"tau\": expected a finite number, found '1e999"},
      {"layer_name",
       [](std::string& m) { replace_first(m, "\"name\": \"layer1\"", "\"name\": \"layerX\""); },
       "layer 1: expected name 'layer1', found 'layerX'"},
  };
  for (const Case& k : cases) {
    INFO(k.name);
    const std::string path = ck.edited(k.name, k.edit);
    CHECK_THROWS_WITH_AS(load_lut_network(path), doctest::Contains(k.message), Error);
    CHECK_THROWS_WITH_AS(load_lut_network(path), doctest::Contains(path.c_str()), Error);
  }
  // One layer dropped from the metadata: its tensors are left over.
  const std::string dropped = ck.edited("dropped", [](std::string& m) {
    const size_t a = m.find(", {\"name\": \"layer1\"");
    const size_t b = m.find('}', a);
    m.erase(a, b - a + 1);
  });
  CHECK_THROWS_WITH_AS(
      load_lut_network(dropped),
      doctest::Contains(
          "unexpected tensor 'layer1.params' (the model metadata describes 1 layer(s)"),
      Error);
}

TEST_CASE("load_lut_network: NaN/Inf tables, thresholds or mapping weights are refused by name") {
  const Checkpoint ck("model_checks_nan");
  const float nan = std::numeric_limits<float>::quiet_NaN(),
              inf = std::numeric_limits<float>::infinity();
  struct Case {
    const char* tensor;
    int64_t at;
    float value;
    const char* found;
  };
  for (const Case& k : {Case{"layer0.params", 17, nan, "NaN at [1, 1]"},
                        Case{"layer1.params", 0, -inf, "-Inf at [0, 0]"},
                        Case{"encoder.thresholds", 5, nan, "NaN at [1, 2]"},
                        Case{"encoder.thresholds", 0, inf, "+Inf at [0, 0]"},
                        Case{"layer0.mapping_weights", 7, nan, "NaN at [0, 7]"}}) {
    INFO(k.tensor << " " << k.found);
    const std::string path = ck.edited(
        std::string("nan_") + k.tensor, nullptr,
        [&](NamedTensors& ts) { tensor_named(ts, k.tensor).data<float>()[k.at] = k.value; });
    const std::string expected = path + ": tensor '" + k.tensor +
                                 "': expected finite values, found " + k.found + " (of f32[";
    CHECK_THROWS_WITH_AS(load_lut_network(path), doctest::Contains(expected.c_str()), Error);
  }
  // In memory (a diverged run exporting its circuit): the same check by name.
  Tensor x, y;
  toy_data(64, 12, 3, x, y);
  auto net = toy_network(toy_config(), x);
  CHECK_NOTHROW(check_lut_network_finite(*net, "run"));
  net->layer(1).node_params().value.data<float>()[3] = nan;
  CHECK_THROWS_WITH_AS(
      check_lut_network_finite(*net, "run"),
      doctest::Contains("run: tensor 'layer1.params': expected finite values, found NaN"), Error);
}

TEST_CASE("load_lut_network: mapping indices must be in range and equal the argmax of stored W") {
  const Checkpoint ck("model_checks_map");
  const std::string other = ck.edited("argmax", nullptr, [](NamedTensors& ts) {
    int32_t* m = tensor_named(ts, "layer0.mapping_indices").data<int32_t>();
    m[5] = (m[5] + 1) % 36;
  });
  CHECK_THROWS_WITH_AS(load_lut_network(other),
                       doctest::Contains("tensor 'layer0.mapping_indices'[5] = "), Error);
  CHECK_THROWS_WITH_AS(load_lut_network(other),
                       doctest::Contains("(the argmax of 'layer0.mapping_weights')"), Error);
  const std::string range = ck.edited("range", nullptr, [](NamedTensors& ts) {
    tensor_named(ts, "layer1.mapping_indices").data<int32_t>()[2] = 30;
  });
  CHECK_THROWS_WITH_AS(
      load_lut_network(range),
      doctest::Contains("tensor 'layer1.mapping_indices'[2] = 30 is outside [0, 30)"), Error);
}
