// One-call export: write a circuit's Verilog, golden vectors and testbench into a directory; build
// golden vectors from the values the software model (the graph) computed.
#pragma once
#include <string>
#include <vector>

#include "autograd/graph.h"
#include "hdl/circuit.h"
#include "hdl/stream.h"
#include "hdl/testbench.h"
#include "hdl/verilog.h"
#include "tensor/tensor.h"

namespace difflut::hdl {

struct ExportedDesign {
  VerilogDesign design;
  std::string dir;
  std::string testbench_file;  // "" when no vectors were given
  std::string vectors_file;
  int64_t vectors = 0;
};

// Writes the design files into `dir`, and with `vectors` also <top>_vectors.hex and tb_<top>.v.
ExportedDesign export_design(const Circuit& circuit, const VerilogOptions& options,
                             const std::string& dir, const GoldenVectors* vectors = nullptr);

// The streaming top around an exported core (export_design's result, with vectors): writes the
// stream module and its random-stall testbench (reading the core's vector file) into the same
// directory. The returned design holds the core's files and the stream module (top).
struct ExportedStream {
  StreamDesign stream;
  std::string testbench_file;
};
ExportedStream export_stream(const Circuit& circuit, const ExportedDesign& core,
                             const StreamOptions& options = {},
                             const StreamBenchOptions& bench = {});

// Golden vectors from software values: `input_codes` [count, input words], and for each output
// port the graph's value tensor [count, port words] (scores as floats, class indices as integers),
// turned into codes through the port stage's decode (exact matches only: a value no code decodes
// to is an error naming the port and the sample).
GoldenVectors golden_from_values(const Circuit& circuit, std::vector<uint32_t> input_codes,
                                 int64_t count, const std::vector<Tensor>& port_values);

// Golden vectors for the batch the graph was built with: inputs from the circuit input node's value
// (encoded exactly), outputs from the values of the nodes the output ports lower (an appended
// argmax stage takes argmax_rows of its source node's value).
GoldenVectors golden_from_graph(const Circuit& circuit, const Graph& graph);

// argmax over axis 1 of a host float tensor [B, C], first index on ties (the argmax op's rule):
// -> i64 [B]. For models whose graph stops at the scores.
Tensor argmax_rows(const Tensor& scores);

}  // namespace difflut::hdl
