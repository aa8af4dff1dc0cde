// Generated Verilog in the real tools: verilator --lint-only -Wall is clean, the self-checking
// testbench reports 0 mismatches in Icarus and Verilator (combinational and pipelined), it does
// report a corrupted vector, and Yosys maps a small model with at most one LUT6 per LUT node.
// The CI test command installs verilator, iverilog and yosys from Debian; without them these cases
// fail with a message naming the missing tool.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "hdl/export.h"
#include "hdl/lower.h"
#include "hdl/optimize.h"
#include "hdl/tools.h"
#include "hdl_models.h"
#include "hdl_tools.h"
#include "test_util.h"

using namespace difflut;
using namespace difflut::hdl;
using difflut::test::HdlModel;

namespace {
void require_tools() { test::require_hdl_tools(); }

struct Exported {
  Circuit circuit;
  ExportedDesign e;
};

Exported export_model(const HdlModel& m, const std::string& tag, int pipeline_every,
                      bool optimize = false) {
  Exported x;
  x.circuit = lower_graph(*m.g, m.input, m.output, m.options);
  if (optimize) x.circuit = optimize_circuit(x.circuit).circuit;
  const GoldenVectors gv = golden_from_graph(x.circuit, *m.g);
  x.e = export_design(x.circuit, {.top = "dut_" + tag, .pipeline_every = pipeline_every},
                      test::temp_dir("hdl_" + tag), &gv);
  return x;
}

void lint_clean(const ExportedDesign& e) {
  const LintResult lint = verilator_lint(e.dir, e.design);
  INFO(lint.output);
  CHECK(lint.clean);
}

void sim_clean(const ExportedDesign& e, Simulator s, int64_t vectors) {
  const SimRun r = run_testbench(e.dir, e.design, e.testbench_file, s);
  INFO(simulator_name(s) << ": " << r.output);
  CHECK(r.vectors == vectors);
  CHECK(r.mismatches == 0);
}
}  // namespace

TEST_CASE("dwn chains with k = 1..6 lint clean and simulate with 0 mismatches in Icarus") {
  require_tools();
  for (int k = 1; k <= 6; ++k) {
    INFO("k = " << k);
    HdlModel m = test::dwn_chain(200 + k, k);
    const int pipe = k % 3;  // 0 (combinational), 1 and 2 across the sweep
    Exported x = export_model(m, "chain_k" + std::to_string(k), pipe);
    CHECK(x.e.design.latency == (pipe == 0 ? 0 : 5 / pipe));
    lint_clean(x.e);
    sim_clean(x.e, Simulator::icarus, m.batch);
  }
}

TEST_CASE("every registered node type simulates with 0 mismatches in Icarus") {
  require_tools();
  for (const std::string& name : registered_node_types()) {
    INFO("node type " << name);
    HdlModel m = test::node_type_model(name, 90, 48);
    Exported x = export_model(m, "node_" + name, name.size() % 2);
    lint_clean(x.e);
    sim_clean(x.e, Simulator::icarus, m.batch);
  }
}

TEST_CASE("a learnable-mapping model simulates with 0 mismatches in Icarus") {
  require_tools();
  HdlModel m = test::learnable_chain(71, 6);
  Exported x = export_model(m, "learnable", 1);
  lint_clean(x.e);
  sim_clean(x.e, Simulator::icarus, m.batch);
}

TEST_CASE(
    "every lowering in one model: lint clean, 0 mismatches in Verilator and Icarus, "
    "combinational and pipelined") {
  require_tools();
  HdlModel m = test::kitchen_sink(11);
  for (int pipe : {0, 1}) {
    INFO("pipeline_every = " << pipe);
    Exported x = export_model(m, "sink_p" + std::to_string(pipe), pipe);
    lint_clean(x.e);
    sim_clean(x.e, Simulator::verilator, m.batch);
    sim_clean(x.e, Simulator::icarus, m.batch);
  }
}

