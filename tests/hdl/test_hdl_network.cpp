// LUTNetwork -> circuit: the network's own forward graph lowers stage-for-stage exactly, with and
// without the encoder; the circuit's software model gives the network's accuracy; a checkpoint
// round trip keeps the circuit; difflut-export verifies a small checkpoint end to end; NaN values
// and a class count that does not fit the data are refused; a merged ensemble lowers exactly.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "data/csv.h"
#include "hdl/circuit_sim.h"
#include "hdl/export.h"
#include "hdl/lower.h"
#include "hdl/network_export.h"
#include "hdl/tools.h"
#include "hdl_models.h"
#include "lut/lut_network.h"
#include "lut/network_ensemble.h"
#include "test_util.h"

using namespace difflut;
using namespace difflut::hdl;

using test::toy_dataset;
using test::toy_network;

TEST_CASE("a LUTNetwork lowers exactly: circuit accuracy equals the network's, both input forms") {
  const Dataset d = toy_dataset(300, 16, 3, 1);
  for (MappingKind first :
       {MappingKind::learnable, MappingKind::sparse, MappingKind::random, MappingKind::cyclic}) {
    auto net = toy_network(d, 16, 4, first, "dwn", 7);
    const double sw = accuracy(net->predict(d.features_f32()), d.labels);
    for (bool enc : {true, false}) {
      INFO("mapping " << mapping_kind_name(first) << ", encoder " << enc);
      // The probe is the data itself: every stage checked against the graph on 300 samples.
      const Circuit c = lower_lut_network(*net, {.include_encoder = enc}, d.features_f32(), true);
      CHECK(c.input_width() == (enc ? 8 : 1));
      CHECK(c.lut_nodes() == 42);
      const CircuitAccuracy a = circuit_accuracy(c, network_input_codes(*net, c, d), d.labels);
      CHECK(a.samples == 300);
      CHECK(a.accuracy == sw);
    }
    CHECK(evaluate_circuit(*net, d).accuracy == sw);
  }
}

TEST_CASE("a merged ensemble lowers exactly: one circuit scores the members' summed vote") {
  const Dataset d = toy_dataset(300, 16, 3, 4);
  for (MappingKind first : {MappingKind::learnable, MappingKind::sparse}) {
    INFO("mapping " << mapping_kind_name(first));
    auto merged = merge_lut_networks(
        {toy_network(d, 16, 4, first, "hybrid", 5), toy_network(d, 16, 4, first, "hybrid", 6)});
    const double sw = accuracy(merged->predict(d.features_f32()), d.labels);
    const Circuit c = lower_lut_network(*merged, {.include_encoder = true}, d.features_f32(), true);
    CHECK(c.lut_nodes() == 84);
    const CircuitAccuracy a = circuit_accuracy(c, network_input_codes(*merged, c, d), d.labels);
    CHECK(a.samples == 300);
    CHECK(a.accuracy == sw);
  }
}

TEST_CASE("a checkpoint round trip gives the same circuit") {
  const Dataset d = toy_dataset(50, 16, 3, 2);
  for (MappingKind first : {MappingKind::learnable, MappingKind::sparse}) {
    INFO("mapping " << mapping_kind_name(first));
    auto net = toy_network(d, 16, 6, first, "dwn", 3);
    const std::string dir = test::temp_dir("hdl_ckpt");
    save_lut_network(*net, dir + "/m.safetensors");
    auto back = load_lut_network(dir + "/m.safetensors");
    const Circuit a = lower_lut_network(*net), b = lower_lut_network(*back);
    REQUIRE(a.stages.size() == b.stages.size());
    for (size_t s = 0; s < a.stages.size(); ++s) {
      CHECK(a.stages[s].index == b.stages[s].index);
      CHECK(a.stages[s].threshold == b.stages[s].threshold);
      CHECK(a.stages[s].table == b.stages[s].table);
    }
  }
}

