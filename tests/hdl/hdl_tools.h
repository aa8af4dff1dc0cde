// The hdl suites' precondition: the simulators and Yosys are on PATH (the CI test command installs
// them from Debian); without them a case fails with a message naming the missing tool.
#pragma once
#include <doctest/doctest.h>

#include "hdl/tools.h"

namespace difflut::test {

inline void require_hdl_tools() {
  for (const char* t : {"verilator", "iverilog", "vvp", "yosys"}) {
    INFO("'" << t
             << "' must be on PATH for the hdl suite: apt-get install -y verilator iverilog yosys");
    REQUIRE(hdl::have_tool(t));
  }
}

}  // namespace difflut::test
