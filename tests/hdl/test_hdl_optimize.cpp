// Netlist optimisation: every pass is exact (the software model of the optimised circuit gives the
// same output words as the literal one on the graphs' own batches and on random input words, for
// every model shape the lowering produces and for random netlists), every count only shrinks, and
// each rewrite does what it says on a hand-made circuit.
#include <string>
#include <vector>

#include "hdl/circuit_sim.h"
#include "hdl/export.h"
#include "hdl/lower.h"
#include "hdl/optimize.h"
#include "hdl_models.h"
#include "test_util.h"

using namespace difflut;
using namespace difflut::hdl;
using difflut::test::HdlModel;

namespace {
void check_counts_shrink(const OptimizedCircuit& o, const Circuit& literal) {
  const NetlistCounts a = count_netlist(literal), b = count_netlist(o.circuit);
  CHECK(b.comparators <= a.comparators);
  CHECK(b.lut_nodes <= a.lut_nodes);
  CHECK(b.lut_inputs <= a.lut_inputs);
  CHECK(b.popcount_inputs <= a.popcount_inputs);
  REQUIRE(o.passes.size() == 3);
  CHECK(o.passes[0].pass == "constants");
  CHECK(o.passes[1].pass == "duplicates");
  CHECK(o.passes[2].pass == "dead logic");
  CHECK(o.passes[0].before.lut_nodes == a.lut_nodes);
  CHECK(o.passes[0].before.comparators == a.comparators);
  for (const PassSummary& p : o.passes) {
    CHECK(p.after.lut_inputs <= p.before.lut_inputs);
    CHECK(p.after.comparators <= p.before.comparators);
  }
  // The rebuilt circuit holds exactly what the last pass kept.
  CHECK(b.lut_nodes == o.passes[2].after.lut_nodes);
  CHECK(b.lut_inputs == o.passes[2].after.lut_inputs);
  CHECK(b.comparators == o.passes[2].after.comparators);
}

void check_same_outputs(const Circuit& a, const Circuit& b, const std::vector<uint32_t>& codes,
                        int64_t n) {
  const auto x = simulate(a, codes, n);
  const auto y = simulate(b, codes, n);
  REQUIRE(x.size() == y.size());
  for (size_t p = 0; p < x.size(); ++p) CHECK(x[p] == y[p]);
}

void check_model(const HdlModel& m) {
  const Circuit lit = lower_graph(*m.g, m.input, m.output, m.options);
  const OptimizedCircuit o = optimize_circuit(lit);
  check_counts_shrink(o, lit);
  // On the graph's own batch: the ports still equal the graph's values.
  for (const StageCheck& s : check_against_graph(o.circuit, *m.g)) {
    INFO("stage " << s.name);
    CHECK(s.mismatches == 0);
  }
  const GoldenVectors g = golden_from_graph(o.circuit, *m.g);
  check_same_outputs(lit, o.circuit, g.inputs, m.batch);
  for (int64_t n : {1, 7, 300}) {
    check_same_outputs(
        lit, o.circuit,
        test::random_codes(static_cast<uint64_t>(n), n, lit.input_words(), lit.input_width()), n);
  }
}
}  // namespace

TEST_CASE("optimised dwn chains (k = 1..6) and learnable mappings give the literal outputs") {
  for (int k = 1; k <= 6; ++k) {
    INFO("k = " << k);
    check_model(test::dwn_chain(300 + k, k));
  }
  check_model(test::learnable_chain(31, 6));
  check_model(test::learnable_chain(32, 3));
}

TEST_CASE("optimised netlists of every registered node type give the literal outputs") {
  for (const std::string& name : registered_node_types()) {
    INFO("node type " << name);
    check_model(test::node_type_model(name, 17));
  }
}

TEST_CASE(
    "optimised netlists of every lowering and of encoded-bit inputs give the literal outputs") {
  check_model(test::kitchen_sink(5));
  check_model(test::tie_model());
}

TEST_CASE("random netlists: optimisation is exact on random words, odd batch sizes") {
  for (uint64_t seed = 1; seed <= 24; ++seed) {
    const int width = seed % 3 == 0 ? 1 : 8;
    const Circuit lit = test::random_circuit(seed, 5 + static_cast<int64_t>(seed) * 13, width,
                                             seed % 4 == 0 ? 8 : 6);
    INFO("seed " << seed << ", width " << width);
    const OptimizedCircuit o = optimize_circuit(lit);
    check_counts_shrink(o, lit);
    for (int64_t n : {1, 63, 257}) {
      check_same_outputs(
          lit, o.circuit,
          test::random_codes(seed * 100 + static_cast<uint64_t>(n), n, lit.input_words(), width),
          n);
    }
  }
}

