// Circuit IR helpers: structural validation, identifier sanitising, widths.
#include "hdl/circuit.h"

#include <algorithm>
#include <array>

#include "tensor/error.h"

namespace difflut::hdl {

const char* stage_kind_name(StageKind kind) {
  switch (kind) {
    case StageKind::input: return "input";
    case StageKind::compare: return "compare";
    case StageKind::wires: return "wires";
    case StageKind::lut: return "lut";
    case StageKind::popcount: return "popcount";
    case StageKind::argmax: return "argmax";
  }
  return "?";
}

int bits_for(uint64_t max_code) {
  int b = 1;
  while (b < 64 && (max_code >> b) != 0) ++b;
  return b;
}

LutLayout lut_layout(const Stage& s) {
  LutLayout l;
  l.input_begin.assign(1, 0);
  l.table_begin.assign(1, 0);
  for (int64_t j = 0; j < s.size; ++j) {
    const int f = s.lut_fanin(j);
    l.input_begin.push_back(l.input_begin.back() + f);
    l.table_begin.push_back(l.table_begin.back() + (int64_t{1} << f));
  }
  return l;
}

int64_t Circuit::lut_nodes() const {
  int64_t n = 0;
  for (const Stage& s : stages)
    if (s.kind == StageKind::lut) n += s.size;
  return n;
}

int Circuit::max_k() const {
  int k = 0;
  for (const Stage& s : stages)
    if (s.kind == StageKind::lut) k = std::max(k, s.k);
  return k;
}

void Circuit::validate() const {
  DIFFLUT_CHECK(!stages.empty() && stages[0].kind == StageKind::input,
                "hdl: expected a circuit whose stage 0 is the input");
  for (size_t i = 0; i < stages.size(); ++i) {
    const Stage& s = stages[i];
    const std::string what = str_cat("hdl: stage '", s.name, "' (", stage_kind_name(s.kind), ")");
    DIFFLUT_CHECK(s.width >= 1 && s.width <= 32, what, ": expected a word width in [1, 32], found ",
                  s.width);
    DIFFLUT_CHECK(s.size >= 0, what, ": negative size");
    if (i == 0) continue;
    DIFFLUT_CHECK(s.kind != StageKind::input, what, ": only stage 0 may be an input");
    DIFFLUT_CHECK(s.source >= 0 && s.source < static_cast<int>(i), what,
                  ": expected a source stage before it, found ", s.source);
    const Stage& src = stages[static_cast<size_t>(s.source)];
    switch (s.kind) {
      case StageKind::compare:
      case StageKind::wires:
        DIFFLUT_CHECK(static_cast<int64_t>(s.index.size()) == s.size, what, ": index size");
        for (int64_t m : s.index)
          DIFFLUT_CHECK(m >= 0 && m < src.size, what, ": index ", m, " outside [0, ", src.size,
                        ")");
        if (s.kind == StageKind::compare) {
          DIFFLUT_CHECK(static_cast<int64_t>(s.threshold.size()) == s.size && s.width == 1, what,
                        ": thresholds");
          for (uint32_t t : s.threshold)
            DIFFLUT_CHECK(static_cast<uint64_t>(t) <= (uint64_t{1} << src.width), what,
                          ": threshold ", t, " above 2^", src.width);
        } else {
          DIFFLUT_CHECK(s.width == src.width, what, ": wires keep the word width");
        }
        break;
      case StageKind::lut: {
        DIFFLUT_CHECK(
            s.k >= (s.fanin.empty() ? 1 : 0) && s.k <= 16 && s.width == 1 && src.width == 1, what,
            ": expected k in [1, 16] over bits");
        DIFFLUT_CHECK(s.fanin.empty() || static_cast<int64_t>(s.fanin.size()) == s.size, what,
                      ": expected ", s.size, " fan-ins, found ", s.fanin.size());
        for (uint8_t f : s.fanin)
          DIFFLUT_CHECK(f <= s.k, what, ": a node's fan-in ", int{f}, " exceeds k = ", s.k);
        const LutLayout l = lut_layout(s);
        DIFFLUT_CHECK(src.size == l.input_begin.back(), what, ": expected ", l.input_begin.back(),
                      " input bits, found ", src.size);
        DIFFLUT_CHECK(static_cast<int64_t>(s.table.size()) == l.table_begin.back(), what,
                      ": table size");
        for (uint8_t v : s.table) DIFFLUT_CHECK(v <= 1, what, ": table entries must be 0 or 1");
        break;
      }
      case StageKind::popcount:
        DIFFLUT_CHECK(src.width == 1, what, ": popcount over bits only");
        DIFFLUT_CHECK(static_cast<int64_t>(s.group_begin.size()) == s.size &&
                          s.group_end.size() == s.group_begin.size(),
                      what, ": groups");
        DIFFLUT_CHECK(s.offset.empty() || static_cast<int64_t>(s.offset.size()) == s.size, what,
                      ": offsets");
        for (int64_t c = 0; c < s.size; ++c) {
          const int64_t b = s.group_begin[static_cast<size_t>(c)];
          const int64_t e = s.group_end[static_cast<size_t>(c)];
          DIFFLUT_CHECK(b >= 0 && b <= e && e <= src.size, what, ": group ", c, " range");
          DIFFLUT_CHECK(s.group_offset(c) >= 0, what, ": negative offset");
          DIFFLUT_CHECK(bits_for(static_cast<uint64_t>(e - b + s.group_offset(c))) <= s.width, what,
                        ": width");
        }
        break;
      case StageKind::argmax:
        DIFFLUT_CHECK(s.size == 1 && src.size >= 1, what, ": one index over >= 1 words");
        DIFFLUT_CHECK(bits_for(static_cast<uint64_t>(src.size - 1)) <= s.width, what, ": width");
        break;
      case StageKind::input: break;
    }
  }
  for (const OutputPort& o : outputs)
    DIFFLUT_CHECK(o.stage >= 0 && o.stage < static_cast<int>(stages.size()), "hdl: output port '",
                  o.port, "' names no stage");
}

namespace {
// Verilog-2005 and SystemVerilog reserved words a node name could plausibly collide with.
constexpr std::array<const char*, 60> kReserved = {
    "always",  "and",         "assign",    "begin",    "buf",        "case",    "casex",
    "casez",   "cmos",        "default",   "defparam", "disable",    "else",    "end",
    "endcase", "endfunction", "endmodule", "endtask",  "event",      "for",     "force",
    "forever", "function",    "if",        "initial",  "inout",      "input",   "integer",
    "logic",   "module",      "nand",      "negedge",  "nor",        "not",     "or",
    "output",  "parameter",   "posedge",   "real",     "reg",        "release", "repeat",
    "signed",  "task",        "time",      "tri",      "wait",       "while",   "wire",
    "xor",     "xnor",        "generate",  "genvar",   "localparam", "bit",     "byte",
    "int",     "class",       "type",      "do"};
}  // namespace

std::string verilog_identifier(const std::string& name) {
  std::string id;
  id.reserve(name.size() + 2);
  for (char ch : name) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '_';
    id.push_back(ok ? ch : '_');
  }
  if (id.empty() || (id[0] >= '0' && id[0] <= '9')) id = "n_" + id;
  for (const char* r : kReserved)
    if (id == r) return id + "_n";
  return id;
}

}  // namespace difflut::hdl
