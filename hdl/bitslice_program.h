// The circuit IR compiled for bit-sliced execution: one machine word holds one bit of many samples
// (a "plane"), and the whole circuit after the comparators becomes a straight-line list of 3-input
// logic operations on planes. Any 3-input function is one instruction on both targets (AVX-512
// vpternlogq, CUDA LOP3), so a LUT3 is one op, a LUT6 eight LUT3s and a mux tree, a full adder two
// ops, and popcounts, constant offsets and the argmax's comparators are adder and compare chains of
// such ops. Both engines (bitslice_engine.h on the CPU, bitslice_cuda.h on the GPU) execute this one
// program, so they are bit-exact with each other and with the software model by construction, and
// tests check all three on the same inputs.
//
// Execution model, per block of samples:
//   1. front end: plane of comparator i = (x[feature[i]] >= threshold[i]) over the block's samples,
//      written to slot cmp_slot[i] (x: the sample's raw feature codes, one byte each);
//   2. ops, in order: slot[dst] = f_imm(slot[a], slot[b], slot[c]) bitwise, where bit
//      (va | vb << 1 | vc << 2) of imm is f's value (the LUT address order of the design: the first
//      operand is address bit 0). Ops come in groups of one imm (runs that read nothing the run
//      itself writes), so an engine dispatches on imm once per group, not once per op;
//   3. back end: output port p, word w, bit j is the plane in slot port.planes[w * width + j].
// Slots 0 and 1 always hold all-zeros and all-ones planes; the compiler reuses the other slots once
// their values are dead, so the working set is the largest number of live planes, not the number of
// values.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "hdl/circuit.h"

namespace difflut::hdl {

struct BitsliceOp {
  int32_t dst, a, b, c;  // slots
};

struct BitsliceGroup {
  uint8_t imm;         // truth table of every op in the group
  int64_t begin, end;  // ops [begin, end)
};

struct BitslicePort {
  std::string name;             // the circuit's output port ("scores", "class_idx", ...)
  int64_t words = 0;            // words per sample
  int width = 1;                // bits per word (<= 32)
  std::vector<int32_t> planes;  // [words * width] slots, least significant bit first
};

struct BitsliceProgram {
  int64_t input_words = 0;  // bytes of raw feature codes per sample
  int input_width = 8;      // bits per input word (<= 8)
  // Comparators, sorted by (feature, threshold); thresholds are 1..255 (constant comparisons are
  // folded into slots 0 and 1 by the compiler).
  std::vector<int32_t> cmp_feature;
  std::vector<uint8_t> cmp_threshold;
  std::vector<int32_t> cmp_slot;
  std::vector<BitsliceOp> ops;
  std::vector<BitsliceGroup> groups;
  int32_t num_slots = 2;  // slots 0 and 1 are the constants
  std::vector<BitslicePort> ports;

  // Index of the port called `name`, or -1.
  int port_index(const std::string& name) const;
  // "comparators 1016, ops 41231 in 1402 groups, slots 2871"
  std::string summary() const;
};

// Whether the 3-input function with truth table `imm` depends on operand `operand` (0, 1, 2).
bool truth_table_depends(uint8_t imm, int operand);

// Compiles a circuit (usually optimize_circuit's output). Throws difflut::Error when the circuit
// cannot run bit-sliced: input words wider than 8 bits, or an argmax or popcount reading raw input
// words.
BitsliceProgram compile_bitslice(const Circuit& circuit);

// Reference interpreter of a program, one plane word of 64 samples at a time (tests use it to
// check the compiler separately from the vectorised engines): codes [n, input_words] ->
// ports[p] = [n, words] codes.
std::vector<std::vector<uint32_t>> interpret_bitslice(const BitsliceProgram& program,
                                                      const uint8_t* codes, int64_t n);

}  // namespace difflut::hdl
