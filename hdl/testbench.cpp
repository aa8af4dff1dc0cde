// Golden-vector file and the self-checking testbench text.
#include "hdl/testbench.h"

#include <sstream>

#include "hdl/verilog_text.h"
#include "tensor/error.h"

namespace difflut::hdl {

namespace {
int64_t port_words(const Circuit& c, size_t o) {
  return c.stages[static_cast<size_t>(c.outputs[o].stage)].size;
}
int port_width(const Circuit& c, size_t o) {
  return c.stages[static_cast<size_t>(c.outputs[o].stage)].width;
}
}  // namespace

void check_vectors(const Circuit& circuit, const GoldenVectors& v) {
  DIFFLUT_CHECK(v.count >= 1, "hdl: expected at least one golden vector, found ", v.count);
  DIFFLUT_CHECK(static_cast<int64_t>(v.inputs.size()) == v.count * circuit.input_words(),
                "hdl: expected ", v.count, " x ", circuit.input_words(), " input codes, found ",
                v.inputs.size());
  DIFFLUT_CHECK(v.outputs.size() == circuit.outputs.size(), "hdl: expected ",
                circuit.outputs.size(), " output ports in the golden vectors, found ",
                v.outputs.size());
  auto fits = [](uint32_t code, int width) { return width >= 32 || (code >> width) == 0; };
  for (uint32_t c : v.inputs)
    DIFFLUT_CHECK(fits(c, circuit.input_width()), "hdl: input code ", c, " does not fit ",
                  circuit.input_width(), " bits");
  for (size_t o = 0; o < v.outputs.size(); ++o) {
    DIFFLUT_CHECK(static_cast<int64_t>(v.outputs[o].size()) == v.count * port_words(circuit, o),
                  "hdl: output port '", circuit.outputs[o].port, "': expected ",
                  v.count * port_words(circuit, o), " codes, found ", v.outputs[o].size());
    for (uint32_t c : v.outputs[o])
      DIFFLUT_CHECK(fits(c, port_width(circuit, o)), "hdl: output port '", circuit.outputs[o].port,
                    "': code ", c, " does not fit ", port_width(circuit, o), " bits");
  }
}

std::string vectors_hex(const Circuit& circuit, const GoldenVectors& v) {
  check_vectors(circuit, v);
  const int64_t F = circuit.input_words();
  int64_t total = F * circuit.input_width();
  for (size_t o = 0; o < circuit.outputs.size(); ++o)
    total += port_words(circuit, o) * port_width(circuit, o);
  const int64_t digits = (total + 3) / 4;
  std::string out;
  out.reserve(static_cast<size_t>((digits + 1) * v.count));
  std::vector<uint8_t> bits(static_cast<size_t>(digits * 4));
  for (int64_t b = 0; b < v.count; ++b) {
    std::fill(bits.begin(), bits.end(), 0);
    int64_t pos = 0;
    auto put = [&](uint32_t code, int width) {
      for (int i = 0; i < width; ++i) bits[static_cast<size_t>(pos++)] = (code >> i) & 1u;
    };
    for (int64_t f = 0; f < F; ++f)
      put(v.inputs[static_cast<size_t>(b * F + f)], circuit.input_width());
    for (size_t o = 0; o < circuit.outputs.size(); ++o) {
      const int64_t n = port_words(circuit, o);
      for (int64_t i = 0; i < n; ++i)
        put(v.outputs[o][static_cast<size_t>(b * n + i)], port_width(circuit, o));
    }
    for (int64_t d = digits - 1; d >= 0; --d) {
      const size_t i = static_cast<size_t>(d * 4);
      const int val = bits[i] | (bits[i + 1] << 1) | (bits[i + 2] << 2) | (bits[i + 3] << 3);
      out.push_back("0123456789abcdef"[val]);
    }
    out.push_back('\n');
  }
  return out;
}

VerilogFile write_testbench(const Circuit& circuit, const VerilogDesign& design, int64_t count,
                            const std::string& vectors_file) {
  DIFFLUT_CHECK(count >= 1, "hdl: a testbench needs at least one vector");
  const std::string tb = "tb_" + design.top;
  const int L = design.latency;
  std::ostringstream os;
  os << vtext::kPreamble;
  os << "// Self-checking testbench of " << design.top << ": applies " << count
     << " golden vectors from " << vectors_file << "\n";
  os << "// and compares every output port (with !==) " << L
     << " cycle(s) later. Last line: mismatches=N vectors=M.\n";
  os << "module " << tb << ";\n";
  os << "  localparam integer N = " << count << ";\n";
  os << "  localparam integer IN_BITS = " << design.input_bits << ";\n";
  int64_t lo = design.input_bits;
  std::vector<int64_t> offs;
  for (size_t o = 0; o < circuit.outputs.size(); ++o) {
    offs.push_back(lo);
    lo += design.output_bits[o];
  }
  os << "  localparam integer VEC_BITS = " << lo << ";\n";
  os << "  reg [VEC_BITS-1:0] vectors [0:N-1];\n";
  os << "  reg [VEC_BITS-1:0] expect_v;\n";
  os << "  reg [IN_BITS-1:0] " << circuit.input_port << ";\n";
  for (size_t o = 0; o < circuit.outputs.size(); ++o)
    os << "  wire [" << design.output_bits[o] - 1 << ":0] " << circuit.outputs[o].port << ";\n";
  os << "  reg clk;\n  integer t, c, mismatches, checked;\n\n";
  os << "  " << design.top << " dut (";
  if (design.has_clock()) os << ".clk(clk), ";
  os << "." << circuit.input_port << "(" << circuit.input_port << ")";
  for (const OutputPort& p : circuit.outputs) os << ", ." << p.port << "(" << p.port << ")";
  os << ");\n\n";

  os << "  task check_vector(input integer i);\n    begin\n";
  os << "      expect_v = vectors[i];\n      checked = checked + 1;\n      if (";
  for (size_t o = 0; o < circuit.outputs.size(); ++o) {
    if (o) os << " || ";
    os << circuit.outputs[o].port << " !== expect_v[" << offs[o] + design.output_bits[o] - 1 << ":"
       << offs[o] << "]";
  }
  os << ") begin\n        mismatches = mismatches + 1;\n";
  os << "        if (mismatches <= 10) begin\n";
  os << "          $display(\"mismatch at vector %0d:\", i);\n";
  for (size_t o = 0; o < circuit.outputs.size(); ++o)
    os << "          $display(\"  " << circuit.outputs[o].port << " = %h, expected %h\", "
       << circuit.outputs[o].port << ", expect_v[" << offs[o] + design.output_bits[o] - 1 << ":"
       << offs[o] << "]);\n";
  os << "        end\n      end\n    end\n  endtask\n\n";

  os << "  initial begin\n";
  os << "    $readmemh(\"" << vectors_file << "\", vectors);\n";
  os << "    clk = 1'b0; mismatches = 0; checked = 0;\n";
  os << "    " << circuit.input_port << " = {IN_BITS{1'b0}};\n";
  // Iteration t applies vector t and (pipelined) clocks once; the outputs then belong to vector
  // t - (L - 1), since L register banks need L rising edges.
  const int lag = L > 0 ? L - 1 : 0;
  os << "    for (t = 0; t < N + " << lag << "; t = t + 1) begin\n";
  os << "      if (t < N) " << circuit.input_port << " = vectors[t][IN_BITS-1:0];\n";
  os << "      #1;\n";
  if (L > 0) os << "      clk = 1'b1;\n      #1;\n      clk = 1'b0;\n      #1;\n";
  os << "      c = t - " << lag << ";\n";
  os << "      if (c >= 0) check_vector(c);\n";
  os << "    end\n";
  os << "    $display(\"mismatches=%0d vectors=%0d\", mismatches, checked);\n";
  os << "    $finish;\n  end\nendmodule\n" << vtext::kEpilogue;
  return {tb + ".v", os.str()};
}

}  // namespace difflut::hdl
