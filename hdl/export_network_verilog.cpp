// export_network_verilog: lower -> optimise -> golden vectors -> software-model check -> Verilog +
// testbench -> lint -> simulation, gathered into one report.
#include "hdl/export_network_verilog.h"

#include <algorithm>
#include <sstream>

#include "hdl/circuit_sim.h"
#include "hdl/network_export.h"
#include "tensor/error.h"

namespace difflut::hdl {

namespace {

// Vectors whose output codes (every port) differ between `got` and `want`, both per port
// [count, port words]; and how many class codes (the last port) equal the labels.
struct VectorComparison {
  int64_t mismatches = 0;
  int64_t correct = 0;
};
VectorComparison compare_vectors(const std::vector<std::vector<uint32_t>>& got,
                                 const std::vector<std::vector<uint32_t>>& want, int64_t count,
                                 const Tensor& labels) {
  VectorComparison c;
  const int64_t* y = labels.data<int64_t>();
  for (int64_t b = 0; b < count; ++b) {
    bool same = true;
    for (size_t port = 0; port < got.size() && same; ++port) {
      const size_t words = got[port].size() / static_cast<size_t>(count);
      const auto first =
          got[port].begin() + static_cast<std::ptrdiff_t>(b * static_cast<int64_t>(words));
      same = std::equal(
          first, first + static_cast<std::ptrdiff_t>(words),
          want[port].begin() + static_cast<std::ptrdiff_t>(b * static_cast<int64_t>(words)));
    }
    c.mismatches += same ? 0 : 1;
    c.correct += static_cast<int64_t>(got.back()[static_cast<size_t>(b)]) == y[b];
  }
  return c;
}

// The simulator to run: a named one must be on PATH; first_available takes Verilator, then Icarus.
bool pick_simulator(SimulatorChoice choice, Simulator& sim) {
  switch (choice) {
    case SimulatorChoice::none: return false;
    case SimulatorChoice::verilator:
      require_tool("verilator");
      sim = Simulator::verilator;
      return true;
    case SimulatorChoice::icarus:
      require_tool("iverilog");
      sim = Simulator::icarus;
      return true;
    case SimulatorChoice::first_available:
      if (have_tool("verilator")) {
        sim = Simulator::verilator;
        return true;
      }
      if (have_tool("iverilog")) {
        sim = Simulator::icarus;
        return true;
      }
      return false;
  }
  return false;
}

}  // namespace

bool NetworkVerilogReport::exact() const {
  return software_mismatches == 0 && simulation_mismatches <= 0;
}

std::string NetworkVerilogReport::summary() const {
  std::ostringstream s;
  s << "verilog: " << exported.design.files.size() << " modules in " << exported.dir << " (top "
    << exported.design.top << "); " << vectors << " vectors; software model " << software_mismatches
    << " mismatches; ";
  if (simulator.empty())
    s << "not simulated; ";
  else
    s << simulator << " " << simulation_mismatches << " mismatches; ";
  s << (linted ? (lint_clean ? "lint clean; " : "lint WARNINGS; ") : "not linted; ");
  s << "accuracy " << circuit_accuracy << "; LUT nodes " << literal.lut_nodes << " -> "
    << optimized.lut_nodes;
  return s.str();
}

NetworkVerilogReport export_network_verilog(LUTNetwork& net, const Dataset& data,
                                            const std::string& dir,
                                            const NetworkVerilogOptions& options) {
  check_dataset_fits(net, data);
  const int64_t n = data.size();
  DIFFLUT_CHECK(n >= 1, "export_network_verilog: expected a data set with samples, found none");
  DIFFLUT_CHECK(!options.include_encoder || data.features.dtype() == DType::u8,
                "export_network_verilog: a circuit with the encoder starts from u8 codes, the data "
                "set has ",
                dtype_name(data.features.dtype()), " features (set include_encoder = false)");
  NetworkVerilogReport r;
  r.vectors = n;

  // Lower, checking every stage against the network's graph on the first probe_rows samples.
  std::vector<int64_t> probe(static_cast<size_t>(std::clamp<int64_t>(options.probe_rows, 1, n)));
  for (size_t i = 0; i < probe.size(); ++i) probe[i] = static_cast<int64_t>(i);
  NetworkLowerOptions lo;
  lo.include_encoder = options.include_encoder;
  Circuit circuit = lower_lut_network(net, lo, select_rows(data, probe).features_f32(), true);
  r.literal = r.optimized = count_netlist(circuit);
  if (options.optimize) {
    OptimizedCircuit opt = optimize_circuit(circuit);
    circuit = std::move(opt.circuit);
    r.passes = std::move(opt.passes);
    r.optimized = count_netlist(circuit);
  }

  // Golden vectors from the network (scores, argmax), and the circuit's software model on them.
  const Tensor logits = net.logits(data.features_f32());
  const GoldenVectors golden = golden_from_values(circuit, network_input_codes(net, circuit, data),
                                                  n, {logits, argmax_rows(logits)});
  const VectorComparison sw =
      compare_vectors(simulate(circuit, golden.inputs, n), golden.outputs, n, data.labels);
  r.software_mismatches = sw.mismatches;
  r.circuit_accuracy = static_cast<double>(sw.correct) / static_cast<double>(n);

  r.exported = export_design(circuit, options.verilog, dir, &golden);
  if (options.lint && have_tool("verilator")) {
    const LintResult lint = verilator_lint(dir, r.exported.design);
    r.linted = true;
    r.lint_clean = lint.clean;
    r.lint_output = lint.output;
  }
  Simulator sim = Simulator::verilator;
  if (pick_simulator(options.simulator, sim)) {
    const SimRun run = run_testbench(dir, r.exported.design, r.exported.testbench_file, sim);
    DIFFLUT_CHECK(run.vectors == n, "export_network_verilog: the ", simulator_name(sim),
                  " testbench checked ", run.vectors, " vectors, expected ", n);
    r.simulator = simulator_name(sim);
    r.simulation_mismatches = run.mismatches;
  }
  return r;
}

}  // namespace difflut::hdl
