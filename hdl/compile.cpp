// compile_network: lower (checked against the graph), optimise, compile, wrap in the CPU engine.
#include "hdl/compile.h"

#include "hdl/network_export.h"

namespace difflut::hdl {

CompiledNetwork compile_network(LUTNetwork& net, const CompileOptions& options) {
  Circuit literal = lower_lut_network(net, {.include_encoder = true});
  std::vector<PassSummary> passes;
  Circuit circuit;
  if (options.optimize) {
    OptimizedCircuit o = optimize_circuit(literal);
    circuit = std::move(o.circuit);
    passes = std::move(o.passes);
  } else {
    circuit = literal;
  }
  BitsliceEngine engine(compile_bitslice(circuit), options.isa);
  return {std::move(literal), std::move(circuit), std::move(passes), std::move(engine)};
}

}  // namespace difflut::hdl
