// FPGA-facing output: the AXI4-Stream top under random valid/ready stalls (0 mismatches, in
// order), its exact latency and full throughput without stalls, registers inside the popcount
// and argmax trees (latency exact: a testbench expecting one cycle less fails), SystemVerilog
// output (verilator --sv -Wall clean, Yosys read_verilog -sv), the preamble of every file, and the
// iCE40 flow's one-line refusal of a design that does not fit.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "hdl/export.h"
#include "hdl/lower.h"
#include "hdl/stream.h"
#include "hdl/testbench.h"
#include "hdl/tools.h"
#include "hdl_models.h"
#include "hdl_tools.h"
#include "test_util.h"

using namespace difflut;
using namespace difflut::hdl;
using difflut::test::HdlModel;

namespace {
void require_tools() { test::require_hdl_tools(); }

// Deeper popcount (8 bits a group: 3 adder levels) and argmax (5 classes: 3 levels) trees.
HdlModel deep_model(uint64_t seed) { return test::dwn_chain(seed, 6, 40, 6, 4, 24, 40, 5, 0.5); }

struct Core {
  Circuit circuit;
  ExportedDesign e;
};
Core export_core(const HdlModel& m, const std::string& tag, const VerilogOptions& o) {
  Core c;
  c.circuit = lower_graph(*m.g, m.input, m.output, m.options);
  const GoldenVectors gv = golden_from_graph(c.circuit, *m.g);
  VerilogOptions opt = o;
  opt.top = "dut_" + tag;
  c.e = export_design(c.circuit, opt, test::temp_dir("hdl_" + tag), &gv);
  return c;
}

// The stream testbench's "latency=L cycles=C" line.
void stream_figures(const std::string& out, int64_t& latency, int64_t& cycles) {
  const size_t at = out.rfind("latency=");
  REQUIRE(at != std::string::npos);
  long long l = -1, c = -1;
  REQUIRE(std::sscanf(out.c_str() + at, "latency=%lld cycles=%lld", &l, &c) == 2);
  latency = l;
  cycles = c;
}
}  // namespace

TEST_CASE("the streaming top delivers every result in order under random valid/ready stalls") {
  require_tools();
  HdlModel m = deep_model(61);
  Core c = export_core(
      m, "stream", {.pipeline_every = 1, .popcount_register_every = 1, .argmax_register_every = 1});
  struct Case {
    int bus;
    bool scores;
    Simulator sim;
  };
  // 8 bits: 6 beats a sample (48 input bits); 64 bits: one beat, scores on the output too; 1 bit:
  // 48 beats, a long beat token wrapping under stalls.
  for (const Case& k : {Case{8, false, Simulator::verilator}, Case{64, true, Simulator::icarus},
                        Case{1, false, Simulator::icarus}}) {
    INFO("bus " << k.bus << ", scores " << k.scores);
    const ExportedStream s = export_stream(c.circuit, c.e, {.bus_bits = k.bus, .scores = k.scores},
                                           {.valid_percent = 60, .ready_percent = 55, .seed = 7});
    CHECK(s.stream.beats == (48 + k.bus - 1) / k.bus);
    const LintResult lint = verilator_lint(c.e.dir, s.stream.design);
    INFO(lint.output);
    CHECK(lint.clean);
    const SimRun r = run_testbench(c.e.dir, s.stream.design, s.testbench_file, k.sim);
    INFO(r.output);
    CHECK(r.mismatches == 0);
    CHECK(r.vectors == m.batch);
  }
}

TEST_CASE("the stream testbench catches a wrong result and a result the top never delivers") {
  require_tools();
  HdlModel m = deep_model(62);
  Circuit c = lower_graph(*m.g, m.input, m.output, m.options);
  GoldenVectors gv = golden_from_graph(c, *m.g);
  gv.outputs[1][9] = (gv.outputs[1][9] + 1) % 5;  // vector 9's class
  const ExportedDesign e =
      export_design(c, {.top = "dut_sbad", .pipeline_every = 2}, test::temp_dir("hdl_sbad"), &gv);
  const ExportedStream s = export_stream(c, e, {.bus_bits = 16}, {.seed = 3});
  SimRun r = run_testbench(e.dir, s.stream.design, s.testbench_file, Simulator::icarus);
  INFO(r.output);
  CHECK(r.mismatches == 1);
  CHECK(r.output.find("mismatch at vector 9:") != std::string::npos);
}

