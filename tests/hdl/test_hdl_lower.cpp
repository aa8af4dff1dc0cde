// Lowering and the software model of the circuit, without external tools: every stage of every
// test model agrees with the graph's own values; comparators are exact; the tie rule; errors.
#include <string>
#include <vector>

#include "encoders/thermometer.h"
#include "hdl/circuit_sim.h"
#include "hdl/export.h"
#include "hdl/lower.h"
#include "hdl/testbench.h"
#include "hdl/verilog.h"
#include "hdl_models.h"
#include "test_util.h"

using namespace difflut;
using namespace difflut::hdl;
using difflut::test::HdlModel;

namespace {
void check_all_stages(const HdlModel& m, const Circuit& c) {
  const std::vector<StageCheck> checks = check_against_graph(c, *m.g);
  REQUIRE(!checks.empty());
  for (const StageCheck& s : checks) {
    INFO("stage " << s.name);
    CHECK(s.words > 0);
    CHECK(s.mismatches == 0);
  }
}
}  // namespace

TEST_CASE("every stage of a dwn chain matches the graph bit for bit, k = 1..6") {
  for (int k = 1; k <= 6; ++k) {
    INFO("k = " << k);
    HdlModel m = test::dwn_chain(100 + k, k);
    Circuit c = lower_graph(*m.g, m.input, m.output, m.options);
    // input, thermometer, map1, lut, cyclic map, lut, group_sum, argmax
    REQUIRE(c.stages.size() == 8);
    CHECK(c.stages[1].kind == StageKind::compare);
    CHECK(c.stages[2].kind == StageKind::wires);
    CHECK(c.stages[3].kind == StageKind::lut);
    CHECK(c.stages[3].k == k);
    CHECK(c.stages[6].kind == StageKind::popcount);
    CHECK(c.stages[7].kind == StageKind::argmax);
    CHECK(c.lut_nodes() == 12 + 7);
    check_all_stages(m, c);
  }
}

TEST_CASE("every registered node type lowers to its truth table, bit-exact against the graph") {
  const std::vector<std::string> names = registered_node_types();
  CHECK(names.size() >= 8);  // dwn and the seven built-in DiffLUT types
  for (const std::string& name : names) {
    INFO("node type " << name);
    HdlModel m = test::node_type_model(name, 80, 64);
    Circuit c = lower_graph(*m.g, m.input, m.output, m.options);
    REQUIRE(c.stages.size() == 8);
    CHECK(c.stages[3].kind == StageKind::lut);
    CHECK(c.stages[3].k == (name == "difflogic" ? 2 : 3));
    check_all_stages(m, c);
  }
}

TEST_CASE("a learnable mapping lowers to wires at argmax_i W[i, slot], ties to the first input") {
  for (int k : {2, 6}) {
    HdlModel m = test::learnable_chain(60 + k, k);
    Circuit c = lower_graph(*m.g, m.input, m.output, m.options);
    const Stage& w = c.stages[2];
    REQUIRE(w.kind == StageKind::wires);
    CHECK(w.op == "learnable_mapping");
    const Tensor idx = learnable_mapping_argmax(m.g->node(m.g->node(w.node_id).inputs[1]).value);
    CHECK(w.index == idx.to(DType::i64).to_vector<int64_t>());
    for (int64_t s = 0; s < w.size; s += 3) CHECK(w.index[static_cast<size_t>(s)] == s % 12);
    check_all_stages(m, c);
  }
}

TEST_CASE("every lowering in one model (reshape, slice, custom node types, threshold_ste, padding)") {
  HdlModel m = test::kitchen_sink(7);
  Circuit c = lower_graph(*m.g, m.input, m.output, m.options);
  check_all_stages(m, c);
  // The graph stops at the scores; the export appends the argmax and exposes both.
  REQUIRE(c.outputs.size() == 2);
  CHECK(c.outputs[0].port == "scores");
  CHECK(c.outputs[1].port == "class_idx");
  CHECK(c.stages.back().kind == StageKind::argmax);
  CHECK(c.stages.back().node_id == -1);
  // The padded last group counts 2 bits.
  const Stage& pc = c.stages[static_cast<size_t>(c.outputs[0].stage)];
  CHECK(pc.group_begin == std::vector<int64_t>{0, 3, 6});
  CHECK(pc.group_end == std::vector<int64_t>{3, 6, 8});
  // The graph's own argmax of the scores agrees with the circuit's class output.
  const GoldenVectors gv = golden_from_graph(c, *m.g);
  const auto out = simulate(c, gv.inputs, gv.count);
  CHECK(out[0] == gv.outputs[0]);
  CHECK(out[1] == gv.outputs[1]);
}

