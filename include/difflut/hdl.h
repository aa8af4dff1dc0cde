// <difflut/hdl.h>: the hardware backend on top of <difflut/difflut.h>. Lowering a trained network to
// the circuit IR, netlist optimisation, Verilog + testbench export, the one-call export-and-verify
// (export_network_verilog), the external tool runners, and the compiled bit-sliced inference engine.
// Installed as <prefix>/include/difflut/hdl.h (see include/difflut/difflut.h).
#pragma once

#include "difflut/difflut.h"

#include "hdl/circuit.h"
#include "hdl/circuit_sim.h"
#include "hdl/compile.h"
#include "hdl/evaluate.h"
#include "hdl/export.h"
#include "hdl/export_network_verilog.h"
#include "hdl/lower.h"
#include "hdl/network_export.h"
#include "hdl/optimize.h"
#include "hdl/tools.h"
