// Verilog text for the circuit IR. Each stage kind has one emitter; the top module wires stage
// modules together, inserts pipeline registers and aligns the outputs to one latency.
#include "hdl/verilog.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "tensor/error.h"

namespace difflut::hdl {

namespace {
std::string range(int64_t bits) { return str_cat("[", bits - 1, ":0]"); }

// Word m of a vector of `width`-bit words: x[hi:lo], or x[i] for bits.
std::string word(const std::string& v, int64_t m, int width) {
  if (width == 1) return str_cat(v, "[", m, "]");
  return str_cat(v, "[", m * width + width - 1, ":", m * width, "]");
}

std::string zext(const std::string& e, int from, int to) {
  if (from == to) return e;
  return str_cat("{", to - from, "'d0, ", e, "}");
}

std::string hex_table(const uint8_t* bits, int64_t n) {
  // n bits, bit a = bits[a]; printed most significant digit first.
  const int64_t digits = (n + 3) / 4;
  std::string s = str_cat(n, "'h");
  for (int64_t d = digits - 1; d >= 0; --d) {
    int v = 0;
    for (int b = 3; b >= 0; --b) {
      const int64_t a = d * 4 + b;
      v = v * 2 + (a < n ? bits[a] : 0);
    }
    s.push_back("0123456789abcdef"[v]);
  }
  return s;
}

// y driven once, as a concatenation of per-word wires (prefix + index), highest word first.
// One driver per output bus matters for Icarus: a bus with thousands of partial drivers is
// re-resolved on every driver change (about 100x slower on the default model's first layers).
void concat_output(std::ostringstream& os, const std::string& prefix, int64_t n) {
  os << "  assign y = {";
  for (int64_t m = n - 1; m >= 0; --m) {
    if ((n - 1 - m) % 16 == 0) os << "\n   ";
    os << " " << prefix << m << (m ? "," : "");
  }
  os << "\n  };\n";
}

// Module header. `x_all_read` false wraps x in a lint waiver: the stage reads only some of its
// source's words (a mapping need not use every bit), which is by design, not a bug.
void header(std::ostringstream& os, const std::string& module, const Stage& st, const Stage& src,
            bool x_all_read, const std::string& what) {
  os << "// " << module << ": " << what << "\n";
  if (st.node_name.empty())
    os << "// Appended by the export (no graph node): reads '" << src.name << "'.\n";
  else
    os << "// Lowered from graph node '" << st.node_name << "' (op " << st.op << ").\n";
  os << "// x: " << src.size << " words of " << src.width << " bit(s) (word m = x[m*"
     << src.width << " +: " << src.width << "]); y: " << st.size << " words of " << st.width
     << " bit(s).\n";
  os << "module " << module << " (\n";
  if (!x_all_read) os << "  /* verilator lint_off UNUSEDSIGNAL */\n";
  os << "  input  wire " << range(src.size * src.width) << " x,\n";
  if (!x_all_read) os << "  /* verilator lint_on UNUSEDSIGNAL */\n";
  os << "  output wire " << range(st.size * st.width) << " y\n);\n";
}

bool reads_all(const std::vector<int64_t>& index, int64_t n) {
  std::vector<char> seen(static_cast<size_t>(n), 0);
  for (int64_t m : index) seen[static_cast<size_t>(m)] = 1;
  return std::all_of(seen.begin(), seen.end(), [](char c) { return c != 0; });
}

std::string emit_compare(const std::string& module, const Stage& st, const Stage& src) {
  std::vector<int64_t> read;
  const uint32_t never = static_cast<uint32_t>(uint64_t{1} << src.width);
  for (int64_t m = 0; m < st.size; ++m) {
    const uint32_t t = st.threshold[static_cast<size_t>(m)];
    if (t != 0 && t != never) read.push_back(st.index[static_cast<size_t>(m)]);
  }
  std::ostringstream os;
  header(os, module, st, src, reads_all(read, src.size),
         "comparators, y[m] = (code of word index[m]) >= threshold code");
  // thermometer compares x > t (strict), threshold_ste x >= t.
  const char* rel = st.op == "thermometer" ? " > " : " >= ";
  os << "  // Each threshold code c is the smallest code whose value the software compares as "
        "true;\n  // the comment gives the graph node's float comparison (9 digits: exact for "
        "f32).\n";
  os << std::setprecision(9);
  for (int64_t m = 0; m < st.size; ++m) {
    const int64_t i = st.index[static_cast<size_t>(m)];
    const uint32_t t = st.threshold[static_cast<size_t>(m)];
    os << "  wire b" << m << " = ";
    if (t == 0) os << "1'b1";
    else if (t == never) os << "1'b0";
    else os << word("x", i, src.width) << " >= " << src.width << "'d" << t;
    os << ";  // word " << i << rel << st.threshold_value[static_cast<size_t>(m)] << "\n";
  }
  concat_output(os, "b", st.size);
  os << "endmodule\n";
  return os.str();
}

std::string emit_wires(const std::string& module, const Stage& st, const Stage& src) {
  std::ostringstream os;
  header(os, module, st, src, reads_all(st.index, src.size), "wires, y[m] = x[index[m]]");
  for (int64_t m = 0; m < st.size; ++m) {
    os << "  wire ";
    if (st.width > 1) os << range(st.width) << " ";
    os << "w" << m << " = " << word("x", st.index[static_cast<size_t>(m)], src.width) << ";\n";
  }
  concat_output(os, "w", st.size);
  os << "endmodule\n";
  return os.str();
}

// Shannon expansion of a truth table over address bits [0, level]: bit `level` selects between the
// upper and lower half. Halves that are equal are shared (a node that ignores an input does not
// test it). Written as a mux tree rather than a constant indexed by the address because Yosys
// expands `T[addr]` into one specialised shift module per distinct table, which takes minutes for
// thousands of nodes; the mux tree maps to the same single LUT in seconds.
std::string mux_tree(const uint8_t* bits, int64_t n, const std::vector<std::string>& in, int level) {
  bool constant = true;
  for (int64_t a = 1; a < n && constant; ++a) constant = bits[a] == bits[0];
  if (constant) return bits[0] ? "1'b1" : "1'b0";
  const int64_t h = n / 2;
  bool same = true;
  for (int64_t a = 0; a < h && same; ++a) same = bits[a] == bits[h + a];
  if (same) return mux_tree(bits, h, in, level - 1);
  const std::string lo = mux_tree(bits, h, in, level - 1);
  const std::string hi = mux_tree(bits + h, h, in, level - 1);
  const std::string& sel = in[static_cast<size_t>(level)];
  if (hi == "1'b1" && lo == "1'b0") return sel;
  if (hi == "1'b0" && lo == "1'b1") return "!" + sel;
  return str_cat("(", sel, " ? ", hi, " : ", lo, ")");
}

std::string emit_lut(const std::string& module, const Stage& st, const Stage& src) {
  const LutLayout lay = lut_layout(st);
  auto node_table = [&](int64_t j) {
    return st.table.data() + lay.table_begin[static_cast<size_t>(j)];
  };
  // A node that ignores one of its inputs does not read that bit (the mux tree skips it).
  bool all_read = true;
  for (int64_t j = 0; j < st.size && all_read; ++j) {
    const int f = st.lut_fanin(j);
    const uint8_t* t = node_table(j);
    for (int l = 0; l < f && all_read; ++l) {
      bool depends = false;
      for (int64_t a = 0; a < (int64_t{1} << f) && !depends; ++a)
        depends = t[a] != t[a ^ (int64_t{1} << l)];
      all_read = depends;
    }
  }
  const bool uniform = st.fanin.empty();
  std::ostringstream os;
  header(os, module, st, src, all_read,
         uniform ? str_cat(st.size, " LUT", st.k, " nodes, y[j] = T_j[address of node j]")
                 : str_cat(st.size, " LUT nodes of up to ", st.k,
                           " inputs (optimised netlist), y[j] = T_j[address of node j]"));
  if (uniform)
    os << "  // Node j (wire nj = y[j]) reads x[j*" << st.k << " +: " << st.k
       << "]; input l is address bit l (least significant first).\n";
  else
    os << "  // Node j (wire nj = y[j]) reads its own fan-in of consecutive bits of x (given per "
          "node);\n  // input l is address bit l (least significant first).\n";
  os << "  // Each node is its truth table T_j (hex, bit a = output at address a), written as a\n"
        "  // mux tree over the address bits, most significant first.\n";
  std::vector<std::string> in;
  for (int64_t j = 0; j < st.size; ++j) {
    const int f = st.lut_fanin(j);
    const int64_t b = lay.input_begin[static_cast<size_t>(j)];
    in.assign(static_cast<size_t>(f), "");
    for (int l = 0; l < f; ++l) in[static_cast<size_t>(l)] = str_cat("x[", b + l, "]");
    os << "  // node " << j << ": T_" << j << " = " << hex_table(node_table(j), int64_t{1} << f);
    if (!uniform) os << " over x[" << b << " +: " << f << "]";
    os << "\n";
    os << "  wire n" << j << " = " << mux_tree(node_table(j), int64_t{1} << f, in, f - 1) << ";\n";
  }
  concat_output(os, "n", st.size);
  os << "endmodule\n";
  return os.str();
}

std::string emit_popcount(const std::string& module, const Stage& st, const Stage& src) {
  std::vector<int64_t> read;
  for (int64_t c = 0; c < st.size; ++c)
    for (int64_t m = st.group_begin[static_cast<size_t>(c)]; m < st.group_end[static_cast<size_t>(c)]; ++m)
      read.push_back(m);
  std::ostringstream os;
  header(os, module, st, src, reads_all(read, src.size),
         "popcount per group (GroupSum), balanced adder trees");
  os << "  // y[c] = number of ones in x[begin_c, end_c); each sum is exactly as wide as its "
        "largest count.\n";
  struct Term {
    std::string expr;
    int width;
    int64_t count;
  };
  for (int64_t c = 0; c < st.size; ++c) {
    const int64_t b = st.group_begin[static_cast<size_t>(c)], e = st.group_end[static_cast<size_t>(c)];
    os << "  // group " << c << ": x[" << b << ", " << e << ")\n";
    // Level 1 adds bits in threes (full adders: a 2-bit count each), later levels add pairs. With
    // Yosys + ABC LUT6 mapping this takes about 1.4 LUTs per input bit, against 1.9 for a plain
    // binary tree of bits (measured on 100-bit groups).
    std::vector<Term> terms;
    for (int64_t m = b; m < e; m += 3) {
      const int64_t cnt = std::min<int64_t>(3, e - m);
      if (cnt == 1) {
        terms.push_back({str_cat("x[", m, "]"), 1, 1});
        continue;
      }
      const std::string name = str_cat("g", c, "_l1_", (m - b) / 3);
      os << "  wire [1:0] " << name << " = ";
      for (int64_t i = 0; i < cnt; ++i) os << (i ? " + " : "") << "{1'd0, x[" << m + i << "]}";
      os << ";\n";
      terms.push_back({name, 2, cnt});
    }
    int level = 1;
    while (terms.size() > 1) {
      ++level;
      std::vector<Term> next;
      for (size_t i = 0; i + 1 < terms.size(); i += 2) {
        const Term& l = terms[i];
        const Term& r = terms[i + 1];
        const int64_t cnt = l.count + r.count;
        const int w = bits_for(static_cast<uint64_t>(cnt));
        const std::string name = str_cat("g", c, "_l", level, "_", i / 2);
        os << "  wire " << range(w) << " " << name << " = " << zext(l.expr, l.width, w) << " + "
           << zext(r.expr, r.width, w) << ";\n";
        next.push_back({name, w, cnt});
      }
      if (terms.size() % 2) next.push_back(terms.back());
      terms = std::move(next);
    }
    os << "  wire " << range(st.width) << " count" << c << " = ";
    const int64_t off = st.group_offset(c);
    if (terms.empty()) os << st.width << "'d" << off;
    else os << zext(terms[0].expr, terms[0].width, st.width);
    if (!terms.empty() && off > 0)
      os << " + " << st.width << "'d" << off << ";  // + constant ones folded by the optimiser\n";
    else
      os << ";\n";
  }
  concat_output(os, "count", st.size);
  os << "endmodule\n";
  return os.str();
}

std::string emit_argmax(const std::string& module, const Stage& st, const Stage& src) {
  std::ostringstream os;
  header(os, module, st, src, src.size > 1,
         "argmax comparator tree; ties go to the lowest index");
  os << "  // Tie rule: a node takes its right (higher-index) operand only if it is strictly "
        "greater,\n  // and the left subtree always holds the lower indices, so the first maximum "
        "wins\n  // (the argmax op's rule).\n";
  if (src.size == 1) {
    os << "  assign y = " << st.width << "'d0;\nendmodule\n";
    return os.str();
  }
  struct Cand {
    std::string value, index;
  };
  std::vector<Cand> cands;
  for (int64_t i = 0; i < src.size; ++i)
    cands.push_back({word("x", i, src.width), str_cat(st.width, "'d", i)});
  int level = 0;
  while (cands.size() > 1) {
    ++level;
    std::vector<Cand> next;
    for (size_t i = 0; i + 1 < cands.size(); i += 2) {
      const Cand& l = cands[i];
      const Cand& r = cands[i + 1];
      const std::string n = str_cat("l", level, "_", i / 2);
      os << "  wire take_" << n << " = " << r.value << " > " << l.value << ";\n";
      const bool root = cands.size() == 2;  // the root's value is not needed, only its index
      if (!root)
        os << "  wire " << range(src.width) << " v_" << n << " = take_" << n << " ? " << r.value
           << " : " << l.value << ";\n";
      os << "  wire " << range(st.width) << " i_" << n << " = take_" << n << " ? " << r.index
         << " : " << l.index << ";\n";
      next.push_back({"v_" + n, "i_" + n});
    }
    if (cands.size() % 2) next.push_back(cands.back());
    cands = std::move(next);
  }
  os << "  assign y = " << cands[0].index << ";\n";
  os << "endmodule\n";
  return os.str();
}

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
  const std::string top = verilog_identifier(options.top);
  VerilogDesign d;
  d.top = top;
  d.registered_after = pipeline_stages(circuit, options.pipeline_every);
  d.latency = static_cast<int>(d.registered_after.size());
  const size_t S = circuit.stages.size();
  d.stage_module.assign(S, "");