TEST_CASE(
    "optimised netlists (per-node fan-in, popcount offsets) lint clean and simulate with "
    "0 mismatches, combinational and pipelined") {
  require_tools();
  std::vector<std::pair<std::string, HdlModel>> models;
  models.emplace_back("sink", test::kitchen_sink(12));
  models.emplace_back("learn", test::learnable_chain(72, 6));
  models.emplace_back("ties", test::tie_model());
  for (const std::string& name : {std::string("hybrid"), std::string("difflogic")})
    models.emplace_back(name, test::node_type_model(name, 91, 40));
  for (size_t i = 0; i < models.size(); ++i) {
    INFO("model " << models[i].first);
    const int pipe = static_cast<int>(i % 2);
    Exported x = export_model(models[i].second, "opt_" + models[i].first, pipe, true);
    lint_clean(x.e);
    sim_clean(x.e, i == 0 ? Simulator::verilator : Simulator::icarus, models[i].second.batch);
  }
}

TEST_CASE(
    "GroupSum groups over 1024 bits get one tree module per group size: lint clean, 0 "
    "mismatches combinational and pipelined, Yosys counts each tree once per instance") {
  require_tools();
  // 3301 LUT outputs in 3 groups: 1101, 1101 and 1099 bits, so two tree modules, one used twice.
  HdlModel m = test::dwn_chain(301, 2, 24, 5, 4, 12, 3301, 3);
  for (int pipe : {0, 2}) {
    INFO("pipeline_every = " << pipe);
    Exported x = export_model(m, "widepop_p" + std::to_string(pipe), pipe);
    std::string all;
    for (const VerilogFile& f : x.e.design.files) all += f.text;
    CHECK(all.find("_tree1101 (") != std::string::npos);
    CHECK(all.find("_tree1099 (") != std::string::npos);
    CHECK(all.find("_tree1100") == std::string::npos);
    lint_clean(x.e);
    sim_clean(x.e, Simulator::icarus, m.batch);
    if (pipe != 0) continue;
    const SynthReport r = run_yosys(x.e.dir, x.e.design, 6, false, false);
    int64_t total = 0, tree1101 = 0, tree1099 = 0;
    for (const ModuleCells& mc : r.modules) {
      const bool t1101 =
          mc.module.size() > 9 && mc.module.substr(mc.module.size() - 9) == "_tree1101";
      const bool t1099 =
          mc.module.size() > 9 && mc.module.substr(mc.module.size() - 9) == "_tree1099";
      if (t1101) tree1101 = mc.luts;
      if (t1099) tree1099 = mc.luts;
      total += (t1101 ? 2 : 1) * mc.luts;
    }
    // A full-adder tree maps to about 1.4 LUT6 per input bit (emit_popcount's comment).
    CHECK(tree1101 > 500);
    CHECK(tree1099 > 500);
    CHECK(r.luts == total);
    // The popcount stage's own count with its trees (what difflut-export reports as "popcount").
    std::string pop;
    for (size_t i = 1; i < x.circuit.stages.size(); ++i)
      if (x.circuit.stages[i].kind == StageKind::popcount) pop = x.e.design.stage_module[i];
    int64_t own = -1;
    for (const ModuleCells& mc : r.modules)
      if (mc.module == pop) own = mc.luts;
    REQUIRE(own >= 0);
    CHECK(hierarchy_total(r, pop).luts == own + 2 * tree1101 + tree1099);
  }
}

TEST_CASE("the Verilog argmax gives ties to the lowest index (every 6-bit pattern)") {
  require_tools();
  HdlModel m = test::tie_model();
  for (int pipe : {0, 2}) {
    Exported x = export_model(m, "ties_p" + std::to_string(pipe), pipe);
    lint_clean(x.e);
    sim_clean(x.e, Simulator::icarus, 64);
  }
}

TEST_CASE("the testbench reports a corrupted golden vector as a mismatch") {
  require_tools();
  HdlModel m = test::dwn_chain(31, 4);
  Circuit c = lower_graph(*m.g, m.input, m.output, m.options);
  GoldenVectors gv = golden_from_graph(c, *m.g);
  gv.outputs[1][7] = (gv.outputs[1][7] + 1) % 3;  // vector 7's class
  gv.outputs[0][3 * 20] ^= 1;                     // vector 20's first score
  for (int pipe : {0, 1}) {
    ExportedDesign e = export_design(c, {.top = "dut_bad", .pipeline_every = pipe},
                                     test::temp_dir("hdl_bad" + std::to_string(pipe)), &gv);
    const SimRun r = run_testbench(e.dir, e.design, e.testbench_file, Simulator::icarus);
    INFO(r.output);
    CHECK(r.mismatches == 2);
    CHECK(r.output.find("mismatch at vector 7:") != std::string::npos);
    CHECK(r.output.find("mismatch at vector 20:") != std::string::npos);
  }
}