TEST_CASE(
    "without stalls the stream top has its reported latency and takes a sample per beat "
    "group") {
  require_tools();
  HdlModel m = deep_model(63);
  for (int pipe : {0, 1}) {
    Core c = export_core(m, "sfull" + std::to_string(pipe),
                         {.pipeline_every = pipe, .popcount_register_every = pipe ? 2 : 0});
    // 1, 10 and 24 beats a sample.
    for (int bus : {48, 5, 2}) {
      INFO("pipeline " << pipe << ", bus " << bus);
      const ExportedStream s =
          export_stream(c.circuit, c.e, {.bus_bits = bus},
                        {.valid_percent = 100, .ready_percent = 100, .seed = 1});
      CHECK(s.stream.design.latency == c.e.design.latency + 2);
      const SimRun r = run_testbench(c.e.dir, s.stream.design, s.testbench_file, Simulator::icarus);
      INFO(r.output);
      CHECK(r.mismatches == 0);
      int64_t latency = 0, cycles = 0;
      stream_figures(r.output, latency, cycles);
      CHECK(latency == s.stream.design.latency);
      // Source and sink ready from the first cycle after reset: sample i's last beat is taken on
      // edge 1 + (i + 1) * beats, its result leaves `latency` edges later; no bubble anywhere.
      CHECK(cycles == 1 + m.batch * s.stream.beats + latency);
    }
  }
}

TEST_CASE("registers inside the popcount and argmax trees: the latency is exact") {
  require_tools();
  HdlModel m = deep_model(64);
  for (int every : {1, 2}) {
    for (int pipe : {0, 1}) {
      INFO("every " << every << " levels, pipeline " << pipe);
      Core c = export_core(m, "fine" + std::to_string(every) + std::to_string(pipe),
                           {.pipeline_every = pipe,
                            .popcount_register_every = every,
                            .argmax_register_every = every});
      const VerilogDesign& d = c.e.design;
      int inside = 0;
      for (size_t s = 1; s < c.circuit.stages.size(); ++s) {
        const StageKind k = c.circuit.stages[s].kind;
        // popcount: 3 adder levels -> banks after levels 1, 2 (every 1) or 2 (every 2);
        // argmax: 3 comparator levels -> the same.
        if (k == StageKind::popcount || k == StageKind::argmax)
          CHECK(d.stage_latency[s] == (every == 1 ? 2 : 1));
        else
          CHECK(d.stage_latency[s] == 0);
        inside += d.stage_latency[s];
      }
      CHECK(d.latency == inside + static_cast<int>(d.registered_after.size()));
      const LintResult lint = verilator_lint(c.e.dir, d);
      INFO(lint.output);
      CHECK(lint.clean);
      SimRun r = run_testbench(c.e.dir, d, c.e.testbench_file, Simulator::icarus);
      CHECK(r.mismatches == 0);
      // A testbench that expects the outputs one cycle early must see mismatches.
      VerilogDesign early = d;
      early.latency -= 1;
      VerilogFile tb = write_testbench(c.circuit, early, m.batch, c.e.vectors_file);
      tb.name = "tb_early.v";
      save_files({tb}, c.e.dir);
      r = run_testbench(c.e.dir, early, tb.name, Simulator::icarus);
      CHECK(r.mismatches > 0);
    }
  }
}

TEST_CASE(
    "SystemVerilog output lints clean with verilator --sv -Wall and synthesises in Yosys; "
    "every file has timescale and default_nettype none") {
  require_tools();
  HdlModel m = test::kitchen_sink(65);
  Core c = export_core(
      m, "sv",
      {.pipeline_every = 1, .popcount_register_every = 1, .argmax_register_every = 1, .sv = true});
  // A 1-bit bus: a long beat token (more than 16 beats a sample) in SystemVerilog too.
  const ExportedStream s = export_stream(c.circuit, c.e, {.bus_bits = 1});
  CHECK(s.stream.beats > 16);
  std::vector<VerilogFile> all = s.stream.design.files;
  all.push_back(write_testbench(c.circuit, c.e.design, m.batch, c.e.vectors_file));
  for (const VerilogFile& f : all) {
    INFO(f.name);
    CHECK(f.text.find("`timescale 1ns / 1ps\n`default_nettype none\n") != std::string::npos);
    if (f.name.rfind("tb_", 0) != 0) {
      CHECK(f.name.size() > 3);
      CHECK(f.name.substr(f.name.size() - 3) == ".sv");
    }
  }
  CHECK(s.stream.design.files.back().text.find("always_ff @(posedge aclk)") != std::string::npos);
  CHECK(s.stream.design.files.back().text.find("input  logic aclk") != std::string::npos);
  const LintResult lint = verilator_lint(c.e.dir, s.stream.design);
  INFO(lint.output);
  CHECK(lint.clean);
  const SimRun r = run_testbench(c.e.dir, s.stream.design, s.testbench_file, Simulator::icarus);
  INFO(r.output);
  CHECK(r.mismatches == 0);
  const SynthReport y = run_yosys(c.e.dir, s.stream.design, 6, false, /*flatten=*/true);
  CHECK(y.luts > 0);
  CHECK(y.ffs > 0);
  // Verilog-2005 files carry the same preamble.
  Core v = export_core(m, "v2005", {.pipeline_every = 1});
  for (const VerilogFile& f : v.e.design.files) {
    INFO(f.name);
    CHECK(f.text.find("`default_nettype none") != std::string::npos);
    CHECK(f.text.find("always_ff") == std::string::npos);
  }
}

