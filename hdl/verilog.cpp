// Verilog text for the circuit IR: the stage modules (verilog_stages.cpp) and the top module that
// wires them together word by word, inserts pipeline registers and aligns the outputs to one
// latency.
#include "hdl/verilog.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "hdl/verilog_stages.h"
#include "tensor/error.h"

namespace difflut::hdl {

namespace {
using vtext::range;

std::string describe_port(const Stage& st) {
  switch (st.kind) {
    case StageKind::popcount: return "score c = popcount of group c";
    case StageKind::argmax: return "predicted class: first index of the largest score";
    case StageKind::lut: return "LUT node outputs";
    default: return std::string(stage_kind_name(st.kind)) + " outputs";
  }
}
}  // namespace

std::vector<std::string> VerilogDesign::file_names() const {
  std::vector<std::string> n;
  for (const VerilogFile& f : files) n.push_back(f.name);
  return n;
}

std::vector<int> pipeline_stages(const Circuit& circuit, int pipeline_every) {
  DIFFLUT_CHECK(pipeline_every >= 0, "hdl: expected pipeline_every >= 0, found ", pipeline_every);
  std::vector<int> out;
  if (pipeline_every == 0) return out;
  int layer = 0;
  for (size_t s = 1; s < circuit.stages.size(); ++s)
    if (circuit.stages[s].is_logic() && ++layer % pipeline_every == 0)
      out.push_back(static_cast<int>(s));
  return out;
}

VerilogDesign write_verilog(const Circuit& circuit, const VerilogOptions& options) {
  circuit.validate();
  DIFFLUT_CHECK(!circuit.outputs.empty(), "hdl: the circuit has no output ports");
  DIFFLUT_CHECK(options.popcount_register_every >= 0 && options.argmax_register_every >= 0,
                "hdl: expected register intervals >= 0, found popcount ",
                options.popcount_register_every, ", argmax ", options.argmax_register_every);
  const vtext::Lang lang{options.sv};
  const std::string top = verilog_identifier(options.top);
  VerilogDesign d;
  d.top = top;
  d.sv = options.sv;
  d.registered_after = pipeline_stages(circuit, options.pipeline_every);
  const size_t S = circuit.stages.size();
  d.stage_module.assign(S, "");
  d.stage_latency.assign(S, 0);

  for (size_t s = 1; s < S; ++s) {
    const Stage& st = circuit.stages[s];
    const Stage& src = circuit.stages[static_cast<size_t>(st.source)];
    const std::string module = top + "_" + st.name;
    d.stage_module[s] = module;
    const int every = st.kind == StageKind::popcount ? options.popcount_register_every
                      : st.kind == StageKind::argmax ? options.argmax_register_every
                                                     : 0;
    StageModule m = emit_stage_module(module, st, src, lang, every);
    d.stage_latency[s] = m.latency;
    d.files.push_back({module + lang.ext(), vtext::kPreamble + m.text + vtext::kEpilogue});
  }

  // The top module. Stages are connected word by word (per-word nets, see verilog_stages.h).
  std::vector<int> delay(S, 0);                  // clock cycles from the input to stage s's words
  std::vector<std::vector<std::string>> sig(S);  // what consumers of stage s read, per word
  std::vector<char> reg_after(S, 0);
  for (int s : d.registered_after) reg_after[static_cast<size_t>(s)] = 1;
  const Stage& in = circuit.input();
  d.input_bits = in.size * in.width;
  for (int64_t m = 0; m < in.size; ++m)
    sig[0].push_back(vtext::word(circuit.input_port, m, in.width));

  std::ostringstream body;
  for (size_t s = 1; s < S; ++s) {
    const Stage& st = circuit.stages[s];
    const size_t src = static_cast<size_t>(st.source);
    body << "\n  // " << st.name << ": " << stage_kind_name(st.kind) << ", " << st.size << " x "
         << st.width << " bit(s)";
    if (!st.node_name.empty()) body << ", node '" << st.node_name << "' (op " << st.op << ")";
    if (d.stage_latency[s] > 0) body << ", latency " << d.stage_latency[s];
    body << "\n";
    const std::string wr = vtext::word_range(st.width);
    for (int64_t m = 0; m < st.size; ++m) body << "  wire " << wr << "w" << s << "_" << m << ";\n";
    body << "  " << d.stage_module[s] << " u_" << st.name << " (";
    if (d.stage_latency[s] > 0) body << "\n    .clk(clk),";
    for (size_t m = 0; m < sig[src].size(); ++m)
      body << "\n    .x" << m << "(" << sig[src][m] << "),";
    for (int64_t m = 0; m < st.size; ++m)
      body << "\n    .y" << m << "(w" << s << "_" << m << ")" << (m + 1 < st.size ? "," : "");
    body << ");\n";
    delay[s] = delay[src] + d.stage_latency[s];
    for (int64_t m = 0; m < st.size; ++m) sig[s].push_back(str_cat("w", s, "_", m));
    if (reg_after[s]) {
      for (int64_t m = 0; m < st.size; ++m)
        body << "  " << lang.reg() << " " << wr << "q" << s << "_" << m << ";\n";
      body << "  " << lang.always_ff("clk") << " begin\n";
      for (int64_t m = 0; m < st.size; ++m) {
        body << "    q" << s << "_" << m << " <= w" << s << "_" << m << ";\n";
        sig[s][static_cast<size_t>(m)] = str_cat("q", s, "_", m);
      }
      body << "  end\n";
      delay[s] += 1;
    }
    d.latency = std::max(d.latency, delay[s]);
  }
  // Outputs: delay each to the full latency so all ports describe the same input sample.
  for (const OutputPort& o : circuit.outputs) {
    const size_t s = static_cast<size_t>(o.stage);
    const Stage& st = circuit.stages[s];
    const int64_t bits = st.size * st.width;
    d.output_bits.push_back(bits);
    std::string cur = o.port + "_d0";
    body << "  wire " << range(bits) << " " << cur << " = {";
    for (int64_t m = st.size - 1; m >= 0; --m)
      body << sig[s][static_cast<size_t>(m)] << (m ? ", " : "");
    body << "};\n";
    for (int t = delay[s]; t < d.latency; ++t) {
      const std::string n = str_cat(o.port, "_d", t + 1);
      body << "  " << lang.reg() << " " << range(bits) << " " << n << ";\n";
      body << "  " << lang.always_ff("clk") << " " << n << " <= " << cur << ";\n";
      cur = n;
    }
    body << "  assign " << o.port << " = " << cur << ";\n";
  }

  std::ostringstream os;
  os << "// " << top << ": the inference circuit of a DiffLUT model.\n//\n// Ports:\n";
  if (d.latency > 0)
    os << "//   clk          rising edge advances the pipeline (no reset: outputs are valid "
       << d.latency << " cycles after an input)\n";
  os << "//   " << circuit.input_port << " [" << d.input_bits - 1 << ":0]  " << in.size
     << " words of " << in.width << " bit(s); word f = " << circuit.input_port << "[f*" << in.width
     << " +: " << in.width << "]" << (in.width == 1 ? " (encoded bits)" : " (raw feature codes)")
     << "\n";
  for (size_t o = 0; o < circuit.outputs.size(); ++o) {
    const Stage& st = circuit.stages[static_cast<size_t>(circuit.outputs[o].stage)];
    os << "//   " << circuit.outputs[o].port << " [" << d.output_bits[o] - 1 << ":0]  " << st.size
       << " word(s) of " << st.width << " bit(s), word i = " << circuit.outputs[o].port << "[i*"
       << st.width << " +: " << st.width << "]; " << describe_port(st) << "\n";
  }
  os << "//\n// Latency: " << d.latency << " clock cycle(s)";
  if (d.latency == 0)
    os << " (combinational)";
  else {
    os << "; registers after:";
    for (int s : d.registered_after) os << " " << circuit.stages[static_cast<size_t>(s)].name;
    for (size_t s = 1; s < S; ++s)
      if (d.stage_latency[s] > 0)
        os << "; " << d.stage_latency[s] << " inside " << circuit.stages[s].name;
  }
  os << ".\nmodule " << top << " (\n";
  if (d.latency > 0) os << "  " << lang.in() << " clk,\n";
  os << "  " << lang.in() << " " << range(d.input_bits) << " " << circuit.input_port;
  for (size_t o = 0; o < circuit.outputs.size(); ++o)
    os << ",\n  " << lang.out() << " " << range(d.output_bits[o]) << " " << circuit.outputs[o].port;
  os << "\n);\n" << body.str() << "endmodule\n";
  d.files.push_back({top + lang.ext(), vtext::kPreamble + os.str() + vtext::kEpilogue});
  return d;
}

void save_files(const std::vector<VerilogFile>& files, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  DIFFLUT_CHECK(!ec, "hdl: cannot create directory '", dir, "': ", ec.message());
  for (const VerilogFile& f : files) {
    const std::string path = (std::filesystem::path(dir) / f.name).string();
    std::ofstream out(path, std::ios::binary);
    DIFFLUT_CHECK(out.good(), "hdl: cannot write '", path, "'");
    out << f.text;
    DIFFLUT_CHECK(out.good(), "hdl: write to '", path, "' failed");
  }
}

}  // namespace difflut::hdl
