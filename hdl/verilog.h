// Verilog writer for the circuit IR: one module per stage (layer), each in its own file named after
// the module, plus a top module that chains them, with optional pipeline registers after every N
// logic layers and optionally inside the popcount and argmax trees. Synthesizable Verilog-2005 or
// SystemVerilog, accepted by Verilator (lint -Wall clean), Icarus and Yosys; every file starts with
// `timescale and `default_nettype none. Module structure, ports and timing are documented in docs/HARDWARE.md.
#pragma once
#include <string>
#include <vector>

#include "hdl/circuit.h"

namespace difflut::hdl {

struct VerilogOptions {
  std::string top = "difflut_top";  // top module name; stage modules are <top>_<stage name>
  // 0: purely combinational (no clock). N >= 1: a register bank after every N-th logic layer
  // (comparators, LUT layers, popcount, argmax; wires are not layers). Latency = layers / N.
  int pipeline_every = 0;
  // Registers inside the popcount adder trees / the argmax comparator tree: a bank after every N-th
  // adder (comparator) level, 0 = none. Each bank adds one cycle of latency to its stage.
  int popcount_register_every = 0;
  int argmax_register_every = 0;
  // SystemVerilog (.sv files, `logic`, `always_ff`) instead of Verilog-2005 (.v).
  bool sv = false;
};

struct VerilogFile {
  std::string name;  // file name, <module>.v (or .sv)
  std::string text;
};

struct VerilogDesign {
  std::string top;
  std::vector<VerilogFile> files;         // stage modules in circuit order, the top last
  std::vector<std::string> stage_module;  // module name of each stage ("" for the input)
  std::vector<int> registered_after;      // stages followed by a register bank
  std::vector<int> stage_latency;         // register banks inside each stage's module
  bool sv = false;                        // SystemVerilog files
  int latency = 0;                        // clock cycles from input to outputs; 0 = combinational
  bool has_clock() const { return latency > 0; }
  // Port widths: input, and each circuit output in order.
  int64_t input_bits = 0;
  std::vector<int64_t> output_bits;
  std::vector<std::string> file_names() const;
};

// The stages after which a register bank goes, and the resulting latency.
std::vector<int> pipeline_stages(const Circuit& circuit, int pipeline_every);

VerilogDesign write_verilog(const Circuit& circuit, const VerilogOptions& options = {});
// Writes every file into `dir` (created if missing).
void save_files(const std::vector<VerilogFile>& files, const std::string& dir);

}  // namespace difflut::hdl
