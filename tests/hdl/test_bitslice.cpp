// The compiled bit-sliced engine: the program interpreter and every vector path the CPU supports
// give exactly the software model's output words (scores and classes) on random netlists, odd batch
// sizes, short and long samples; compiled networks give the network's own classes and logits for
// every node type and mapping kind, with and without the encoder; bad inputs are refused.
#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "hdl/bitslice_engine.h"
#include "hdl/bitslice_program.h"
#include "hdl/circuit_sim.h"
#include "hdl/compile.h"
#include "hdl/export.h"
#include "hdl/network_export.h"
#include "hdl/optimize.h"
#include "hdl_models.h"
#include "test_util.h"

using namespace difflut;
using namespace difflut::hdl;

namespace {
std::vector<BitsliceIsa> supported_isas() {
  std::vector<BitsliceIsa> v;
  for (BitsliceIsa i : {BitsliceIsa::portable, BitsliceIsa::avx2, BitsliceIsa::avx512}) {
    if (bitslice_isa_supported(i))
      v.push_back(i);
    else
      MESSAGE("inference path " << bitslice_isa_name(i) << " not supported here: not tested");
  }
  return v;
}

std::vector<uint8_t> to_bytes(const std::vector<uint32_t>& codes) {
  return std::vector<uint8_t>(codes.begin(), codes.end());
}

// The interpreter and every engine path agree with simulate() on `codes`.
void check_program(const Circuit& c, const std::vector<uint32_t>& codes, int64_t n) {
  const auto want = simulate(c, codes, n);
  const BitsliceProgram p = compile_bitslice(c);
  const std::vector<uint8_t> bytes = to_bytes(codes);
  CHECK(interpret_bitslice(p, bytes.data(), n) == want);
  const int cls = p.port_index("class_idx");
  for (BitsliceIsa isa : supported_isas()) {
    for (bool jit : {true, false}) {
      if (jit && isa != BitsliceIsa::avx512) continue;
      INFO("path " << bitslice_isa_name(isa) << (jit ? " (machine code)" : "") << ", n = " << n);
      const BitsliceEngine e(p, isa, jit);
      CHECK(e.uses_jit() == jit);
      CHECK(e.run(bytes.data(), n) == want);
      if (cls >= 0) {
        std::vector<int32_t> classes(static_cast<size_t>(n), -1);
        e.predict(bytes.data(), n, classes.data());
        CHECK(std::vector<uint32_t>(classes.begin(), classes.end()) ==
              want[static_cast<size_t>(cls)]);
      }
    }
  }
}
}  // namespace

TEST_CASE(
    "random netlists: interpreter and every vector path equal the software model, odd sizes") {
  // Feature counts below 128 (windows read past the row), between, and far above (several windows,
  // clipped bases); raw codes and encoded bits; LUT fan-ins up to 8.
  const int64_t features[] = {3, 40, 127, 128, 129, 300, 784};
  int run = 0;
  for (int64_t F : features) {
    for (int width : {8, 1}) {
      ++run;
      const Circuit lit =
          test::random_circuit(1000 + static_cast<uint64_t>(run), F, width, run % 3 == 0 ? 8 : 6);
      const Circuit opt = optimize_circuit(lit).circuit;
      for (int64_t n : {1, 63, 1023, 1025, 2049 + 64}) {
        INFO("F = " << F << ", width " << width << ", n = " << n);
        const auto codes = test::random_codes(static_cast<uint64_t>(run * 7 + n), n, F, width);
        check_program(opt, codes, n);
        if (n == 1025) check_program(lit, codes, n);  // the literal netlist compiles too
      }
    }
  }
}

TEST_CASE("hdl models of every node type and lowering compile bit-exactly") {
  std::vector<test::HdlModel> models;
  for (const std::string& name : registered_node_types())
    models.push_back(test::node_type_model(name, 23));
  models.push_back(test::kitchen_sink(3));
  models.push_back(test::tie_model());
  models.push_back(test::learnable_chain(4, 6));
  for (int k = 1; k <= 6; ++k) models.push_back(test::dwn_chain(50 + k, k));
  for (const test::HdlModel& m : models) {
    const Circuit lit = lower_graph(*m.g, m.input, m.output, m.options);
    const Circuit opt = optimize_circuit(lit).circuit;
    const GoldenVectors g = golden_from_graph(opt, *m.g);
    // The graph's own values, then random words.
    CHECK(simulate(opt, g.inputs, m.batch) == g.outputs);
    check_program(opt, g.inputs, m.batch);
    check_program(opt, test::random_codes(9, 1500, lit.input_words(), lit.input_width()), 1500);
  }
}

