// Lowering a graph's inference slice to the circuit IR (circuit.h). The pass walks the tape forward
// from a chosen input node to the output node: nodes that depend on the input become stages through
// a per-op lowering table (keyed by op name; the hdl/emit_*.cpp files fill it), nodes that do not
// (parameters, tables, W of a learnable mapping) are constants read from the graph. A node whose op
// has no lowering stops the export with an error naming the node and the op.
//
// Build the graph the way inference runs (eval mode, under NoGradGuard): the lowering reads the
// same node values and attributes the software model computed with.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "autograd/graph.h"
#include "hdl/circuit.h"

namespace difflut::hdl {

// Fixed-point input words for features that are not 8-bit codes (CSV / scaled features): code c
// holds the value (c - offset) / 2^frac_bits. Offset binary, so codes compare in the same order as
// values and the encoder's comparators stay unsigned `code >= c` (frac_bits may be negative:
// steps of 2, 4, ...).
struct FixedPoint {
  // Bits per input word, 2..16: a 1-bit input is the encoded-bits form (port `bits`, codes taken
  // from the encoder), so a 1-bit fixed point would be exported and fed as encoder output.
  int width = 8;
  int frac_bits = 0;
  int64_t offset = 0;
  double value(uint32_t code) const;
  // The code of the nearest value (halfway rounds up), clamped to [0, 2^width - 1].
  uint32_t code_of(double v) const;
  // "16-bit offset-binary fixed point, value = (code - 300) / 2^4"
  std::string describe() const;
};

// How the top module's input words map to the values the graph's input node holds.
struct InputEncoding {
  int width = 8;               // bits per input word
  std::vector<double> decode;  // the graph value of each code 0..2^width-1
  // Raw 8-bit codes scaled as the data loader does: float(v) / 255.0f (data/dataset.h).
  static InputEncoding u8_unit();
  // Encoded bits: width 1, 0 -> 0.0, 1 -> 1.0.
  static InputEncoding bits();
  // Fixed-point codes: decode[c] = float(format.value(c)) (the f32 the graph holds).
  static InputEncoding fixed_point(const FixedPoint& format);
};

struct LowerOptions {
  InputEncoding input = InputEncoding::u8_unit();
  // When the slice ends in a popcount (GroupSum), append an argmax stage (the predicted class,
  // first index on ties, as the argmax op does) so the top module outputs scores and class_idx.
  bool append_argmax = true;
};

// Lowers the nodes between `input_node` (the circuit input; its value is [B, ...] and each row
// becomes input words) and `output_node` (inclusive). Throws difflut::Error for an op without a
// lowering, a node that reads a non-bit value where bits are needed, and other unsupported shapes.
Circuit lower_graph(const Graph& graph, int input_node, int output_node,
                    const LowerOptions& options = {});

// --- the lowering table -------------------------------------------------------------------------

class LowerContext {
 public:
  LowerContext(const Graph& graph, Circuit& circuit, std::vector<int>& stage_of,
               const LowerOptions& options)
      : graph_(graph), circuit_(circuit), stage_of_(stage_of), options_(options) {}

  const Graph& graph() const { return graph_; }
  const Node& node(int id) const { return graph_.node(id); }
  const Circuit& circuit() const { return circuit_; }
  const LowerOptions& options() const { return options_; }

  // The stage holding input i of `node`; throws if that input does not depend on the circuit input.
  int live_input(int node_id, size_t i) const;
  // Input i's value as a host tensor; throws if it depends on the circuit input (must be constant).
  Tensor const_input(int node_id, size_t i) const;
  // The stage of input i, or -1 when it is a constant.
  int stage_or_const(int node_id, size_t i) const;
  const Stage& stage(int s) const { return circuit_.stages[static_cast<size_t>(s)]; }
  // Requires stage s to hold bits (1-bit words whose decode is {0, 1}); `role` names the use.
  void require_bits(int node_id, int s, const char* role) const;
  // Appends a stage for `node_id` (name/op/node filled in from the node) and returns its index.
  int add_stage(int node_id, Stage stage);
  // Appends an intermediate stage of a node's lowering that holds no node's value (node_id -1, so
  // check_against_graph skips it; the node's final stage is checked). `stage.name` must be set.
  int add_internal_stage(Stage stage);
  // The batch size B of the circuit input node's value: every lowered value is [B * rows, ...],
  // rows >= 1 rows per sample (conv layers run their per-position trees on B * positions rows).
  int64_t batch() const;
  // Rows per sample of input i of `node_id` (its value's first extent / batch()); throws unless
  // it divides.
  int64_t rows_per_sample(int node_id, size_t i) const;
  // An error message prefix naming the node and its op: "hdl: node 'x' (op y)".
  std::string where(int node_id) const;

 private:
  const Graph& graph_;
  Circuit& circuit_;
  std::vector<int>& stage_of_;
  const LowerOptions& options_;
};

// Lowers one node and returns the stage that holds its value (a new stage, or an existing one for
// pure aliases such as a row-preserving reshape).
using LowerFn = std::function<int(LowerContext& ctx, int node_id)>;

// Registers (or replaces) the lowering of the op called `op_name`.
void register_lowering(const std::string& op_name, LowerFn fn);
// The lowering of `op_name`, or null.
const LowerFn* find_lowering(const std::string& op_name);
// Op names with a lowering, sorted.
std::vector<std::string> lowered_ops();

// Built-in lowerings, one function per op family (hdl/emit_*.cpp); lowering_table calls them once.
void register_encoder_lowerings();
void register_mapping_lowerings();
void register_lut_lowerings();
void register_head_lowerings();
void register_conv_lowerings();

// --- checking a circuit against the graph it came from ---------------------------------------

// The codes of a value tensor [B, ...] under `decode` (exact matches only): [B * row] words.
// Throws difflut::Error naming `what` if some value is not the decode of any code.
std::vector<uint32_t> encode_exact(const Tensor& value, const std::vector<double>& decode,
                                   const std::string& what);

struct StageCheck {
  int stage = -1;
  std::string name;
  int64_t mismatches = 0;  // words whose decoded circuit value differs from the graph's value
  int64_t words = 0;       // words compared
};
// Simulates the circuit on the graph's own input batch (its input node's value, encoded exactly)
// and compares every stage that lowers a node with that node's value. Returns one entry per
// compared stage.
std::vector<StageCheck> check_against_graph(const Circuit& circuit, const Graph& graph);

}  // namespace difflut::hdl
