// The AXI4-Stream top (input buffer, valid pipeline, credit-checked output FIFO) and its
// random-stall testbench.
#include "hdl/stream.h"

#include <sstream>

#include "hdl/verilog_text.h"
#include "tensor/error.h"

namespace difflut::hdl {

using vtext::range;

namespace {
int port_of_kind(const Circuit& c, StageKind kind) {
  for (size_t o = 0; o < c.outputs.size(); ++o)
    if (c.stages[static_cast<size_t>(c.outputs[o].stage)].kind == kind) return static_cast<int>(o);
  return -1;
}

// A sized decimal literal.
std::string lit(int bits, int64_t v) { return str_cat(bits, "'d", v); }
}  // namespace

StreamDesign write_stream_top(const Circuit& circuit, const VerilogDesign& core,
                              const StreamOptions& options) {
  DIFFLUT_CHECK(options.bus_bits >= 1 && options.bus_bits <= 4096,
                "hdl: expected an input bus of 1 to 4096 bits, found ", options.bus_bits);
  const int class_port = port_of_kind(circuit, StageKind::argmax);
  const int score_port = port_of_kind(circuit, StageKind::popcount);
  DIFFLUT_CHECK(class_port >= 0, "hdl: the streaming top needs a class output (an argmax stage)");
  DIFFLUT_CHECK(!options.scores || score_port >= 0,
                "hdl: scores requested on the stream, but the circuit has no popcount output");
  const vtext::Lang lang{core.sv};
  StreamDesign sd;
  sd.core = core.top;
  sd.bus_bits = options.bus_bits;
  const int B = options.bus_bits;
  const int64_t IN = core.input_bits;
  sd.beats = (IN + B - 1) / B;
  const int64_t BEATS = sd.beats;
  const int L = core.latency;
  // Credits: a sample is accepted only while fewer than `depth` are in the pipeline or the FIFO.
  // A sample holds a credit from the edge accepting its last beat until the edge after the one
  // delivering it (the credit returns from a register, m_fire_d: the output handshake then has
  // no combinational path to the input side, which sits across the chip and was the critical
  // path of a placed iCE40 design), at least L + 3 edges; L + 4 credits keep a sample per cycle
  // flowing when the sink is ready.
  sd.depth = L + 4;
  sd.class_bits = static_cast<int>(core.output_bits[static_cast<size_t>(class_port)]);
  sd.score_bits = options.scores ? core.output_bits[static_cast<size_t>(score_port)] : 0;
  const int64_t R = sd.class_bits + sd.score_bits;
  sd.out_bits = static_cast<int>((R + 7) / 8 * 8);
  const int CW = bits_for(static_cast<uint64_t>(sd.depth));
  const int PW = bits_for(static_cast<uint64_t>(sd.depth - 1));
  const std::string top = core.top + "_stream";
  const char* reg = lang.reg();
  const std::string ff = lang.always_ff("aclk");

  std::ostringstream os;
  os << "// " << top << ": " << core.top << " behind AXI4-Stream handshakes.\n//\n";
  os << "// Ports (all synchronous to the rising edge of aclk):\n"
     << "//   aresetn        synchronous reset, active low (clears the handshake state, not data)\n"
     << "//   s_axis_tdata   " << B << " bits a beat: sample bits [b*" << B << " +: " << B
     << "] in beat b, " << BEATS << " beat(s) a sample\n"
     << "//                  (the " << IN << " bits of " << core.top << "'s " << circuit.input_port
     << " port, the last beat zero-padded)\n"
     << "//   s_axis_tvalid / s_axis_tready   a beat moves on an edge where both are high\n"
     << "//   m_axis_tdata   " << sd.out_bits << " bits: [" << sd.class_bits - 1
     << ":0] the predicted class";
  if (sd.score_bits > 0)
    os << ", [" << R - 1 << ":" << sd.class_bits << "] the scores (core port scores)";
  os << "\n//   m_axis_tvalid / m_axis_tready   one result per sample, in input order\n//\n";
  os << "// Latency: " << L + 2
     << " cycles from the edge accepting a sample's last beat to the "
        "first edge that can deliver its result\n// (1: input buffer -> core, "
     << L << ": core pipeline, 1: output FIFO). Throughput: one sample per " << BEATS
     << " cycle(s) while both sides are ready.\n";
  os << "module " << top << " (\n"
     << "  " << lang.in() << " aclk,\n  " << lang.in() << " aresetn,\n"
     << "  " << lang.in() << " " << range(B) << " s_axis_tdata,\n"
     << "  " << lang.in() << " s_axis_tvalid,\n  " << lang.out() << " s_axis_tready,\n"
     << "  " << lang.out() << " " << range(sd.out_bits) << " m_axis_tdata,\n"
     << "  " << lang.out() << " m_axis_tvalid,\n  " << lang.in() << " m_axis_tready\n);\n";

  // Input buffer: beat b fills slice b, chosen by a one-hot token (no beat counter to decode).
  os << "  // Input buffer: beat b writes slice b; token is one-hot on the slice the next beat "
        "fills.\n";
  const bool padded = BEATS * B > IN;
  if (padded) os << "  /* verilator lint_off UNUSEDSIGNAL */\n";
  os << "  " << reg << " " << range(BEATS * B) << " buffer;\n";
  if (padded) os << "  /* verilator lint_on UNUSEDSIGNAL */\n";
  os << "  " << reg << " " << range(BEATS) << " token;\n";
  os << "  " << reg << " " << range(CW) << " credits;  // samples accepted and not yet delivered\n";
  os << "  wire last_beat = token[" << BEATS - 1 << "];\n";
  // full == (credits == depth), kept as a register beside credits so that the ready and the
  // credit update are one LUT apart (a compare of credits in between was a critical path on iCE40).
  os << "  " << reg << " full;  // every credit is taken\n";
  os << "  assign s_axis_tready = !last_beat || !full;\n";
  os << "  wire s_fire = s_axis_tvalid && s_axis_tready;\n";
  os << "  wire accept = s_fire && last_beat;  // a complete sample enters\n";
  os << "  " << ff << " begin\n    if (!aresetn) token <= " << lit(static_cast<int>(BEATS), 1)
     << ";\n";
  if (BEATS > 1)
    os << "    else if (s_fire) token <= {token[" << BEATS - 2 << ":0], token[" << BEATS - 1
       << "]};\n";
  os << "  end\n";
  // Slice b follows the bus while the token is on it, so it holds the bus at the edge that moves
  // the token on: the edge accepting beat b. (It also takes whatever the bus carries while the
  // source idles, which is harmless: the core reads the buffer in the cycle after the last beat,
  // and a slice is only rewritten after that edge.) The token bit is the flip-flops' enable
  // directly: no enable logic per slice.
  os << "  " << ff << " begin\n";
  for (int64_t b = 0; b < BEATS; ++b)
    os << "    if (token[" << b << "]) buffer[" << b * B + B - 1 << ":" << b * B
       << "] <= s_axis_tdata;\n";
  os << "  end\n";
  os << "  " << reg << " in_valid;  // the buffer holds a complete sample this cycle\n";
  os << "  " << ff << " in_valid <= aresetn && accept;\n\n";

  // The core.
  os << "  // The inference core (latency " << L << ").\n";
  std::vector<std::string> port_wire;
  for (size_t o = 0; o < circuit.outputs.size(); ++o) {
    const std::string w = "core_" + circuit.outputs[o].port;
    const bool used =
        static_cast<int>(o) == class_port || (static_cast<int>(o) == score_port && options.scores);
    if (!used) os << "  /* verilator lint_off UNUSEDSIGNAL */\n";
    os << "  wire " << range(core.output_bits[o]) << " " << w << ";\n";
    if (!used) os << "  /* verilator lint_on UNUSEDSIGNAL */\n";
    port_wire.push_back(w);
  }
  os << "  " << core.top << " u_core (";
  if (core.has_clock()) os << ".clk(aclk), ";
  os << "." << circuit.input_port << "(buffer[" << IN - 1 << ":0])";
  for (size_t o = 0; o < circuit.outputs.size(); ++o)
    os << ", ." << circuit.outputs[o].port << "(" << port_wire[o] << ")";
  os << ");\n";
  if (L > 0) {
    os << "  // Valid bits travel beside the core's pipeline.\n";
    os << "  " << reg << " " << range(L) << " valid_pipe;\n";
    os << "  " << ff << " valid_pipe <= aresetn ? ";
    if (L == 1)
      os << "in_valid";
    else
      os << "{valid_pipe[" << L - 2 << ":0], in_valid}";
    os << " : " << lit(L, 0) << ";\n";
    os << "  wire result_valid = valid_pipe[" << L - 1 << "];\n\n";
  } else {
    os << "  wire result_valid = in_valid;\n\n";
  }

  // Output FIFO.
  os << "  // Output FIFO: " << sd.depth << " entries, as many as samples can be in flight.\n";
  os << "  " << reg << " " << range(R) << " fifo [0:" << sd.depth - 1 << "];\n";
  os << "  " << reg << " " << range(PW) << " wr_ptr;\n  " << reg << " " << range(PW)
     << " rd_ptr;\n  " << reg << " " << range(CW) << " fill;\n";
  // m_axis_tvalid is a register equal to fill != 0 (its next value computed beside fill's): the
  // pin's logic cell then sits in no register-to-register path of more than one LUT (as a LUT on
  // fill it was placed at the pin, and fill -> pin -> fill was the critical path of a placed
  // iCE40 design).
  os << "  " << reg << " out_valid;  // fill != 0, registered\n";
  os << "  assign m_axis_tvalid = out_valid;\n";
  os << "  wire m_fire = out_valid && m_axis_tready;\n";
  os << "  " << ff << " out_valid <= aresetn && (result_valid || fill > " << lit(CW, 1)
     << " || (fill == " << lit(CW, 1) << " && !m_fire));\n";
  os << "  " << reg << " m_fire_d;  // a result left last cycle: its credit returns now\n";
  os << "  " << ff << " m_fire_d <= aresetn && m_fire;\n";
  os << "  assign m_axis_tdata = ";
  if (sd.out_bits > R)
    os << "{" << sd.out_bits - R << "'d0, fifo[rd_ptr]};\n";
  else
    os << "fifo[rd_ptr];\n";
  os << "  " << ff << " if (result_valid) fifo[wr_ptr] <= ";
  if (sd.score_bits > 0)
    os << "{" << port_wire[static_cast<size_t>(score_port)] << ", "
       << port_wire[static_cast<size_t>(class_port)] << "};\n";
  else
    os << port_wire[static_cast<size_t>(class_port)] << ";\n";
  auto bump = [&](const std::string& v, int w, const std::string& up, const std::string& down) {
    os << "      if (" << up << " && !" << down << ") " << v << " <= " << v << " + " << lit(w, 1)
       << ";\n      else if (!" << up << " && " << down << ") " << v << " <= " << v << " - "
       << lit(w, 1) << ";\n";
  };
  auto wrap = [&](const std::string& p) {
    return str_cat(p, " <= ", p, " == ", lit(PW, sd.depth - 1), " ? ", lit(PW, 0), " : ", p, " + ",
                   lit(PW, 1), ";");
  };
  os << "  " << ff << " begin\n    if (!aresetn) begin\n      wr_ptr <= " << lit(PW, 0)
     << ";\n      rd_ptr <= " << lit(PW, 0) << ";\n      fill <= " << lit(CW, 0)
     << ";\n      credits <= " << lit(CW, 0) << ";\n      full <= 1'b0;\n    end else begin\n";
  os << "      if (result_valid) " << wrap("wr_ptr") << "\n";
  os << "      if (m_fire) " << wrap("rd_ptr") << "\n";
  bump("fill", CW, "result_valid", "m_fire");
  bump("credits", CW, "accept", "m_fire_d");
  os << "      if (accept && !m_fire_d) full <= credits == " << lit(CW, sd.depth - 1)
     << ";\n      else if (!accept && m_fire_d) full <= 1'b0;\n";
  os << "    end\n  end\nendmodule\n";

  sd.design = core;
  sd.design.top = top;
  sd.design.latency = L + 2;
  sd.design.input_bits = B;
  sd.design.output_bits = {sd.out_bits};
  sd.design.files.push_back({top + lang.ext(), vtext::kPreamble + os.str() + vtext::kEpilogue});
  return sd;
}

VerilogFile write_stream_testbench(const Circuit& circuit, const StreamDesign& sd, int64_t count,
                                   const std::string& vectors_file,
                                   const StreamBenchOptions& options) {
  DIFFLUT_CHECK(count >= 1, "hdl: a testbench needs at least one vector");
  DIFFLUT_CHECK(options.valid_percent >= 1 && options.valid_percent <= 100 &&
                    options.ready_percent >= 1 && options.ready_percent <= 100,
                "hdl: expected valid and ready percentages in [1, 100], found ",
                options.valid_percent, " and ", options.ready_percent);
  const VerilogDesign& core = sd.design;
  const std::string tb = "tb_" + core.top;
  // The vector file: the core's input bits, then each output port (vectors_hex's packing).
  const Stage& in = circuit.input();
  const int64_t in_bits = in.size * in.width;
  int64_t off = in_bits, class_off = -1, score_off = -1;
  for (const OutputPort& p : circuit.outputs) {
    const Stage& st = circuit.stages[static_cast<size_t>(p.stage)];
    if (st.kind == StageKind::argmax) class_off = off;
    if (st.kind == StageKind::popcount) score_off = off;
    off += st.size * st.width;
  }
  const int64_t vec_bits = off, B = sd.bus_bits, BEATS = sd.beats;
  const int64_t R = sd.class_bits + sd.score_bits;
  // Generous timeout: every beat and result stalled 1/p of the time, plus the pipeline.
  const int64_t limit =
      count * (BEATS + 1) * 100 * 100 / std::min(options.valid_percent, options.ready_percent) +
      1000 + 10 * core.latency;
  std::ostringstream os;
  os << vtext::kPreamble;
  os << "// Self-checking testbench of " << core.top << " (AXI4-Stream): " << count
     << " samples from " << vectors_file << ", the source offering\n// a beat "
     << options.valid_percent << " % and the sink ready " << options.ready_percent
     << " % of the cycles (xorshift32, seed " << options.seed << "); every result is compared\n"
     << "// in order. Last lines: latency=L cycles=C, mismatches=N vectors=M.\n";
  os << "module " << tb << ";\n";
  os << "  localparam integer N = " << count << ";\n  localparam integer IN_BITS = " << in_bits
     << ";\n  localparam integer VEC_BITS = " << vec_bits << ";\n  localparam integer B = " << B
     << ";\n  localparam integer BEATS = " << BEATS << ";\n";
  os << "  reg [VEC_BITS-1:0] vectors [0:N-1];\n  reg [VEC_BITS-1:0] expect_v;\n"
     << "  reg [BEATS*B-1:0] sample_bits;\n  reg [" << R - 1 << ":0] expect_r;\n";
  os << "  reg aclk, aresetn, s_axis_tvalid, m_axis_tready;\n  reg [B-1:0] s_axis_tdata;\n"
     << "  wire s_axis_tready, m_axis_tvalid;\n  wire [" << sd.out_bits - 1
     << ":0] m_axis_tdata;\n";
  os << "  reg [31:0] rng;\n  integer sent, beat, received, mismatches, cycle, first_accept, "
        "latency;\n";
  os << "  " << core.top
     << " dut (.aclk(aclk), .aresetn(aresetn), .s_axis_tdata(s_axis_tdata), "
        ".s_axis_tvalid(s_axis_tvalid),\n    .s_axis_tready(s_axis_tready), "
        ".m_axis_tdata(m_axis_tdata), .m_axis_tvalid(m_axis_tvalid), "
        ".m_axis_tready(m_axis_tready));\n\n";
  os << "  task next_random;\n    begin\n      rng = rng ^ (rng << 13);\n      rng = rng ^ (rng >> "
        "17);\n      rng = rng ^ (rng << 5);\n    end\n  endtask\n\n";
  os << "  initial begin\n    $readmemh(\"" << vectors_file << "\", vectors);\n"
     << "    rng = 32'd" << (options.seed == 0 ? 1u : options.seed) << ";\n"
     << "    aclk = 1'b0; aresetn = 1'b0; s_axis_tvalid = 1'b0; m_axis_tready = 1'b0;\n"
     << "    s_axis_tdata = {B{1'b0}};\n"
     << "    sent = 0; beat = 0; received = 0; mismatches = 0; cycle = 0; first_accept = -1; "
        "latency = -1;\n"
     << "    repeat (3) begin #5 aclk = 1'b1; #5 aclk = 1'b0; end\n"
     << "    aresetn = 1'b1;\n"
     << "    forever begin #5 aclk = 1'b1; #5 aclk = 1'b0; end\n  end\n\n";
  // Everything below runs at the rising edge and reads the values from before it (the DUT's
  // registers update with nonblocking assignments), then sets the next cycle's inputs.
  os << "  always @(posedge aclk) if (aresetn) begin\n"
     << "    cycle = cycle + 1;\n"
     << "    if (m_axis_tvalid && m_axis_tready) begin\n"
     << "      if (received == 0) latency = cycle - first_accept;\n"
     << "      if (received < N) begin\n"
     << "        expect_v = vectors[received];\n"
     << "        expect_r[" << sd.class_bits - 1 << ":0] = expect_v["
     << class_off + sd.class_bits - 1 << ":" << class_off << "];\n";
  if (sd.score_bits > 0)
    os << "        expect_r[" << R - 1 << ":" << sd.class_bits << "] = expect_v["
       << score_off + sd.score_bits - 1 << ":" << score_off << "];\n";
  os << "      end\n"
     << "      if (received >= N || m_axis_tdata[" << R - 1 << ":0] !== expect_r) begin\n"
     << "        mismatches = mismatches + 1;\n"
     << "        if (mismatches <= 10) $display(\"mismatch at vector %0d: m_axis_tdata = %h, "
        "expected %h\", received, m_axis_tdata, expect_r);\n"
     << "      end\n"
     << "      received = received + 1;\n    end\n"
     << "    if (s_axis_tvalid && s_axis_tready) begin\n"
     << "      if (beat == BEATS - 1) begin\n"
     << "        if (sent == 0) first_accept = cycle;\n"
     << "        beat = 0; sent = sent + 1;\n"
     << "      end else beat = beat + 1;\n    end\n"
     // AXI: a beat once offered stays offered (same data) until it is taken.
     << "    if (!(s_axis_tvalid && !s_axis_tready)) begin\n"
     << "      next_random;\n"
     << "      if (sent < N && (rng % 100) < " << options.valid_percent << ") begin\n"
     << "        sample_bits = {BEATS*B{1'b0}};\n"
     << "        sample_bits[IN_BITS-1:0] = vectors[sent][IN_BITS-1:0];\n"
     << "        s_axis_tdata <= sample_bits[beat*B +: B];\n"
     << "        s_axis_tvalid <= 1'b1;\n"
     << "      end else s_axis_tvalid <= 1'b0;\n    end\n"
     << "    next_random;\n"
     << "    m_axis_tready <= (rng % 100) < " << options.ready_percent << ";\n"
     << "    if (received >= N || cycle > " << limit << ") begin\n"
     << "      if (received < N) begin\n"
     << "        $display(\"timeout after %0d cycles: %0d of %0d results\", cycle, received, N);\n"
     << "        mismatches = mismatches + (N - received);\n      end\n"
     << "      $display(\"latency=%0d cycles=%0d\", latency, cycle);\n"
     << "      $display(\"mismatches=%0d vectors=%0d\", mismatches, received);\n"
     << "      $finish;\n    end\n  end\nendmodule\n"
     << vtext::kEpilogue;
  return {tb + ".v", os.str()};
}

}  // namespace difflut::hdl