  for (size_t s = 1; s < S; ++s) {
    const Stage& st = circuit.stages[s];
    const Stage& src = circuit.stages[static_cast<size_t>(st.source)];
    const std::string module = top + "_" + st.name;
    d.stage_module[s] = module;
    std::string text;
    switch (st.kind) {
      case StageKind::compare: text = emit_compare(module, st, src); break;
      case StageKind::wires: text = emit_wires(module, st, src); break;
      case StageKind::lut: text = emit_lut(module, st, src); break;
      case StageKind::popcount: text = emit_popcount(module, st, src); break;
      case StageKind::argmax: text = emit_argmax(module, st, src); break;
      case StageKind::input: break;
    }
    d.files.push_back({module + ".v", "// Generated by difflut hdl; do not edit.\n" + text});
  }

  // The top module.
  std::vector<int> delay(S, 0);          // register banks before stage s's signal
  std::vector<std::string> signal(S);    // what consumers of stage s read
  std::vector<char> reg_after(S, 0);
  for (int s : d.registered_after) reg_after[static_cast<size_t>(s)] = 1;
  const Stage& in = circuit.input();
  d.input_bits = in.size * in.width;

  std::ostringstream body;
  signal[0] = circuit.input_port;
  for (size_t s = 1; s < S; ++s) {
    const Stage& st = circuit.stages[s];
    const size_t src = static_cast<size_t>(st.source);
    const int64_t bits = st.size * st.width;
    body << "\n  // " << st.name << ": " << stage_kind_name(st.kind) << ", " << st.size
         << " x " << st.width << " bit(s)";
    if (!st.node_name.empty()) body << ", node '" << st.node_name << "' (op " << st.op << ")";
    body << "\n";
    body << "  wire " << range(bits) << " " << st.name << ";\n";
    body << "  " << d.stage_module[s] << " u_" << st.name << " (.x(" << signal[src] << "), .y("
         << st.name << "));\n";
    delay[s] = delay[src];
    signal[s] = st.name;
    if (reg_after[s]) {
      body << "  reg " << range(bits) << " " << st.name << "_q;\n";
      body << "  always @(posedge clk) " << st.name << "_q <= " << st.name << ";\n";
      signal[s] = st.name + "_q";
      delay[s] += 1;
    }
  }
  // Outputs: delay each to the full latency so all ports describe the same input sample.
  for (const OutputPort& o : circuit.outputs) {
    const size_t s = static_cast<size_t>(o.stage);
    const Stage& st = circuit.stages[s];
    const int64_t bits = st.size * st.width;
    d.output_bits.push_back(bits);
    std::string sig = signal[s];
    for (int t = delay[s]; t < d.latency; ++t) {
      const std::string n = str_cat(o.port, "_d", t + 1);
      body << "  reg " << range(bits) << " " << n << ";\n";
      body << "  always @(posedge clk) " << n << " <= " << sig << ";\n";
      sig = n;
    }
    body << "  assign " << o.port << " = " << sig << ";\n";
  }

