// Convolutional LUT networks in hardware: the network's graph (conv_patches, the per-position tree
// levels, the row reshape, bit_pool) lowers with positions unrolled and every stage equals the
// graph (0 mismatches, with and without the encoder); the optimised netlist (padding comparators
// folded away) and the bit-sliced engine predict as the network does; difflut-export verifies a
// conv checkpoint with Verilator.
#include <string>
#include <vector>

#include "hdl/circuit_sim.h"
#include "hdl/compile.h"
#include "hdl/evaluate.h"
#include "hdl/lower.h"
#include "hdl/network_export.h"
#include "hdl/optimize.h"
#include "hdl/tools.h"
#include "hdl_models.h"
#include "lut/lut_network.h"
#include "test_util.h"

using namespace difflut;
using namespace difflut::hdl;

namespace {

// A conv network over [C, H, W] images of the data set: two conv layers (the first padded and
// pooled), two dense layers. Its nodes are `type` with their initial (random) tables.
std::shared_ptr<LUTNetwork> conv_network(const Dataset& d, std::vector<int64_t> image,
                                         const std::string& type, uint64_t seed,
                                         int64_t field_candidates = 0) {
  ThermometerEncoder enc("distributive", 2);
  enc.fit(d.features_f32());
  LUTNetworkConfig cfg;
  cfg.num_features = d.feature_dim();
  cfg.num_classes = d.num_classes;
  cfg.image_shape = std::move(image);
  cfg.conv = {ConvLayerSpec{5, 3, 1, 1, 2, 3, 2}, ConvLayerSpec{6, 2, 1, 0, 1, 4, 1}};
  for (ConvLayerSpec& c : cfg.conv) c.field_candidates = field_candidates;
  cfg.hidden_sizes = {30, 3 * d.num_classes};
  cfg.k = 4;
  cfg.node_type = type;
  cfg.first_mapping = MappingKind::random;
  Generator gen(seed);
  auto net = std::make_shared<LUTNetwork>(cfg, enc, gen);
  net->eval();
  return net;
}

}  // namespace

TEST_CASE("a conv LUTNetwork lowers exactly, positions unrolled, with and without the encoder") {
  const Dataset d = test::toy_dataset(120, 2 * 7 * 6, 3, 2);
  for (const char* type : {"dwn", "hybrid", "probabilistic", "linear_lut"}) {
    auto net = conv_network(d, {2, 7, 6}, type, 3);
    const std::vector<int64_t> want = net->predict(d.features_f32()).to_vector<int64_t>();
    for (bool enc : {true, false}) {
      INFO(type << ", encoder " << enc);
      // check = true: every stage against the graph on all 120 samples, throwing on a mismatch.
      const Circuit c = lower_lut_network(*net, {.include_encoder = enc}, d.features_f32(), true);
      // conv0: 7x6 positions x (5 x 3 + 5) nodes; pool: 3x3 x 5; conv1: 2x2 x 6; dense 30 + 9.
      CHECK(c.lut_nodes() == 42 * 20 + 45 + 24 + 39);
      const std::vector<uint32_t> codes = network_input_codes(*net, c, d);
      CircuitSim sim(c);
      const CircuitAccuracy a = circuit_accuracy(c, codes, d.labels);
      CHECK(a.samples == 120);
      CHECK(a.accuracy == accuracy(net->predict(d.features_f32()), d.labels));
      // The optimised netlist: same outputs; the padding stage's pass-through comparators are
      // folded into wires (only the encoder's comparators remain).
      const OptimizedCircuit o = optimize_circuit(c);
      CHECK(count_netlist(o.circuit).comparators <= (enc ? d.feature_dim() * 2 : 0));
      const CircuitAccuracy b = circuit_accuracy(o.circuit, codes, d.labels);
      CHECK(b.correct == a.correct);
    }
    // The compiled bit-sliced engine (from raw codes) predicts exactly as the network.
    CompiledNetwork cn = compile_network(*net);
    const Tensor& f = d.features;
    std::vector<int32_t> got(static_cast<size_t>(f.size(0)));
    cn.engine.predict(f.data<uint8_t>(), f.size(0), got.data());
    CHECK(std::vector<int64_t>(got.begin(), got.end()) == want);
  }
}

TEST_CASE("learnable conv fields lower to the wires of their choice, every stage exact") {
  // The sparse mapping over position rows lowers once per position; check = true compares every
  // stage (patches, field, levels, pool) with the graph on all samples.
  const Dataset d = test::toy_dataset(120, 2 * 7 * 6, 3, 2);
  for (const char* type : {"dwn", "hybrid"}) {
    INFO(type);
    auto net = conv_network(d, {2, 7, 6}, type, 5, 6);
    REQUIRE(net->conv_layer(1).learnable_field());
    const Circuit c = lower_lut_network(*net, {.include_encoder = true}, d.features_f32(), true);
    // The field is wires: the same LUT count as a fixed field's network.
    CHECK(c.lut_nodes() == 42 * 20 + 45 + 24 + 39);
    const std::vector<uint32_t> codes = network_input_codes(*net, c, d);
    CHECK(circuit_accuracy(c, codes, d.labels).accuracy ==
          accuracy(net->predict(d.features_f32()), d.labels));
    CompiledNetwork cn = compile_network(*net);
    std::vector<int32_t> got(static_cast<size_t>(d.features.size(0)));
    cn.engine.predict(d.features.data<uint8_t>(), d.features.size(0), got.data());
    CHECK(std::vector<int64_t>(got.begin(), got.end()) ==
          net->predict(d.features_f32()).to_vector<int64_t>());
  }
}

TEST_CASE("difflut-export verifies a conv checkpoint end to end (Verilator, 0 mismatches)") {
  INFO("'verilator' must be on PATH: apt-get install -y verilator");
  REQUIRE(have_tool("verilator"));
  const Dataset d = test::toy_dataset(16, 784, 10, 4);
  auto net = conv_network(d, {1, 28, 28}, "dwn", 5);
  const std::string dir = test::temp_dir("hdl_conv_app");
  save_lut_network(*net, dir + "/m.safetensors");
  const test::CommandResult r = test::run_command(
      test::built_program("difflut-export") + " " + dir +
      "/m.safetensors --dataset fashionmnist --limit 20 --pipeline 2 --verify --out " + dir + "/v");
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("every stage equals the network's graph") != std::string::npos);
  CHECK(r.output.find("software model: 0 of 20 vectors differ") != std::string::npos);
  CHECK(r.output.find("simulation (verilator): 0 mismatches in 20 vectors") != std::string::npos);
  CHECK(r.last_line().rfind("mismatches=0 latency_cycles=", 0) == 0);
}
