// The bit-exact software model of an exported circuit: evaluates the circuit IR on integer codes,
// stage by stage, with the same truth tables, thresholds, popcount groups and argmax tie rule the
// Verilog implements. Golden vectors for the testbench come from the graph; this model is the third
// party that must agree with both (check_against_graph in lower.h, and the simulators).
#pragma once
#include <cstdint>
#include <vector>

#include "hdl/circuit.h"

namespace difflut::hdl {

class CircuitSim {
 public:
  explicit CircuitSim(const Circuit& circuit);
  // One sample: `input` holds input_words() codes. values[s] receives stage s's words.
  void run(const uint32_t* input, std::vector<std::vector<uint32_t>>& values) const;

 private:
  const Circuit& circuit_;
  std::vector<LutLayout> layouts_;  // per stage (lut stages only)
};

// The output ports of a batch: input codes [batch, input_words] -> one vector per output port of
// [batch, port words] codes, in circuit.outputs order. Runs samples in parallel (deterministic).
std::vector<std::vector<uint32_t>> simulate(const Circuit& circuit,
                                            const std::vector<uint32_t>& input_codes,
                                            int64_t batch);

}  // namespace difflut::hdl
