// Stage modules: comparators, wires, LUT layers, popcount adder trees and the argmax comparator
// tree, each with one port per word (see verilog_stages.h), and optional registers inside the
// popcount and argmax trees.
#include "hdl/verilog_stages.h"

#include <algorithm>
#include <iomanip>
#include <set>
#include <sstream>
#include <vector>

namespace difflut::hdl {

using vtext::range;
using vtext::word_range;
using vtext::zext;

namespace {
std::string xw(int64_t i) { return str_cat("x", i); }

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

// Module header: comment, clk (when clocked), one input port per source word, one output port per
// word. Source words the stage does not read are wrapped in a lint waiver: a mapping need not use
// every bit, which is by design, not a bug.
void header(std::ostringstream& os, const std::string& module, const Stage& st, const Stage& src,
            const std::vector<char>& read, const vtext::Lang& lang, bool clocked,
            const std::string& what) {
  os << "// " << module << ": " << what << "\n";
  if (st.node_name.empty())
    os << "// Appended by the export (no graph node): reads '" << src.name << "'.\n";
  else
    os << "// Lowered from graph node '" << st.node_name << "' (op " << st.op << ").\n";
  os << "// x<m>: source word m (" << src.size << " words of " << src.width << " bit(s)); y<m>: "
     << "output word m (" << st.size << " words of " << st.width << " bit(s)).\n";
  os << "module " << module << " (\n";
  if (clocked) os << "  " << lang.in() << " clk,\n";
  bool waived = false;
  for (int64_t m = 0; m < src.size; ++m) {
    const bool unread = !read[static_cast<size_t>(m)];
    if (unread != waived) {
      os << (unread ? "  /* verilator lint_off UNUSEDSIGNAL */\n"
                    : "  /* verilator lint_on UNUSEDSIGNAL */\n");
      waived = unread;
    }
    os << "  " << lang.in() << " " << word_range(src.width) << xw(m) << ",\n";
  }
  if (waived) os << "  /* verilator lint_on UNUSEDSIGNAL */\n";
  for (int64_t m = 0; m < st.size; ++m)
    os << "  " << lang.out() << " " << word_range(st.width) << "y" << m
       << (m + 1 < st.size ? ",\n" : "\n");
  os << ");\n";
}

std::vector<char> read_mask(const std::vector<int64_t>& index, int64_t n) {
  std::vector<char> seen(static_cast<size_t>(n), 0);
  for (int64_t m : index) seen[static_cast<size_t>(m)] = 1;
  return seen;
}

StageModule emit_compare(const std::string& module, const Stage& st, const Stage& src,
                         const vtext::Lang& lang) {
  std::vector<int64_t> read;
  const uint32_t never = static_cast<uint32_t>(uint64_t{1} << src.width);
  for (int64_t m = 0; m < st.size; ++m) {
    const uint32_t t = st.threshold[static_cast<size_t>(m)];
    if (t != 0 && t != never) read.push_back(st.index[static_cast<size_t>(m)]);
  }
  std::ostringstream os;
  header(os, module, st, src, read_mask(read, src.size), lang, false,
         "comparators, y<m> = (code of word index[m]) >= threshold code");
  // thermometer compares x > t (strict), threshold_ste x >= t.
  const char* rel = st.op == "thermometer" ? " > " : " >= ";
  os << "  // Each threshold code c is the smallest code whose value the software compares as "
        "true;\n  // the comment gives the graph node's float comparison (9 digits: exact for "
        "f32).\n";
  os << std::setprecision(9);
  for (int64_t m = 0; m < st.size; ++m) {
    const int64_t i = st.index[static_cast<size_t>(m)];
    const uint32_t t = st.threshold[static_cast<size_t>(m)];
    os << "  assign y" << m << " = ";
    if (t == 0)
      os << "1'b1";
    else if (t == never)
      os << "1'b0";
    else
      os << xw(i) << " >= " << src.width << "'d" << t;
    os << ";  // word " << i << rel << st.threshold_value[static_cast<size_t>(m)] << "\n";
  }
  return {os.str(), 0, {}};
}

StageModule emit_wires(const std::string& module, const Stage& st, const Stage& src,
                       const vtext::Lang& lang) {
  std::ostringstream os;
  header(os, module, st, src, read_mask(st.index, src.size), lang, false,
         "wires, y<m> = x<index[m]>");
  for (int64_t m = 0; m < st.size; ++m)
    os << "  assign y" << m << " = " << xw(st.index[static_cast<size_t>(m)]) << ";\n";
  return {os.str(), 0, {}};
}

// Shannon expansion of a truth table over address bits [0, level]: bit `level` selects between the
// upper and lower half. Halves that are equal are shared (a node that ignores an input does not
// test it). Written as a mux tree rather than a constant indexed by the address because Yosys
// expands `T[addr]` into one specialised shift module per distinct table, which takes minutes for
// thousands of nodes; the mux tree maps to the same single LUT in seconds.
std::string mux_tree(const uint8_t* bits, int64_t n, const std::vector<std::string>& in,
                     int level) {
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

StageModule emit_lut(const std::string& module, const Stage& st, const Stage& src,
                     const vtext::Lang& lang) {
  const LutLayout lay = lut_layout(st);
  auto node_table = [&](int64_t j) {
    return st.table.data() + lay.table_begin[static_cast<size_t>(j)];
  };
  // A node that ignores one of its inputs does not read that bit (the mux tree skips it).
  std::vector<char> read(static_cast<size_t>(src.size), 0);
  for (int64_t j = 0; j < st.size; ++j) {
    const int f = st.lut_fanin(j);
    const uint8_t* t = node_table(j);
    for (int l = 0; l < f; ++l) {
      bool depends = false;
      for (int64_t a = 0; a < (int64_t{1} << f) && !depends; ++a)
        depends = t[a] != t[a ^ (int64_t{1} << l)];
      if (depends) read[static_cast<size_t>(lay.input_begin[static_cast<size_t>(j)] + l)] = 1;
    }
  }
  const bool uniform = st.fanin.empty();
  std::ostringstream os;
  header(os, module, st, src, read, lang, false,
         uniform ? str_cat(st.size, " LUT", st.k, " nodes, y<j> = T_j[address of node j]")
                 : str_cat(st.size, " LUT nodes of up to ", st.k,
                           " inputs (optimised netlist), y<j> = T_j[address of node j]"));
  if (uniform)
    os << "  // Node j (y<j>) reads x<j*" << st.k << " + l>, l < " << st.k
       << "; input l is address bit l (least significant first).\n";
  else
    os << "  // Node j (y<j>) reads its own fan-in of consecutive source words (given per "
          "node);\n  // input l is address bit l (least significant first).\n";
  os << "  // Each node is its truth table T_j (hex, bit a = output at address a), written as a\n"
        "  // mux tree over the address bits, most significant first.\n";
  std::vector<std::string> in;
  for (int64_t j = 0; j < st.size; ++j) {
    const int f = st.lut_fanin(j);
    const int64_t b = lay.input_begin[static_cast<size_t>(j)];
    in.assign(static_cast<size_t>(f), "");
    for (int l = 0; l < f; ++l) in[static_cast<size_t>(l)] = xw(b + l);
    os << "  // node " << j << ": T_" << j << " = " << hex_table(node_table(j), int64_t{1} << f);
    if (!uniform) os << " over x" << b << " .. x" << b + f - 1;
    os << "\n";
    os << "  assign y" << j << " = " << mux_tree(node_table(j), int64_t{1} << f, in, f - 1)
       << ";\n";
  }
  return {os.str(), 0, {}};
}

// A register bank inside a tree: `lines` are "name <= expr;" statements.
void register_bank(std::ostringstream& os, const vtext::Lang& lang,
                   const std::vector<std::string>& decls, const std::vector<std::string>& lines,
                   int level) {
  os << "  // pipeline registers after level " << level << "\n";
  for (const std::string& d : decls) os << "  " << lang.reg() << " " << d << ";\n";
  os << "  " << lang.always_ff("clk") << " begin\n";
  for (const std::string& l : lines) os << "    " << l << "\n";
  os << "  end\n";
}

// Adder levels a popcount tree of n bits needs: full adders over threes, then pairs.
int popcount_levels(int64_t n) {
  int64_t terms = (n + 2) / 3;
  int levels = 0;
  for (; terms > 1; terms = (terms + 1) / 2) ++levels;
  return levels;
}

struct PopTerm {
  std::string expr;
  int width;
  int64_t count;
};

// Balanced adder trees over groups of one-bit inputs (groups[c] = the inputs' names), written to
// `body`. Level 1 adds bits in threes (full adders: a 2-bit count each), later levels add pairs.
// With Yosys + ABC LUT6 mapping this takes about 1.4 LUTs per input bit, against 1.9 for a plain
// binary tree of bits (measured on 100-bit groups). Every group advances level by level for
// `levels` levels, so that a register bank (after every `every`-th level) cuts every group at the
// same depth, finished ones included: equal latency for every score. Returns each group's sum
// (an empty expr for an empty group) and counts the banks in `latency`.
std::vector<PopTerm> adder_trees(std::ostringstream& body, const vtext::Lang& lang,
                                 const std::vector<std::vector<std::string>>& groups_in,
                                 const std::vector<int64_t>& labels, int levels, int every,
                                 int& latency) {
  std::vector<std::vector<PopTerm>> groups(groups_in.size());
  for (size_t c = 0; c < groups_in.size(); ++c) {
    const std::vector<std::string>& in = groups_in[c];
    const int64_t n = static_cast<int64_t>(in.size());
    for (int64_t m = 0; m < n; m += 3) {
      const int64_t cnt = std::min<int64_t>(3, n - m);
      if (cnt == 1) {
        groups[c].push_back({in[static_cast<size_t>(m)], 1, 1});
        continue;
      }
      const std::string name = str_cat("g", labels[c], "_l1_", m / 3);
      body << "  wire [1:0] " << name << " = ";
      for (int64_t i = 0; i < cnt; ++i)
        body << (i ? " + " : "") << "{1'd0, " << in[static_cast<size_t>(m + i)] << "}";
      body << ";\n";
      groups[c].push_back({name, 2, cnt});
    }
  }
  latency = 0;
  for (int level = 1; level <= levels; ++level) {
    if (every > 0 && level % every == 0) {
      std::vector<std::string> decls, lines;
      for (size_t c = 0; c < groups.size(); ++c)
        for (size_t i = 0; i < groups[c].size(); ++i) {
          PopTerm& t = groups[c][i];
          const std::string r = str_cat("g", labels[c], "_r", level, "_", i);
          decls.push_back(word_range(t.width) + r);
          lines.push_back(str_cat(r, " <= ", t.expr, ";"));
          t.expr = r;
        }
      register_bank(body, lang, decls, lines, level);
      ++latency;
    }
    for (size_t c = 0; c < groups.size(); ++c) {
      std::vector<PopTerm>& terms = groups[c];
      if (terms.size() <= 1) continue;
      std::vector<PopTerm> next;
      for (size_t i = 0; i + 1 < terms.size(); i += 2) {
        const PopTerm& l = terms[i];
        const PopTerm& r = terms[i + 1];
        const int64_t cnt = l.count + r.count;
        const int w = bits_for(static_cast<uint64_t>(cnt));
        const std::string name = str_cat("g", labels[c], "_l", level + 1, "_", i / 2);
        body << "  wire " << range(w) << " " << name << " = " << zext(l.expr, l.width, w) << " + "
             << zext(r.expr, r.width, w) << ";\n";
        next.push_back({name, w, cnt});
      }
      if (terms.size() % 2) next.push_back(terms.back());
      terms = std::move(next);
    }
  }
  std::vector<PopTerm> out;
  for (const auto& g : groups) {
    DIFFLUT_ASSERT(g.size() <= 1);  // `levels` covers the widest group (popcount_levels)
    out.push_back(g.empty() ? PopTerm{"", 0, 0} : g[0]);
  }
  return out;
}

// Groups wider than this get a tree module of their own, instantiated once per group: Yosys
// keeps the hierarchy and maps each distinct tree once, where one module holding every tree of a
// merged CIFAR-10 ensemble (10 trees over 9,600 bits) was killed at 19.5 GB (docs/RESULTS.md).
// Narrower groups stay inline, as every design before that was written.
constexpr int64_t kInlineGroupBits = 1024;

// module `name`: y0 = popcount(x0 .. x<n-1>), `levels` adder levels (registers as adder_trees).
std::string popcount_tree_module(const std::string& name, int64_t n, int levels,
                                 const vtext::Lang& lang, int every, int& latency) {
  std::vector<std::string> in;
  for (int64_t i = 0; i < n; ++i) in.push_back(xw(i));
  std::ostringstream body;
  const PopTerm t = adder_trees(body, lang, {in}, {0}, levels, every, latency)[0];
  const int w = bits_for(static_cast<uint64_t>(n));
  std::ostringstream os;
  // Verilator's DECLFILENAME wants one module per file, named like it: the trees share the
  // stage's file so that its Yosys process maps them beside it (hdl/tools.cpp).
  os << "/* verilator lint_off DECLFILENAME */\n";
  os << "// " << name << ": y0 = number of ones among x0 .. x" << n - 1
     << " (one GroupSum group; instantiated per group of this size).\n";
  os << "module " << name << " (\n";
  if (latency > 0) os << "  " << lang.in() << " clk,\n";
  for (int64_t i = 0; i < n; ++i) os << "  " << lang.in() << " " << xw(i) << ",\n";
  os << "  " << lang.out() << " " << word_range(w) << "y0\n);\n";
  os << body.str();
  os << "  assign y0 = " << zext(t.expr, t.width, w) << ";\nendmodule\n";
  os << "/* verilator lint_on DECLFILENAME */\n";
  return os.str();
}

StageModule emit_popcount(const std::string& module, const Stage& st, const Stage& src,
                          const vtext::Lang& lang, int every) {
  std::vector<int64_t> read;
  std::vector<std::vector<std::string>> groups;
  std::vector<int64_t> labels;
  int levels = 0;
  int64_t widest = 0;
  for (int64_t c = 0; c < st.size; ++c) {
    const int64_t b = st.group_begin[static_cast<size_t>(c)],
                  e = st.group_end[static_cast<size_t>(c)];
    groups.emplace_back();
    for (int64_t m = b; m < e; ++m) {
      read.push_back(m);
      groups.back().push_back(xw(m));
    }
    labels.push_back(c);
    levels = std::max(levels, popcount_levels(e - b));
    widest = std::max(widest, e - b);
  }
  std::ostringstream body;
  std::string submodules;
  int latency = 0;
  std::vector<PopTerm> sums;
  if (widest <= kInlineGroupBits) {
    for (int64_t c = 0; c < st.size; ++c)
      body << "  // group " << c << ": x" << st.group_begin[static_cast<size_t>(c)] << " .. x"
           << st.group_end[static_cast<size_t>(c)] - 1 << "\n";
    sums = adder_trees(body, lang, groups, labels, levels, every, latency);
  } else {
    std::set<int64_t> sizes;
    for (const auto& g : groups)
      if (!g.empty()) sizes.insert(static_cast<int64_t>(g.size()));
    for (const int64_t n : sizes) {
      submodules += "\n";
      submodules +=
          popcount_tree_module(str_cat(module, "_tree", n), n, levels, lang, every, latency);
    }
    for (int64_t c = 0; c < st.size; ++c) {
      const std::vector<std::string>& g = groups[static_cast<size_t>(c)];
      if (g.empty()) {
        sums.push_back({"", 0, 0});
        continue;
      }
      const int64_t n = static_cast<int64_t>(g.size());
      const int w = bits_for(static_cast<uint64_t>(n));
      const std::string s = str_cat("s", c);
      body << "  wire " << range(w) << " " << s << ";\n";
      body << "  " << module << "_tree" << n << " tree" << c << " (";
      if (latency > 0) body << ".clk(clk), ";
      for (int64_t i = 0; i < n; ++i)
        body << ".x" << i << "(" << g[static_cast<size_t>(i)] << "), ";
      body << ".y0(" << s << "));\n";
      sums.push_back({s, w, n});
    }
  }
  std::ostringstream os;
  header(os, module, st, src, read_mask(read, src.size), lang, latency > 0,
         "popcount per group (GroupSum), balanced adder trees");
  os << "  // y<c> = number of ones in group c's source words; each sum is exactly as wide as its "
        "largest count.\n";
  if (!submodules.empty())
    os << "  // Groups of more than " << kInlineGroupBits
       << " bits: one tree module per group size, below this module.\n";
  if (latency > 0)
    os << "  // Latency " << latency << " clock cycle(s): registers after every " << every
       << " adder level(s).\n";
  os << body.str();
  for (int64_t c = 0; c < st.size; ++c) {
    const PopTerm& t = sums[static_cast<size_t>(c)];
    os << "  assign y" << c << " = ";
    const int64_t off = st.group_offset(c);
    if (t.expr.empty())
      os << st.width << "'d" << off;
    else
      os << zext(t.expr, t.width, st.width);
    if (!t.expr.empty() && off > 0)
      os << " + " << st.width << "'d" << off << ";  // + constant ones folded by the optimiser\n";
    else
      os << ";\n";
  }
  return {os.str(), latency, submodules};
}

StageModule emit_argmax(const std::string& module, const Stage& st, const Stage& src,
                        const vtext::Lang& lang, int every) {
  std::vector<char> read(static_cast<size_t>(src.size), src.size > 1 ? 1 : 0);
  std::ostringstream body;
  body << "  // Tie rule: a node takes its right (higher-index) operand only if it is strictly "
          "greater,\n  // and the left subtree always holds the lower indices, so the first "
          "maximum wins\n  // (the argmax op's rule).\n";
  int latency = 0;
  if (src.size == 1) {
    body << "  assign y0 = " << st.width << "'d0;\n";
  } else {
    struct Cand {
      std::string value, index;
    };
    std::vector<Cand> cands;
    for (int64_t i = 0; i < src.size; ++i) cands.push_back({xw(i), str_cat(st.width, "'d", i)});
    for (int level = 1; cands.size() > 1; ++level) {
      std::vector<Cand> next;
      const bool root = cands.size() == 2;  // the root's value is not needed, only its index
      for (size_t i = 0; i + 1 < cands.size(); i += 2) {
        const Cand& l = cands[i];
        const Cand& r = cands[i + 1];
        const std::string n = str_cat("l", level, "_", i / 2);
        body << "  wire take_" << n << " = " << r.value << " > " << l.value << ";\n";
        if (!root)
          body << "  wire " << range(src.width) << " v_" << n << " = take_" << n << " ? " << r.value
               << " : " << l.value << ";\n";
        body << "  wire " << range(st.width) << " i_" << n << " = take_" << n << " ? " << r.index
             << " : " << l.index << ";\n";
        next.push_back({"v_" + n, "i_" + n});
      }
      if (cands.size() % 2) next.push_back(cands.back());
      cands = std::move(next);
      if (every > 0 && level % every == 0 && cands.size() > 1) {
        std::vector<std::string> decls, lines;
        for (size_t i = 0; i < cands.size(); ++i) {
          const std::string v = str_cat("vr", level, "_", i), x = str_cat("ir", level, "_", i);
          decls.push_back(range(src.width) + " " + v);
          decls.push_back(range(st.width) + " " + x);
          lines.push_back(str_cat(v, " <= ", cands[i].value, ";"));
          lines.push_back(str_cat(x, " <= ", cands[i].index, ";"));
          cands[i] = {v, x};
        }
        register_bank(body, lang, decls, lines, level);
        ++latency;
      }
    }
    body << "  assign y0 = " << cands[0].index << ";\n";
  }
  std::ostringstream os;
  header(os, module, st, src, read, lang, latency > 0,
         "argmax comparator tree; ties go to the lowest index");
  if (latency > 0)
    os << "  // Latency " << latency << " clock cycle(s): registers after every " << every
       << " comparator level(s).\n";
  os << body.str();
  return {os.str(), latency, {}};
}
}  // namespace

StageModule emit_stage_module(const std::string& module, const Stage& st, const Stage& src,
                              const vtext::Lang& lang, int register_every) {
  StageModule m;
  switch (st.kind) {
    case StageKind::compare: m = emit_compare(module, st, src, lang); break;
    case StageKind::wires: m = emit_wires(module, st, src, lang); break;
    case StageKind::lut: m = emit_lut(module, st, src, lang); break;
    case StageKind::popcount: m = emit_popcount(module, st, src, lang, register_every); break;
    case StageKind::argmax: m = emit_argmax(module, st, src, lang, register_every); break;
    case StageKind::input: DIFFLUT_FAIL("hdl: the input stage has no module");
  }
  m.text += "endmodule\n";
  m.text += m.submodules;
  return m;
}

}  // namespace difflut::hdl