TEST_CASE("comparator thresholds are exact for every 8-bit code, including thresholds at codes") {
  const InputEncoding enc = InputEncoding::u8_unit();
  Generator gen(3);
  std::vector<float> thresholds = {-1.0f, 0.0f, 1.0f, 2.0f, 100.0f / 255.0f, 254.0f / 255.0f};
  for (int i = 0; i < 40; ++i) thresholds.push_back(static_cast<float>(gen.below(1 << 16)) / 65536.0f);
  const int64_t F = static_cast<int64_t>(thresholds.size());
  NoGradGuard ng;
  Graph g;
  Tensor x = Tensor::empty({256, F}, DType::f32);
  for (int v = 0; v < 256; ++v)
    for (int64_t f = 0; f < F; ++f) x.data<float>()[v * F + f] = static_cast<float>(v) / 255.0f;
  Var in = g.input(x, "pixels");
  Var bits = test::thermometer_node(g, in, Tensor::from_vector<float>(thresholds, {F, 1}));
  Circuit c = lower_graph(g, in.id, bits.id);
  const Stage& cmp = c.stages[1];
  // Oracle: the kernel's rule x > t in f32, for all 256 codes.
  for (int64_t f = 0; f < F; ++f) {
    const float t = thresholds[static_cast<size_t>(f)];
    for (int v = 0; v < 256; ++v) {
      const bool sw = static_cast<float>(v) / 255.0f > t;
      const bool hw = static_cast<uint32_t>(v) >= cmp.threshold[static_cast<size_t>(f)];
      CHECK(sw == hw);
    }
  }
  CHECK(cmp.threshold[4] == 101);  // t = 100/255 exactly: 100 is not above it, 101 is
  CHECK(cmp.threshold[0] == 0);    // always true
  CHECK(cmp.threshold[2] == 256);  // x <= 1 is never above 1
  for (const StageCheck& s : check_against_graph(c, g)) CHECK(s.mismatches == 0);
}

TEST_CASE("argmax ties go to the lowest index in the circuit, as in the argmax op") {
  HdlModel m = test::tie_model();
  Circuit c = lower_graph(*m.g, m.input, m.output, m.options);
  CHECK(c.input_port == "bits");
  check_all_stages(m, c);
  const GoldenVectors gv = golden_from_graph(c, *m.g);
  const auto out = simulate(c, gv.inputs, gv.count);
  int ties = 0;
  for (int b = 0; b < 64; ++b) {
    const uint32_t* s = out[0].data() + b * 3;
    const uint32_t best = std::max({s[0], s[1], s[2]});
    uint32_t first = 0;
    while (s[first] != best) ++first;
    CHECK(out[1][static_cast<size_t>(b)] == first);
    ties += (s[0] == best) + (s[1] == best) + (s[2] == best) > 1;
  }
  CHECK(ties > 10);
  CHECK(out[1] == gv.outputs[1]);
}

TEST_CASE("an op without a lowering stops the export, naming the node and the op") {
  NoGradGuard ng;
  Generator gen(1);
  Graph g;
  Var x = g.input(test::random_pixels(4, 3, gen), "pixels");
  Var bits = test::thermometer_node(g, x, test::test_thresholds(3, 2, gen));
  Var e = difflut::exp(bits);
  Var y = group_sum(threshold_ste(e, 2.0), 2, 1.0);
  const std::string expected =
      "hdl: node '" + g.node(e.id).name + "' (op exp) has no Verilog lowering";
  CHECK_THROWS_WITH_AS(lower_graph(g, x.id, y.id), doctest::Contains(expected.c_str()), Error);
}

TEST_CASE("lowering rejects non-bit LUT inputs, training-mode custom nodes and unrelated outputs") {
  NoGradGuard ng;
  Generator gen(2);
  Graph g;
  Var x = g.input(test::random_pixels(4, 6, gen), "pixels");
  Var l = dwn_lut(x, g.input(test::random_table(3, 2, gen), "t"), 2);
  CHECK_THROWS_WITH_AS(lower_graph(g, x.id, l.id), doctest::Contains("not bits"), Error);

  Var bits = test::thermometer_node(g, x, test::test_thresholds(6, 1, gen));
  Var c = custom_lut(bits, g.input(Tensor::randn({2, 4}, gen), "p"), test::soft_majority_type(),
                     3, /*training=*/true);
  CHECK_THROWS_WITH_AS(lower_graph(g, x.id, c.id), doctest::Contains("eval mode"), Error);

  Var other = g.input(Tensor::zeros({4, 2}), "other");
  Var s = group_sum(other, 2, 1.0);
  CHECK_THROWS_WITH_AS(lower_graph(g, x.id, s.id), doctest::Contains("does not depend"), Error);
}

