// compile(net): a trained LUTNetwork as a compiled inference engine. Lowers the network's inference
// graph to the circuit IR (from raw 8-bit codes through the encoder's comparators, every stage
// checked against the network's own graph), optimises the netlist (optimize.h), compiles it for
// bit-sliced execution (bitslice_program.h) and returns the CPU engine:
//
//   auto net = load_lut_network("model.safetensors");
//   hdl::CompiledNetwork c = hdl::compile_network(*net);
//   std::vector<int32_t> classes(n);
//   c.engine.predict(codes, n, classes.data());   // codes: [n, features] u8, as the readers store
//
// The classes equal net->predict() on the same samples (features = codes / 255), image for image.
#pragma once
#include <vector>

#include "hdl/bitslice_engine.h"
#include "hdl/circuit.h"
#include "hdl/optimize.h"
#include "lut/lut_network.h"

namespace difflut::hdl {

struct CompileOptions {
  bool optimize = true;  // false: compile the literal netlist (for comparisons)
  BitsliceIsa isa = bitslice_isa_from_env();
};

struct CompiledNetwork {
  Circuit literal;  // the lowered netlist
  Circuit circuit;  // what the engine runs (optimised unless options.optimize is off)
  std::vector<PassSummary> passes;  // empty when not optimised
  BitsliceEngine engine;
};

// Throws difflut::Error when the network cannot be lowered from raw codes (e.g. a model whose
// encoder or node types have no lowering).
CompiledNetwork compile_network(LUTNetwork& net, const CompileOptions& options = {});

}  // namespace difflut::hdl