TEST_CASE(
    "each rewrite on a hand-made netlist: constants, ignored and repeated inputs, duplicates, "
    "dead comparators") {
  // x: 3 words -> comparators c0: x0 >= 10, c1: x0 >= 10 (duplicate), c2: x1 >= 0 (always 1),
  // c3: x2 >= 256 (never), c4: x2 >= 7 (read by nothing the outputs need), c5: x1 >= 3.
  Circuit c;
  Stage in{.kind = StageKind::input, .name = "x", .size = 3, .width = 8};
  for (int v = 0; v < 256; ++v) in.decode.push_back(v);
  c.stages.push_back(in);
  Stage cmp{.kind = StageKind::compare, .name = "cmp", .source = 0, .size = 6, .width = 1};
  cmp.decode = {0, 1};
  cmp.index = {0, 0, 1, 2, 2, 1};
  cmp.threshold = {10, 10, 0, 256, 7, 3};
  cmp.threshold_value.assign(6, 0.0);
  c.stages.push_back(cmp);
  // Five LUT2 nodes: n0 = c0 & c5; n1 = c1 & c5 (duplicate of n0 once c1 = c0); n2 = c2 & c3
  // (constant 0); n3 = c0 ^ c0 read twice (a repeated input: constant 0); n4 = c5 & c2 (c2 = 1:
  // just c5, one input). n5 reads c4 but is dead (nothing reads it).
  Stage w{.kind = StageKind::wires, .name = "map", .source = 1, .size = 12, .width = 1};
  w.decode = {0, 1};
  w.index = {0, 5, 1, 5, 2, 3, 0, 0, 5, 2, 4, 4};
  c.stages.push_back(w);
  Stage lut{.kind = StageKind::lut, .name = "lut", .source = 2, .size = 6, .width = 1};
  lut.decode = {0, 1};
  lut.k = 2;
  const std::vector<uint8_t> and2 = {0, 0, 0, 1}, xor2 = {0, 1, 1, 0};
  for (const auto* t : {&and2, &and2, &and2, &xor2, &and2, &and2})
    lut.table.insert(lut.table.end(), t->begin(), t->end());
  c.stages.push_back(lut);
  Stage pc{.kind = StageKind::popcount, .name = "scores", .source = 3, .size = 2, .width = 3};
  pc.group_begin = {0, 2};
  pc.group_end = {2, 5};  // node 5 is read by no group: dead
  for (int v = 0; v < 8; ++v) pc.decode.push_back(v);
  c.stages.push_back(pc);
  Stage am{.kind = StageKind::argmax, .name = "cls", .source = 4, .size = 1, .width = 1};
  am.decode = {0, 1};
  c.stages.push_back(am);
  c.outputs = {{"scores", 4}, {"class_idx", 5}};
  c.validate();

  const OptimizedCircuit o = optimize_circuit(c);
  for (const PassSummary& p : o.passes) MESSAGE(p.str());
  const NetlistCounts n = count_netlist(o.circuit);
  CHECK(n.comparators == 2);  // x0 >= 10 and x1 >= 3
  CHECK(n.lut_nodes == 2);    // n0 (= n1) and n4 (a LUT1: just c5)
  CHECK(n.lut_inputs == 3);
  CHECK(n.popcount_inputs == 3);  // group 0: n0, n0; group 1: n4 (n2 and n3 folded to 0)
  // Constants pass: c2, c3 are constants; n2, n3 constant; n4 loses an input.
  CHECK(o.passes[0].after.comparators == 4);
  CHECK(o.passes[0].after.lut_nodes == 4);
  // Duplicates: c1 = c0, then n1 = n0.
  CHECK(o.passes[1].after.comparators == 3);
  CHECK(o.passes[1].after.lut_nodes == 3);
  // Dead logic: c4 and n5.
  CHECK(o.passes[2].after.comparators == 2);
  CHECK(o.passes[2].after.lut_nodes == 2);
  // Exhaustive over the two codes that matter, through both circuits.
  std::vector<uint32_t> codes;
  for (uint32_t x0 : {0u, 9u, 10u, 255u})
    for (uint32_t x1 : {0u, 2u, 3u, 200u})
      for (uint32_t x2 : {0u, 6u, 7u, 255u}) codes.insert(codes.end(), {x0, x1, x2});
  const int64_t N = static_cast<int64_t>(codes.size() / 3);
  CHECK(simulate(c, codes, N) == simulate(o.circuit, codes, N));
  // The rebuilt LUT stage gives each node its own fan-in.
  bool saw_lut1 = false;
  for (const Stage& s : o.circuit.stages)
    if (s.kind == StageKind::lut)
      for (int64_t j = 0; j < s.size; ++j) saw_lut1 = saw_lut1 || s.lut_fanin(j) == 1;
  CHECK(saw_lut1);
}
