// The circuit IR that hdl/ lowers a graph's inference slice into: a chain of stages, each a vector
// of unsigned words (bits are 1-bit words). One IR feeds three consumers: the Verilog writer
// (verilog.h), the bit-exact software model (circuit_sim.h) and the golden-vector testbench
// (testbench.h), so the software model is the circuit, not a second reading of the graph.
//
// Exactness: every stage also records `decode`, the value the graph holds for each reachable code
// of a word (a raw pixel code v -> float(v)/255; a popcount c -> float(c/tau); a bit -> 0/1). The
// lowering uses it to turn float comparisons into integer ones exactly, and check_against_graph
// (lower.h) compares every stage of a simulated batch with the graph's own values.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace difflut::hdl {

enum class StageKind {
  input,     // the top module's input words (raw feature codes, or encoded bits)
  compare,   // out[m] = in[index[m]] >= threshold[m]           (thermometer, threshold_ste)
  wires,     // out[m] = in[index[m]]                            (mappings, slices)
  lut,       // out[j] = table_j[{in[j*k+k-1], ..., in[j*k]}]  (every LUT node type)
  popcount,  // out[c] = popcount(in[group_begin[c] .. group_end[c]))   (GroupSum)
  argmax,    // out[0] = the first index of the largest word of in    (argmax, ties -> lowest)
};
const char* stage_kind_name(StageKind kind);

struct Stage {
  StageKind kind = StageKind::input;
  std::string name{};       // Verilog identifier, unique in the circuit, derived from node_name
  std::string node_name{};  // the graph node it lowers ("" for stages the export appended)
  std::string op{};         // that node's op name
  int node_id = -1;         // that node's id (-1 for appended stages)
  int source = -1;          // the stage this one reads (-1 for the input)
  int64_t size = 0;         // words out
  int width = 1;            // bits per word out
  // decode[c] = the graph's value for code c, for every reachable code c (size <= 2^width).
  std::vector<double> decode{};

  // compare / wires: the source word read by output word m. compare: threshold[m] in
  // [0, 2^w_in]: 0 gives constant 1, 2^w_in constant 0. threshold_value[m]: the float threshold
  // it came from (comments only).
  std::vector<int64_t> index{};
  std::vector<uint32_t> threshold{};
  std::vector<double> threshold_value{};
  // lut: k inputs per node (input l of node j is word j*k + l, address bit l), tables [size, 2^k]
  // in {0, 1}, row-major. An optimised netlist (optimize.h) gives each node its own fan-in:
  // fanin[j] <= k inputs; node j then reads the fanin[j] source words after those of the nodes
  // before it, and its table is the 2^fanin[j] entries after theirs. Empty fanin: every node has k.
  int k = 0;
  std::vector<uint8_t> table{};
  std::vector<uint8_t> fanin{};
  // popcount: group c counts source words [group_begin[c], group_end[c]) (empty groups are 0),
  // plus offset[c] (the constant ones the optimiser folded away; empty offset: all 0).
  std::vector<int64_t> group_begin{}, group_end{};
  std::vector<int64_t> offset{};

  // lut: node j's fan-in.
  int lut_fanin(int64_t j) const { return fanin.empty() ? k : fanin[static_cast<size_t>(j)]; }
  // popcount: group c's constant.
  int64_t group_offset(int64_t c) const {
    return offset.empty() ? 0 : offset[static_cast<size_t>(c)];
  }

  // A logic layer (pipeline registers go after logic layers; input and wires are not layers).
  bool is_logic() const { return kind != StageKind::input && kind != StageKind::wires; }
};

// An output port of the top module: a stage's words, concatenated (word 0 least significant).
struct OutputPort {
  std::string port;  // "scores", "class_idx", "bits", ...
  int stage = -1;
};

struct Circuit {
  std::vector<Stage> stages;  // stages[0] is the input; every stage reads an earlier one
  std::vector<OutputPort> outputs;
  std::string input_port = "features";

  const Stage& input() const { return stages.front(); }
  int64_t input_words() const { return stages.front().size; }
  int input_width() const { return stages.front().width; }
  // Number of LUT nodes (all lut stages) and the largest k among them.
  int64_t lut_nodes() const;
  int max_k() const;
  // Structural checks (sources earlier, index ranges, table sizes); throws difflut::Error.
  void validate() const;
};

// Where each node of a lut stage reads and keeps its table: node j's inputs are source words
// [input_begin[j], input_begin[j + 1]), its table entries [table_begin[j], table_begin[j + 1]).
struct LutLayout {
  std::vector<int64_t> input_begin, table_begin;  // size + 1 entries each
};
LutLayout lut_layout(const Stage& lut_stage);

// Bits needed for the codes 0..max_code (at least 1).
int bits_for(uint64_t max_code);

// A Verilog identifier from a node name: [A-Za-z0-9_] kept, other characters -> '_', a leading
// digit or an empty name gets a prefix, reserved words get a '_n' suffix.
std::string verilog_identifier(const std::string& name);

}  // namespace difflut::hdl