TEST_CASE("pipeline registers go after every N logic layers and set the latency") {
  HdlModel m = test::dwn_chain(5, 3);
  Circuit c = lower_graph(*m.g, m.input, m.output, m.options);
  // Logic layers: thermometer, lut, lut, popcount, argmax (wires are not layers).
  CHECK(pipeline_stages(c, 0).empty());
  CHECK(pipeline_stages(c, 1) == std::vector<int>{1, 3, 5, 6, 7});
  CHECK(pipeline_stages(c, 2) == std::vector<int>{3, 6});
  CHECK(write_verilog(c, {.top = "m", .pipeline_every = 1}).latency == 5);
  CHECK(write_verilog(c, {.top = "m", .pipeline_every = 2}).latency == 2);
  CHECK(write_verilog(c, {.top = "m", .pipeline_every = 9}).latency == 0);
  CHECK_FALSE(write_verilog(c).has_clock());
}

TEST_CASE("LUT modules carry each node's truth table with address bit l = input l") {
  // One node, k = 2, table bit a set only for a = 1 (input 0 high, input 1 low): asymmetric.
  NoGradGuard ng;
  Graph g;
  Tensor x = Tensor::from_vector<float>({0, 0, 1, 0, 0, 1, 1, 1}, {4, 2});
  Var in = g.input(x, "bits_in");
  Var l = dwn_lut(in, g.input(Tensor::from_vector<float>({-1, 1, -1, -1}, {1, 4}), "t"), 2);
  LowerOptions opt;
  opt.input = InputEncoding::bits();
  Circuit c = lower_graph(g, in.id, l.id, opt);
  CHECK(c.stages[1].table == std::vector<uint8_t>{0, 1, 0, 0});
  CHECK(l.value().to_vector<float>() == std::vector<float>{0, 1, 0, 0});
  const VerilogDesign d = write_verilog(c, {.top = "t"});
  const std::string& text = d.files[0].text;
  CHECK(text.find("// node 0: T_0 = 4'h2") != std::string::npos);
  CHECK(text.find("assign y0 = (x1 ? 1'b0 : x0);") != std::string::npos);
  for (const StageCheck& s : check_against_graph(c, g)) CHECK(s.mismatches == 0);
}

TEST_CASE("golden vectors pack the input then each output port, least significant bit first") {
  HdlModel m = test::tie_model();
  Circuit c = lower_graph(*m.g, m.input, m.output, m.options);
  const GoldenVectors gv = golden_from_graph(c, *m.g);
  const std::string hex = vectors_hex(c, gv);
  // Vector 5: bits 101000 (b = 5 -> bits 0 and 2 set) = input 0b000101; scores 1, 1, 0 (2 bits
  // each), class 0 (2 bits): 0 00 01 01 000101 -> 0b0000101000101 = 0x145, 4 hex digits (14 bits).
  std::vector<std::string> lines;
  size_t p = 0;
  while (p < hex.size()) {
    const size_t q = hex.find('\n', p);
    lines.push_back(hex.substr(p, q - p));
    p = q + 1;
  }
  REQUIRE(lines.size() == 64);
  CHECK(lines[5] == "0145");
}

TEST_CASE("level codes lower exactly on every 8-bit code; wide codes become parity trees of small LUTs") {
  // Five pixel features: random ones, a constant one (min == max) and one of two values. The batch
  // holds all 256 codes of every feature, so check_against_graph compares every reachable input.
  Generator gen(12);
  const int64_t F = 5;
  std::vector<float> fit;
  for (int i = 0; i < 40; ++i)
    for (int64_t f = 0; f < F; ++f)
      fit.push_back(f == 3 ? 0.5f : f == 4 ? (i % 2 ? 1.0f : 0.2f) : static_cast<float>(gen.below(256)) / 255.0f);
  Tensor x = Tensor::empty({256, F}, DType::f32);
  for (int v = 0; v < 256; ++v)
    for (int64_t f = 0; f < F; ++f) x.data<float>()[v * F + f] = static_cast<float>(v) / 255.0f;
  for (const std::string name : {"binary", "gray", "onehot", "sign_magnitude", "logarithmic"})
    for (int nb : {3, 8}) {
      CAPTURE(name);
      CAPTURE(nb);
      ThermometerEncoder e(name, nb);
      e.fit(Tensor::from_vector(fit, {40, F}));
      NoGradGuard ng;
      Graph g;
      Var in = g.input(x, "pixels");
      Var bits = e.encode(g, in);
      Circuit c = lower_graph(g, in.id, bits.id);
      size_t lut_stages = 0;
      for (const Stage& s : c.stages)
        if (s.kind == StageKind::lut) {
          ++lut_stages;
          CHECK(s.k <= 8);
        }
      // onehot's bits change at 2 boundaries, 3-bit codes at <= 7: one LUT per bit; 8-bit binary
      // (255 boundaries) needs a tree of LUT6 levels.
      CHECK(lut_stages == (name == "onehot" || nb == 3 ? 1u : name == "gray" ? 3u : 4u));
      const std::vector<StageCheck> checks = check_against_graph(c, g);
      REQUIRE(!checks.empty());
      for (const StageCheck& s : checks) CHECK(s.mismatches == 0);
    }
}