TEST_CASE(
    "difflut-export verifies a sparse-mapping checkpoint: each slot's choice is a fixed wire") {
  for (const char* t : {"verilator", "iverilog"}) {
    INFO("'" << t << "' must be on PATH: apt-get install -y verilator iverilog yosys");
    REQUIRE(have_tool(t));
  }
  const Dataset d = toy_dataset(64, 784, 10, 6);
  auto net = toy_network(d, 784, 6, MappingKind::sparse, "dwn", 9);
  // The wires of layer 0 are the choices the network computes with, each one of its candidates.
  const Circuit c = lower_lut_network(*net, {.include_encoder = false});
  const Stage* wires = nullptr;
  for (const Stage& st : c.stages)
    if (st.kind == StageKind::wires && !wires) wires = &st;
  REQUIRE(wires != nullptr);
  const std::vector<int64_t> chosen = net->layer(0).mapping_indices().to_vector<int64_t>();
  CHECK(wires->index == chosen);
  const std::string dir = test::temp_dir("hdl_sparse_app");
  save_lut_network(*net, dir + "/m.safetensors");
  test::CommandResult r = test::run_command(test::built_program("difflut-export") + " " + dir +
                                            "/m.safetensors --dataset fashionmnist "
                                            "--limit 40 --verify --simulator icarus --out " +
                                            dir + "/v");
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("simulation (icarus): 0 mismatches in 40 vectors") != std::string::npos);
  CHECK(r.last_line().rfind("mismatches=0", 0) == 0);
}

TEST_CASE("difflut-export verifies a small Fashion-MNIST-shaped checkpoint end to end") {
  for (const char* t : {"verilator", "iverilog", "yosys"}) {
    INFO("'" << t << "' must be on PATH: apt-get install -y verilator iverilog yosys");
    REQUIRE(have_tool(t));
  }
  const Dataset d = toy_dataset(64, 784, 10, 4);
  auto net = toy_network(d, 784, 6, MappingKind::learnable, "dwn", 5);
  const std::string dir = test::temp_dir("hdl_app");
  save_lut_network(*net, dir + "/m.safetensors");
  const std::string exe = test::built_program("difflut-export");
  // difflut-export on the saved model with `args`, writing to dir/out.
  const auto export_run = [&](const std::string& args, const std::string& out) {
    return test::run_command(exe + " " + dir + "/m.safetensors " + args + " --out " + dir + "/" +
                             out);
  };
  // Raw 8-bit inputs (encoder included), pipelined, Icarus.
  test::CommandResult r =
      export_run("--dataset fashionmnist --limit 40 --pipeline 2 --verify --simulator icarus", "v");
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(r.last_line() == "mismatches=0 latency_cycles=2");
  CHECK(r.output.find("lint (verilator --lint-only -Wall): clean") != std::string::npos);
  CHECK(r.output.find("simulation (icarus): 0 mismatches in 40 vectors") != std::string::npos);
  CHECK(r.output.find("optimise constants: comparators 2352 -> ") != std::string::npos);
  CHECK(r.output.find("optimise dead logic: ") != std::string::npos);

  // Encoded bits in, combinational, Verilator, Yosys: the LUT layers take at most 30 + 12 LUT6.
  r = export_run("--dataset fashionmnist --limit 8 --no-encoder --no-opt --verify --synth", "v2");
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(r.last_line().rfind("mismatches=0 luts=", 0) == 0);
  CHECK(r.last_line().find(" ffs=0 latency_cycles=0") != std::string::npos);
  CHECK(r.output.find("(42 LUT nodes)") != std::string::npos);
  const size_t at = r.output.find("LUT layers: ");
  REQUIRE(at != std::string::npos);
  const long long lut_layer_luts = std::stoll(r.output.substr(at + 12));
  CHECK(lut_layer_luts > 0);
  CHECK(lut_layer_luts <= 42);

  // --synth-modules: the per-module run only; the last line's luts are the modules' sum.
  r = export_run("--dataset fashionmnist --limit 8 --no-encoder --no-opt --synth-modules", "v2m");
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("synthesis flattened (") == std::string::npos);
  const size_t sum_at = r.output.find("sum of modules: ");
  REQUIRE(sum_at != std::string::npos);
  const std::string sum_luts = std::to_string(std::stoll(r.output.substr(sum_at + 16)));
  CHECK(r.last_line().rfind("mismatches=0 luts=" + sum_luts + " ffs=0 synth_scope=modules", 0) ==
        0);

  // Encoded bits in, the AXI4-Stream top over a 256-bit bus (10 beats a sample), registers inside
  // the popcount and argmax trees, random stalls, Icarus; flattened and per-module synthesis.
  r = export_run(
      "--dataset fashionmnist --limit 12 --no-encoder --interface stream --bus-bits 256 "
      "--stall 40 --pipeline 1 --popcount-regs 1 --argmax-regs 1 --verify --simulator icarus "
      "--synth",
      "v3");
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("stream top: difflut_top_stream (s_axis 256 bits, 10 beat(s) a sample") !=
        std::string::npos);
  CHECK(r.output.find("simulation (icarus): 0 mismatches in 12 vectors") != std::string::npos);
  CHECK(r.output.find("synthesis per module (") != std::string::npos);
  CHECK(r.output.find("  stream top (buffer, FIFO): ") != std::string::npos);
  CHECK(r.output.find("synthesis flattened (") != std::string::npos);
  CHECK(r.last_line().rfind("mismatches=0 luts=", 0) == 0);

  // Options that make no sense together are refused in one line.
  r = test::run_command(exe + " " + dir + "/m.safetensors --bus-bits 16 2>&1");
  CHECK(r.exit_code == 2);
  CHECK(r.output ==
        "difflut-export: error: --bus-bits and --stream-scores need --interface stream\n");
  r = test::run_command(exe + " " + dir + "/m.safetensors --pnr ice40 2>&1");
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("--pnr needs a clocked design") != std::string::npos);

  r = test::run_command(exe + " " + dir + "/missing.safetensors");
  CHECK(r.exit_code != 0);
  CHECK(r.output.find("difflut-export: error:") != std::string::npos);
}

