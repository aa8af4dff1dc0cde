// Export helpers: files on disk, golden vectors from software values.
#include "hdl/export.h"

#include "autograd/graph.h"
#include "autograd/ops.h"
#include "hdl/lower.h"
#include "tensor/error.h"

namespace difflut::hdl {

ExportedDesign export_design(const Circuit& circuit, const VerilogOptions& options,
                             const std::string& dir, const GoldenVectors* vectors) {
  ExportedDesign e;
  e.design = write_verilog(circuit, options);
  e.dir = dir;
  std::vector<VerilogFile> files = e.design.files;
  if (vectors != nullptr) {
    e.vectors = vectors->count;
    e.vectors_file = e.design.top + "_vectors.hex";
    files.push_back({e.vectors_file, vectors_hex(circuit, *vectors)});
    VerilogFile tb = write_testbench(circuit, e.design, vectors->count, e.vectors_file);
    e.testbench_file = tb.name;
    files.push_back(std::move(tb));
  }
  save_files(files, dir);
  return e;
}

ExportedStream export_stream(const Circuit& circuit, const ExportedDesign& core,
                             const StreamOptions& options, const StreamBenchOptions& bench) {
  DIFFLUT_CHECK(core.vectors > 0, "hdl: the streaming testbench needs the core's golden vectors");
  ExportedStream e;
  e.stream = write_stream_top(circuit, core.design, options);
  VerilogFile tb =
      write_stream_testbench(circuit, e.stream, core.vectors, core.vectors_file, bench);
  e.testbench_file = tb.name;
  save_files({e.stream.design.files.back(), tb}, core.dir);
  return e;
}

GoldenVectors golden_from_values(const Circuit& circuit, std::vector<uint32_t> input_codes,
                                 int64_t count, const std::vector<Tensor>& port_values) {
  DIFFLUT_CHECK(port_values.size() == circuit.outputs.size(), "hdl: expected values for ",
                circuit.outputs.size(), " output ports, found ", port_values.size());
  GoldenVectors g;
  g.count = count;
  g.inputs = std::move(input_codes);
  for (size_t o = 0; o < port_values.size(); ++o) {
    const Stage& st = circuit.stages[static_cast<size_t>(circuit.outputs[o].stage)];
    const Tensor& v = port_values[o];
    DIFFLUT_CHECK(v.defined() && v.numel() == count * st.size, "hdl: output port '",
                  circuit.outputs[o].port, "': expected ", count, " x ", st.size, " values, found ",
                  v.defined() ? v.describe() : std::string("none"));
    g.outputs.push_back(
        encode_exact(v, st.decode, str_cat("hdl: output port '", circuit.outputs[o].port, "'")));
  }
  check_vectors(circuit, g);
  return g;
}

GoldenVectors golden_from_graph(const Circuit& circuit, const Graph& graph) {
  const Stage& in = circuit.input();
  const Tensor& xv = graph.node(in.node_id).value;
  const int64_t B = xv.size(0);
  std::vector<uint32_t> codes =
      encode_exact(xv, in.decode, str_cat("hdl: input node '", in.node_name, "'"));
  std::vector<Tensor> values;
  for (const OutputPort& p : circuit.outputs) {
    const Stage& st = circuit.stages[static_cast<size_t>(p.stage)];
    if (st.node_id >= 0) {
      values.push_back(graph.node(st.node_id).value.to(Device::cpu));
    } else {
      DIFFLUT_CHECK(st.kind == StageKind::argmax, "hdl: output port '", p.port,
                    "' lowers no graph node");
      const Stage& src = circuit.stages[static_cast<size_t>(st.source)];
      values.push_back(argmax_rows(graph.node(src.node_id).value.reshape({B, src.size})));
    }
  }
  return golden_from_values(circuit, std::move(codes), B, values);
}

Tensor argmax_rows(const Tensor& scores) {
  DIFFLUT_CHECK(scores.dim() == 2 && scores.size(1) >= 1,
                "hdl.argmax_rows: expected scores [B, C], found ", scores.describe());
  Graph graph;  // the engine's argmax op: first index on ties, like the circuit's argmax stage
  return argmax(graph.input(scores.to(Device::cpu)), 1).value();
}

}  // namespace difflut::hdl