TEST_CASE(
    "compiled networks give the network's classes and logits: node types, mappings, encoder") {
  const Dataset d = test::toy_dataset(1100, 40, 4, 12);
  for (const std::string& type : registered_node_types()) {
    for (MappingKind first : {MappingKind::learnable, MappingKind::random}) {
      INFO("node type " << type << ", first mapping " << mapping_kind_name(first));
      auto net = test::toy_network(d, 40, type == "difflogic" ? 2 : 4, first, type, 3);
      const Tensor logits = net->logits(d.features_f32());
      const Tensor want_cls = argmax_rows(logits);
      for (bool enc : {true, false}) {
        INFO("encoder " << enc);
        const Circuit lit = lower_lut_network(*net, {.include_encoder = enc});
        const Circuit opt = optimize_circuit(lit).circuit;
        const std::vector<uint32_t> codes = network_input_codes(*net, opt, d);
        const GoldenVectors g = golden_from_values(opt, codes, d.size(), {logits, want_cls});
        const auto sw = simulate(opt, codes, d.size());
        CHECK(sw == g.outputs);
        const BitsliceEngine e(compile_bitslice(opt));
        const std::vector<uint8_t> bytes = to_bytes(codes);
        CHECK(e.run(bytes.data(), d.size()) == g.outputs);
      }
      // The one-call API from raw codes.
      const CompiledNetwork c = compile_network(*net);
      const std::vector<uint32_t> codes = u8_codes(d.features);
      const std::vector<int32_t> cls = c.engine.predict(to_bytes(codes));
      REQUIRE(static_cast<int64_t>(cls.size()) == d.size());
      int64_t same = 0;
      for (int64_t i = 0; i < d.size(); ++i)
        same += cls[static_cast<size_t>(i)] == want_cls.data<int64_t>()[i];
      CHECK(same == d.size());
      CHECK(count_netlist(c.circuit).lut_inputs <= count_netlist(c.literal).lut_inputs);
    }
  }
}

TEST_CASE("machine code under register pressure: wide LUT stages with long-lived values") {
  // About 300 comparators feed 400+ LUT6 nodes whose outputs stay live until a second layer (of
  // 200+) reads them in reverse order: far more live values than the 32 registers, so spills,
  // reloads and memory operands all occur.
  for (uint64_t seed : {5u, 6u}) {
    const Circuit lit = test::random_circuit(seed, 150, 8, 6, 400);
    Circuit c = lit;
    for (Stage& st : c.stages)
      if (st.kind == StageKind::wires && st.name == "map1")
        std::reverse(st.index.begin(), st.index.end());
    c.validate();
    check_program(optimize_circuit(c).circuit, test::random_codes(seed, 3000, 150, 8), 3000);
  }
  if (bitslice_isa_supported(BitsliceIsa::avx512)) {
    const BitsliceEngine e(compile_bitslice(test::random_circuit(8, 50, 8)), BitsliceIsa::avx512);
    CHECK(e.uses_jit());
    CHECK(e.describe().find("machine code") != std::string::npos);
  }
}

TEST_CASE("bad input to the engine: wrong sizes, codes wider than the input, unknown paths") {
  const Circuit c = optimize_circuit(test::random_circuit(77, 10, 1)).circuit;
  const BitsliceEngine e(compile_bitslice(c), BitsliceIsa::portable);
  std::vector<uint8_t> codes(25, 0);  // not a multiple of 10
  CHECK_THROWS_WITH_AS(e.predict(codes), doctest::Contains("not a multiple of 10"), Error);
  codes.assign(30, 0);
  codes[17] = 2;  // the circuit reads encoded bits
  CHECK_THROWS_WITH_AS(e.predict(codes), doctest::Contains("does not fit 1 bit"), Error);
  CHECK_THROWS_WITH_AS(
      parse_bitslice_isa("sse9"),
      doctest::Contains("expected an inference path auto, avx512, avx2 or portable"), Error);
  Circuit wide = test::random_circuit(78, 4, 8);
  wide.stages[0].width = 9;
  wide.stages[0].decode.resize(512);
  for (size_t v = 0; v < 512; ++v) wide.stages[0].decode[v] = static_cast<double>(v);
  CHECK_THROWS_WITH_AS(compile_bitslice(wide), doctest::Contains("at most 8 bits"), Error);
}

TEST_CASE("DIFFLUT_INFER_ISA forces a path and refuses an unknown one") {
  const char* old = std::getenv("DIFFLUT_INFER_ISA");
  const std::string saved = old ? old : "";
  setenv("DIFFLUT_INFER_ISA", "portable", 1);
  CHECK(bitslice_isa_from_env() == BitsliceIsa::portable);
  setenv("DIFFLUT_INFER_ISA", "avx1024", 1);
  CHECK_THROWS_WITH_AS(bitslice_isa_from_env(), doctest::Contains("DIFFLUT_INFER_ISA"), Error);
  if (old)
    setenv("DIFFLUT_INFER_ISA", saved.c_str(), 1);
  else
    unsetenv("DIFFLUT_INFER_ISA");
  CHECK(bitslice_isa_from_env() == best_bitslice_isa());
}