TEST_CASE("NaN tables and thresholds and an edited class count are refused, not exported") {
  const Dataset d = toy_dataset(40, 16, 3, 6);
  auto net = toy_network(d, 16, 4, MappingKind::random, "dwn", 8);
  const std::string dir = test::temp_dir("hdl_nan");
  // In memory: the lowering refuses by name (it used to export and report mismatches=0).
  net->layer(0).node_params().value.data<float>()[5] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH_AS(
      lower_lut_network(*net),
      doctest::Contains("hdl: tensor 'layer0.params': expected finite values, found NaN"), Error);
  save_lut_network(*net, dir + "/nan.safetensors");
  CHECK_THROWS_WITH_AS(load_lut_network(dir + "/nan.safetensors"),
                       doctest::Contains("tensor 'layer0.params': expected finite values"), Error);

  // difflut-export refuses the checkpoint with one line before writing anything.
  const std::string exe = test::built_program("difflut-export");
  test::CommandResult r = test::run_command(exe + " " + dir + "/nan.safetensors --dataset " +
                                            "fashionmnist --out " + dir + "/v 2>&1");
  INFO(r.output);
  CHECK(r.exit_code == 2);
  CHECK(r.output.rfind("difflut-export: error: " + dir +
                           "/nan.safetensors: tensor 'layer0.params': "
                           "expected finite values, found NaN at [0, 5]",
                       0) == 0);
  CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
  CHECK(!std::filesystem::exists(dir + "/v"));

  // The class count edited consistently in the metadata (3 -> 2): the checkpoint is coherent, but
  // the data set has labels the circuit can never produce, which the export refuses.
  auto ok = toy_network(d, 16, 4, MappingKind::random, "dwn", 8);
  LUTNetworkConfig two = ok->config();
  two.num_classes = 2;
  Generator gen(8);
  LUTNetwork edited(two, ok->encoder(), gen);
  CHECK_THROWS_WITH_AS(network_input_codes(edited, lower_lut_network(edited), d),
                       doctest::Contains("but the model has 2 classes (expected labels in [0, 2)"),
                       Error);
  CHECK_THROWS_WITH_AS(evaluate_circuit(edited, d), doctest::Contains("has label 2"), Error);
}

namespace {
// A CSV test set: F feature columns from `value(gen)`, then the label column.
Dataset write_csv(const std::string& path, int64_t N, int64_t F, uint64_t seed,
                  double (*value)(Generator&)) {
  Generator gen(seed);
  std::ofstream out(path);
  for (int64_t f = 0; f < F; ++f) out << "f" << f << ",";
  out << "label\n";
  for (int64_t i = 0; i < N; ++i) {
    double sum = 0;
    for (int64_t f = 0; f < F; ++f) {
      const double v = value(gen);
      sum += v;
      out << v << ",";
    }
    out << static_cast<int64_t>(std::fabs(sum)) % 3 << "\n";
  }
  out.close();
  return read_csv(path);
}
}  // namespace