TEST_CASE("flattened synthesis: one module, no more flip-flops than the modules one by one") {
  require_tools();
  HdlModel m = deep_model(66);
  Core c = export_core(m, "flat", {.pipeline_every = 1});
  const SynthReport h = run_yosys(c.e.dir, c.e.design);
  const SynthReport f = run_yosys(c.e.dir, c.e.design, 6, false, /*flatten=*/true);
  CHECK(h.modules.size() > 1);
  CHECK(f.modules.size() == 1);  // one module left
  // LUTs can go either way (ABC maps across layer boundaries); registers whose bits no later
  // layer reads are only removable once the hierarchy is gone.
  CHECK(f.luts > 0);
  CHECK(f.ffs > 0);
  CHECK(f.ffs <= h.ffs);
}

TEST_CASE(
    "per-module synthesis: one Yosys process per file; a stream design counts the core once "
    "through its instance") {
  require_tools();
  HdlModel m = deep_model(67);
  Core c = export_core(m, "permod", {.pipeline_every = 1});
  const SynthReport core = run_yosys(c.e.dir, c.e.design);
  // Each stage module was mapped by its own process: one log per file.
  for (const VerilogFile& f : c.e.design.files) {
    const std::string module = f.name.substr(0, f.name.rfind('.'));
    CHECK(std::filesystem::exists(c.e.dir + "/synth_" + c.e.design.top + "_" + module + ".log"));
  }
  // The core top instantiates every stage once: its total is its own cells plus theirs.
  int64_t luts = 0, ffs = 0;
  for (const ModuleCells& mc : core.modules) {
    luts += mc.luts;
    ffs += mc.ffs;
  }
  CHECK(core.luts == luts);
  CHECK(core.ffs == ffs);
  CHECK(core.luts > 0);
  // The stream top instantiates the core top (a black box in its own process): the stream
  // design's total is the stream top's cells plus the core's total.
  const ExportedStream s = export_stream(c.circuit, c.e, {.bus_bits = 8});
  const SynthReport stream = run_yosys(c.e.dir, s.stream.design);
  const ModuleCells* top = nullptr;
  for (const ModuleCells& mc : stream.modules)
    if (mc.module == s.stream.design.top) top = &mc;
  REQUIRE(top != nullptr);
  CHECK(top->instances == std::vector<std::pair<std::string, int64_t>>{{c.e.design.top, 1}});
  CHECK(stream.luts == top->luts + core.luts);
  CHECK(stream.ffs == top->ffs + core.ffs);
  CHECK(top->ffs > 0);  // the stream top's buffer and FIFO
}

TEST_CASE(
    "nextpnr logs: Fmax and utilisation parsed; a design over a part's capacity is refused "
    "in one line") {
  const std::string ok =
      "Info: Device utilisation:\n"
      "Info: \t         ICESTORM_LC:   412/ 7680     5%\n"
      "Info: \t        ICESTORM_RAM:     0/   32     0%\n"
      "Info: \t               SB_IO:    21/  256     8%\n"
      "Info: Max frequency for clock 'aclk$SB_IO_IN_$glb_clk': 181.03 MHz (PASS at 150.00 MHz)\n"
      "Info: Max frequency for clock 'aclk$SB_IO_IN_$glb_clk': 176.52 MHz (PASS at 150.00 MHz)\n";
  Ice40Report rep;
  double f = 0;
  parse_nextpnr_log(ok, {}, rep, f);
  CHECK(f == doctest::Approx(176.52));
  CHECK(rep.logic_cells == 412);
  CHECK(rep.logic_cells_available == 7680);
  CHECK(rep.io == 21);
  const std::string big = "Info: \t         ICESTORM_LC:  9012/ 1280   704%\n";
  CHECK_THROWS_WITH_AS(parse_nextpnr_log(big, {.part = "hx1k", .package = "vq100"}, rep, f),
                       "hdl: the design does not fit the iCE40 hx1k (vq100): it needs 9012 logic "
                       "cells (ICESTORM_LC), the part has 1280",
                       Error);
}

