// One Verilog module per circuit stage (internal to hdl/; verilog.h is the public writer). Every
// stage module reads its source one word per port (x0, x1, ...) and drives one port per output
// word (y0, y1, ...): per-word nets keep event-driven simulators (Icarus) linear in the design
// size, where one wide bus read by thousands of part-selects re-evaluates every reader on each
// change of any bit. Popcount and argmax modules may hold pipeline registers inside their trees
// (then they have a clk port and a latency).
#pragma once
#include <string>

#include "hdl/circuit.h"
#include "hdl/verilog_text.h"

namespace difflut::hdl {

struct StageModule {
  std::string text;  // the module, without the file preamble
  int latency = 0;   // register banks inside the module (clock cycles from x to y)
  // Modules the stage module instantiates, written after it in the same file (complete, with
  // their endmodule): a wide popcount's per-group trees.
  std::string submodules;
};

// `register_every` (popcount, argmax only; 0: none): a register bank after every N-th adder or
// comparator level, except after the last one (what follows the stage is the top's business).
StageModule emit_stage_module(const std::string& module, const Stage& st, const Stage& src,
                              const vtext::Lang& lang, int register_every);

}  // namespace difflut::hdl