TEST_CASE(
    "yosys maps a small model: LUT layers take at most one LUT6 per node; registers only "
    "when pipelined") {
  require_tools();
  HdlModel m = test::dwn_chain(41, 6, 8, 5, 4, 24, 12, 3, 0.5);
  for (int pipe : {0, 1}) {
    INFO("pipeline_every = " << pipe);
    Exported x = export_model(m, "synth_p" + std::to_string(pipe), pipe);
    const SynthReport r = run_yosys(x.e.dir, x.e.design);
    int64_t lut_layer_luts = 0;
    for (size_t s = 1; s < x.circuit.stages.size(); ++s) {
      const Stage& st = x.circuit.stages[s];
      if (st.kind != StageKind::lut) continue;
      for (const ModuleCells& mc : r.modules)
        if (mc.module == x.e.design.stage_module[s]) {
          CHECK(mc.luts <= st.size);
          CHECK(mc.luts > 0);
          lut_layer_luts += mc.luts;
        }
    }
    CHECK(lut_layer_luts > 0);
    CHECK(r.luts >= lut_layer_luts);
    if (pipe == 0) CHECK(r.ffs == 0);
    // Pipelined: every stage output bit registered once, plus the scores' alignment delay.
    if (pipe == 1) CHECK(r.ffs > 0);
  }
}

TEST_CASE("yosys stat parsing: per-module counts and the hierarchy total") {
  const std::string text = R"(
=== top_a ===

   Number of wires:                 10
   Number of cells:                  5
     $lut                            4
     $_DFF_P_                        1

=== top ===

   Number of cells:                  3
     $_DFF_P_                        2
     top_a                           1

=== design hierarchy ===

   top                               1
     top_a                           1

   Number of wires:                 20
   Number of cells:                  7
     $_DFF_P_                        3
     $lut                            4
)";
  const SynthReport r = parse_yosys_stat(text, "top");
  REQUIRE(r.modules.size() == 2);
  CHECK(r.modules[0].module == "top_a");
  CHECK(r.modules[0].luts == 4);
  CHECK(r.modules[0].ffs == 1);
  CHECK(r.modules[1].ffs == 2);
  CHECK(r.modules[0].instances.empty());
  CHECK(r.modules[1].instances == std::vector<std::pair<std::string, int64_t>>{{"top_a", 1}});
  CHECK(r.luts == 4);
  CHECK(r.ffs == 3);
}

TEST_CASE("a Yosys run killed without a word (the out-of-memory killer) is named, not garbled") {
  // A stand-in `yosys` first on PATH that SIGKILLs itself, as the OOM killer does to a Yosys run
  // over a module too large for the machine: no output, shell status 137.
  const std::string dir = test::temp_dir("hdl_killed_yosys");
  const std::string bin = dir + "/bin";
  std::filesystem::create_directories(bin);
  {
    std::ofstream fake(bin + "/yosys");
    fake << "#!/bin/sh\nkill -9 $$\n";
  }
  std::filesystem::permissions(bin + "/yosys", std::filesystem::perms::owner_all);
  const char* old_path = std::getenv("PATH");
  const std::string saved = old_path ? old_path : "";
  setenv("PATH", (bin + ":" + saved).c_str(), 1);
  VerilogDesign d;
  d.top = "t";
  d.stage_module = {""};
  d.files = {
      {"t.v", "module t (\n  input wire a,\n  output wire y\n);\n  assign y = a;\nendmodule\n"}};
  save_files(d.files, dir);
  std::string message;
  try {
    run_yosys(dir, d);
  } catch (const std::exception& e) {
    message = e.what();
  }
  setenv("PATH", saved.c_str(), 1);
  INFO(message);
  CHECK(message.find("hdl: yosys failed in ") != std::string::npos);
  CHECK(message.find("killed by signal 9, SIGKILL: most likely out of memory") !=
        std::string::npos);
  CHECK(message.find("log synth_t_t.log") != std::string::npos);
  CHECK(message.find("(no output)") != std::string::npos);
}