TEST_CASE(
    "iCE40 place and route: a small stream top routes with a clock figure; the wide bare "
    "top does not fit the I/O of a small package") {
  require_tools();
  for (const char* t : {"nextpnr-ice40", "icepack"}) {
    INFO("'" << t << "' must be on PATH: apt-get install -y nextpnr-ice40 fpga-icestorm");
    REQUIRE(have_tool(t));
  }
  // A small model (3 features, 8 + 6 LUT4 nodes) keeps nextpnr to seconds.
  HdlModel m = test::dwn_chain(67, 4, 16, 3, 2, 8, 6, 3, 0.5);
  Core c = export_core(
      m, "pnr", {.pipeline_every = 1, .popcount_register_every = 1, .argmax_register_every = 1});
  const ExportedStream s = export_stream(c.circuit, c.e, {.bus_bits = 8});
  const Ice40Report r =
      run_ice40(c.e.dir, s.stream.design, {.part = "hx1k", .package = "tq144", .seeds = {1}});
  CHECK(r.runs.size() == 1);
  CHECK(r.fmax_median_mhz > 0);
  CHECK(r.lut4 > 0);
  CHECK(r.ffs > 0);
  CHECK(r.io == 8 + 8 + 6);  // s_axis_tdata, m_axis_tdata, aclk, aresetn, 2 valid, 2 ready
  CHECK(std::filesystem::exists(c.e.dir + "/" + r.bitstream));
  // The bare core of a 20-feature model needs 160 input pins; hx1k's vq100 package has 72 I/O.
  HdlModel wide = test::dwn_chain(68, 4, 16, 20, 2, 12, 6, 3, 0.5);
  Core w = export_core(wide, "pnrwide", {.pipeline_every = 1});
  CHECK_THROWS_WITH_AS(
      run_ice40(w.e.dir, w.e.design, {.part = "hx1k", .package = "vq100", .seeds = {1}}),
      doctest::Contains("hdl: the design does not fit the iCE40 hx1k (vq100): it "
                        "needs "),
      Error);
}

TEST_CASE("iCE40: an unknown part or package is refused in one line before anything runs") {
  require_tools();
  for (const char* t : {"nextpnr-ice40", "icepack"}) {
    INFO("'" << t << "' must be on PATH: apt-get install -y nextpnr-ice40 fpga-icestorm");
    REQUIRE(have_tool(t));
  }
  CHECK_NOTHROW(check_ice40_target({.part = "hx1k", .package = "tq144", .seeds = {1}}));
  CHECK_THROWS_WITH_AS(
      check_ice40_target({.part = "hx9k", .package = "ct256"}),
      "hdl: nextpnr-ice40 does not accept the iCE40 part 'hx9k' with package 'ct256' (it says: "
      "unrecognised option '--hx9k'); parts: lp384, lp1k, lp4k, lp8k, hx1k, hx4k, hx8k, up3k, "
      "up5k, u4k",
      Error);
  CHECK_THROWS_WITH_AS(check_ice40_target({.part = "up5k", .package = "ct256"}),
                       doctest::Contains("does not accept the iCE40 part 'up5k' with package "
                                         "'ct256' (it says: ERROR: Unsupported package 'ct256'.)"),
                       Error);
  // run_ice40 makes the same check first: the directory gets no Yosys script or log.
  HdlModel m = test::dwn_chain(67, 4, 16, 3, 2, 8, 6, 3, 0.5);
  Core c = export_core(m, "pnrpart", {.pipeline_every = 1});
  CHECK_THROWS_AS(run_ice40(c.e.dir, c.e.design, {.part = "hx8k", .package = "zz999"}), Error);
  CHECK(!std::filesystem::exists(c.e.dir + "/ice40_" + c.e.design.top + ".ys"));
}