  std::ostringstream os;
  os << "// Generated by difflut hdl; do not edit.\n";
  os << "// " << top << ": the inference circuit of a DiffLUT model.\n//\n// Ports:\n";
  if (d.latency > 0)
    os << "//   clk          rising edge advances the pipeline (no reset: outputs are valid "
       << d.latency << " cycles after an input)\n";
  os << "//   " << circuit.input_port << " [" << d.input_bits - 1 << ":0]  " << in.size
     << " words of " << in.width << " bit(s); word f = " << circuit.input_port << "[f*"
     << in.width << " +: " << in.width << "]"
     << (in.width == 1 ? " (encoded bits)" : " (raw feature codes)") << "\n";
  for (size_t o = 0; o < circuit.outputs.size(); ++o) {
    const Stage& st = circuit.stages[static_cast<size_t>(circuit.outputs[o].stage)];
    os << "//   " << circuit.outputs[o].port << " [" << d.output_bits[o] - 1 << ":0]  " << st.size
       << " word(s) of " << st.width << " bit(s), word i = " << circuit.outputs[o].port << "[i*"
       << st.width << " +: " << st.width << "]; " << describe_port(st) << "\n";
  }
  os << "//\n// Latency: " << d.latency << " clock cycle(s)";
  if (d.latency == 0) os << " (combinational)";
  else {
    os << "; registers after:";
    for (int s : d.registered_after) os << " " << circuit.stages[static_cast<size_t>(s)].name;
  }
  os << ".\nmodule " << top << " (\n";
  if (d.latency > 0) os << "  input  wire clk,\n";
  os << "  input  wire " << range(d.input_bits) << " " << circuit.input_port;
  for (size_t o = 0; o < circuit.outputs.size(); ++o)
    os << ",\n  output wire " << range(d.output_bits[o]) << " " << circuit.outputs[o].port;
  os << "\n);\n" << body.str() << "endmodule\n";
  d.files.push_back({top + ".v", os.str()});
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
