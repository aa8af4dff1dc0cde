// Golden vectors and the self-checking testbench. A vector is one input sample (raw feature codes
// or encoded bits) with the output codes the software computed for it (class scores, predicted
// class). The testbench applies the vectors one per cycle (or one per time step when the design is
// combinational), compares every output port with `!==` (so X or Z counts as a mismatch), prints the
// first mismatches in detail and ends with the line "mismatches=N vectors=M".
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "hdl/circuit.h"
#include "hdl/verilog.h"

namespace difflut::hdl {

struct GoldenVectors {
  int64_t count = 0;
  std::vector<uint32_t> inputs;                // [count, circuit.input_words()]
  std::vector<std::vector<uint32_t>> outputs;  // per circuit output port: [count, port words]
};

// Checks the sizes and that every code fits its port's word width; throws difflut::Error.
void check_vectors(const Circuit& circuit, const GoldenVectors& vectors);

// The vectors as a $readmemh file: one line per vector, hex, most significant digit first; bit 0 is
// input word 0's bit 0, then the input, then each output port in order (the same packing as the
// top module's ports).
std::string vectors_hex(const Circuit& circuit, const GoldenVectors& vectors);

// The testbench module "tb_<top>" reading `vectors_file` (relative to the simulator's working
// directory), as a file named tb_<top>.v.
VerilogFile write_testbench(const Circuit& circuit, const VerilogDesign& design, int64_t count,
                            const std::string& vectors_file);

}  // namespace difflut::hdl
