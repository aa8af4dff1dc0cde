// One call from a trained LUTNetwork to verified Verilog: lower the network (every stage checked
// against its graph on the first samples), optimise the netlist, write the Verilog, golden vectors
// and the self-checking testbench, compare the circuit's software model with the network on every
// sample, then lint and simulate the testbench with the first simulator on PATH (Verilator, else
// Icarus). Returns what happened as a report instead of printing it:
//
//   hdl::NetworkVerilogReport r = hdl::export_network_verilog(net, test_set, "out/verilog");
//   std::cout << r.summary() << "\n";          // one line; r.exact() says whether all agreed
//
// difflut-export offers the same steps one by one with more control (and synthesis).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "hdl/export.h"
#include "hdl/optimize.h"
#include "hdl/tools.h"
#include "lut/lut_network.h"

namespace difflut::hdl {

enum class SimulatorChoice { first_available, verilator, icarus, none };

struct NetworkVerilogOptions {
  bool include_encoder = true;  // start from raw u8 codes (needs u8 features); false: encoded bits
  bool optimize = true;         // run optimize_circuit (exactness is checked either way)
  VerilogOptions verilog;       // top module name, pipelining
  int64_t probe_rows = 256;     // samples the stage-by-stage lowering check runs on
  bool lint = true;             // verilator --lint-only when Verilator is on PATH
  SimulatorChoice simulator = SimulatorChoice::first_available;  // a named one must be on PATH
};

struct NetworkVerilogReport {
  ExportedDesign exported;           // files written (design, vectors, testbench)
  int64_t vectors = 0;               // samples checked (the data set's size)
  NetlistCounts literal, optimized;  // before / after optimisation (equal without it)
  std::vector<PassSummary> passes;
  int64_t software_mismatches = 0;  // vectors where the circuit's C++ model differs from the net
  double circuit_accuracy = 0;      // the circuit's class output against the labels
  bool linted = false, lint_clean = false;
  std::string lint_output;
  std::string simulator;               // "" when no simulation ran
  int64_t simulation_mismatches = -1;  // -1 when no simulation ran
  // The software model and (when it ran) the simulation agree with the network on every vector.
  bool exact() const;
  // "verilog: 5 modules in out/ (top difflut_top); 120 vectors; software model 0 mismatches;
  //  verilator 0 mismatches; lint clean; accuracy 0.875; LUT nodes 48 -> 40".
  std::string summary() const;
};

// Exports `net` to `dir` and verifies it on `data` (its features must fit the network; with
// include_encoder they must be u8 codes). Any failure (lowering check, unwritable directory, a
// simulator that does not build the testbench, a requested simulator not on PATH) throws
// difflut::Error naming the step. Mismatches are reported, not thrown. The network's train/eval
// mode is left as it was.
NetworkVerilogReport export_network_verilog(LUTNetwork& net, const Dataset& data,
                                            const std::string& dir,
                                            const NetworkVerilogOptions& options = {});

}  // namespace difflut::hdl
