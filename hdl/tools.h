// Runners for the external hardware tools: Verilator (lint, testbench simulation), Icarus Verilog
// (testbench simulation) and Yosys (LUT mapping and cell counts). Each runs a shell command in the
// design directory, captures its output, and throws difflut::Error with the tool's last lines when
// it fails; a missing tool is reported with the Debian package that provides it.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "hdl/verilog.h"

namespace difflut::hdl {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
  double seconds = 0;
};
// Runs `command` with /bin/sh in `dir` (empty: the current directory).
CommandResult run_command(const std::string& command, const std::string& dir = {});

// Whether `exe` is on PATH.
bool have_tool(const std::string& exe);
// Throws difflut::Error "hdl: 'verilator' is not on PATH (install the Debian package ...)".
void require_tool(const std::string& exe);

struct LintResult {
  bool clean = false;  // exit code 0 and no %Warning/%Error lines
  std::string output;
};
// verilator --lint-only -Wall over the design files in `dir` (written there beforehand).
LintResult verilator_lint(const std::string& dir, const VerilogDesign& design);

enum class Simulator { verilator, icarus };
const char* simulator_name(Simulator s);

struct SimRun {
  int64_t mismatches = -1;
  int64_t vectors = -1;
  double build_seconds = 0, run_seconds = 0;
  std::string output;
};
// Builds and runs the testbench `tb_file` (with the design files, all in `dir`) and parses its
// "mismatches=N vectors=M" line. Throws if the build fails or the line is missing.
SimRun run_testbench(const std::string& dir, const VerilogDesign& design,
                     const std::string& tb_file, Simulator simulator);

struct ModuleCells {
  std::string module;
  int64_t luts = 0;   // $lut cells
  int64_t ffs = 0;    // flip-flop cells ($_DFF_*, $_SDFF_*, ...)
  int64_t cells = 0;  // all cells, including submodule instances
  std::vector<std::pair<std::string, int64_t>> instances;  // submodule cells: (module, count)
};
struct SynthReport {
  std::vector<ModuleCells> modules;  // per module, as Yosys synthesised it (hierarchy kept)
  int64_t luts = 0, ffs = 0;         // the whole design (every module counted once per instance)
  double seconds = 0;
  std::string log_file;  // full Yosys log in the design directory
};
// yosys: map the design to <lut_size>-input LUTs and parse the LUT and flip-flop counts. With the
// hierarchy kept (flatten false) each file is mapped by its own Yosys process, the rest of the
// design read as black boxes, so each layer's count is its own and memory is bounded by the
// largest module; the totals count every module once per instance. The default flow is proc;
// techmap; opt -fast; abc -lut N (seconds for thousands of LUT nodes); full_synth runs Yosys's
// generic `synth -lut N` instead (more optimisation passes, much slower).
// flatten: one process over the whole design, `flatten` after reading, so the figures are what a
// user's flow that flattens gets (logic merged and shared across layer boundaries; modules then
// holds only the top).
SynthReport run_yosys(const std::string& dir, const VerilogDesign& design, int lut_size = 6,
                      bool full_synth = false, bool flatten = false);

// Place and route on a Lattice iCE40 with the open tools: yosys synth_ice40, then nextpnr-ice40
// once per seed, then icepack (the bitstream of the best seed). Fails with one line when the
// design does not fit the part.
struct Ice40Options {
  std::string part = "hx8k";      // nextpnr-ice40 device flag without dashes: hx1k, hx8k, up5k, ...
  std::string package = "ct256";  // nextpnr --package
  std::vector<int> seeds = {1, 2, 3};
  double target_mhz = 200;  // nextpnr --freq: the timing-driven placer's goal
  // nextpnr --router (router1, nextpnr's default; router2 of nextpnr 0.4 was seen cycling for
  // 100,000+ iterations on one overused wire of a small design).
  std::string router = "router1";
};
struct Ice40Run {
  int seed = 0;
  double fmax_mhz = 0;
  double seconds = 0;
};
struct Ice40Report {
  int64_t lut4 = 0, ffs = 0, carries = 0;  // SB_LUT4, SB_DFF*, SB_CARRY cells after synth_ice40
  int64_t logic_cells = 0, logic_cells_available = 0;  // ICESTORM_LC used / on the part
  int64_t io = 0, io_available = 0;                    // SB_IO used / on the package
  int64_t ram = 0;                                     // ICESTORM_RAM used
  std::vector<Ice40Run> runs;                          // per seed
  double fmax_median_mhz = 0;
  std::string bitstream;  // <top>.bin of the fastest seed
  double synth_seconds = 0;
};
Ice40Report run_ice40(const std::string& dir, const VerilogDesign& design,
                      const Ice40Options& options = {});
// The checks run_ice40 makes before its first step, callable before anything is written: the
// tools are on PATH, and nextpnr-ice40 accepts the part and package (it is asked without a design,
// which takes a fraction of a second, where an unknown part used to surface only after the full
// Yosys synthesis, as several lines of nextpnr output). Throws one line naming both.
void check_ice40_target(const Ice40Options& options);
// Parses one nextpnr-ice40 log: the last "Max frequency for clock" figure (0 when none) and the
// device utilisation lines (exposed for tests). Throws the one-line "does not fit" error when a
// resource is over its capacity.
void parse_nextpnr_log(const std::string& log, const Ice40Options& options, Ice40Report& report,
                       double& fmax_mhz);

// Parses Yosys `stat` text (exposed for tests).
SynthReport parse_yosys_stat(const std::string& text, const std::string& top);
// The cells of `module` and of everything it instantiates, each submodule counted once per
// instance (what a stage module with per-group popcount trees costs); throws if a module of that
// hierarchy is missing from rep.modules.
ModuleCells hierarchy_total(const SynthReport& rep, const std::string& module);

}  // namespace difflut::hdl