TEST_CASE("CSV features that are not 8-bit codes export with their encoder, bit-exact") {
  REQUIRE(have_tool("iverilog"));
  const std::string dir = test::temp_dir("hdl_csv");
  const std::string exe = test::built_program("difflut-export");
  // Quarter steps in [-3.5, 12.25]: exactly 6-bit codes with 2 fractional bits.
  const Dataset d = write_csv(dir + "/quarters.csv", 60, 5, 3, [](Generator& g) {
    return (static_cast<double>(g.below(64)) - 14.0) / 4.0;
  });
  const FixedPoint fp = derive_fixed_point(d.features_f32());
  CHECK(fp.frac_bits == 2);
  CHECK(fp.width <= 6);
  CHECK(fp.value(fp.code_of(-3.5)) == -3.5);
  CHECK(quantize_features(d.features_f32(), fp).to_vector<float>() ==
        d.features_f32().to_vector<float>());
  auto net = toy_network(d, 5, 4, MappingKind::learnable, "dwn", 9);
  save_lut_network(*net, dir + "/q.safetensors");
  test::CommandResult r =
      test::run_command(exe + " " + dir + "/q.safetensors --csv " + dir +
                        "/quarters.csv --pipeline 1 --verify --simulator icarus "
                        "--out " +
                        dir + "/vq");
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("input format: " + fp.describe() +
                      " (exact for every test feature); 0 "
                      "feature values rounded") != std::string::npos);
  CHECK(r.output.find("simulation (icarus): 0 mismatches in 60 vectors") != std::string::npos);
  CHECK(r.last_line() == "mismatches=0 latency_cycles=5");

  // Decimal fractions (0.17, ...) are no binary fixed-point numbers: refused in one line, then
  // exported with --input-bits 12 (the model on the rounded features is what the circuit computes).
  write_csv(dir + "/decimals.csv", 50, 4, 4,
            [](Generator& g) { return static_cast<double>(g.below(1000)) * 0.017 - 2.0; });
  auto net2 = toy_network(read_csv(dir + "/decimals.csv"), 4, 3, MappingKind::random, "dwn", 10);
  save_lut_network(*net2, dir + "/d.safetensors");
  r = test::run_command(exe + " " + dir + "/d.safetensors --csv " + dir + "/decimals.csv --out " +
                        dir + "/vd 2>&1");
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("is not a fixed-point number with at most 16 fractional bits; give "
                      "--input-bits N") != std::string::npos);
  CHECK(!std::filesystem::exists(dir + "/vd"));
  r = test::run_command(exe + " " + dir + "/d.safetensors --csv " + dir +
                        "/decimals.csv "
                        "--input-bits 12 --verify --simulator icarus --out " +
                        dir + "/vd");
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("input format: 12-bit offset-binary fixed point") != std::string::npos);
  CHECK(r.output.find("simulation (icarus): 0 mismatches in 50 vectors") != std::string::npos);
}

TEST_CASE("constant CSV features export with 2-bit input words; 1-bit words are refused") {
  // A constant feature needs one code; as a 1-bit word it was taken for the encoded-bits input
  // ("encoder output: value 0 ... is not the decode of any circuit code"), and --input-bits 1
  // failed the same way ("expected 20 x 784 input codes, found 47040").
  const std::string dir = test::temp_dir("hdl_csv_const");
  const std::string exe = test::built_program("difflut-export");
  const Dataset d = write_csv(dir + "/const.csv", 30, 4, 5, [](Generator&) { return 0.5; });
  const FixedPoint fp = derive_fixed_point(d.features_f32());
  CHECK(fp.width == 2);
  CHECK(fp.value(fp.code_of(0.5)) == 0.5);
  CHECK(fp.describe() == "2-bit offset-binary fixed point, value = (code + 1) / 2^1");
  CHECK_THROWS_WITH_AS(derive_fixed_point(d.features_f32(), 1),
                       doctest::Contains("expected --input-bits in [2, 16]"), Error);
  auto net = toy_network(d, 4, 3, MappingKind::random, "dwn", 11);
  save_lut_network(*net, dir + "/c.safetensors");
  test::CommandResult r = test::run_command(exe + " " + dir + "/c.safetensors --csv " + dir +
                                            "/const.csv --out " + dir + "/vc 2>&1");
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("input format: 2-bit offset-binary fixed point") != std::string::npos);
  CHECK(r.last_line() == "mismatches=0 latency_cycles=0");
  r = test::run_command(exe + " " + dir + "/c.safetensors --csv " + dir +
                        "/const.csv --input-bits 1 --out " + dir + "/v1 2>&1");
  CHECK(r.exit_code == 2);
  CHECK(r.output ==
        "difflut-export: error: --input-bits expects an integer in [2, 16], found '1'\n");
  CHECK(!std::filesystem::exists(dir + "/v1"));
}
