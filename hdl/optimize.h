// Netlist optimisation on the circuit IR: the literal lowering of a trained network builds every
// comparator of the encoder and every LUT input, used or not. These passes shrink it without
// changing a single output bit of any sample:
//   constants   comparators that are always 0/1 and LUTs whose table is constant become constants,
//               and a bit compared with 1 (a conv layer's padding stage) becomes that bit;
//               constants are folded into the tables of their readers and into popcount offsets;
//               a LUT input its table ignores is dropped (a LUT6 that ignores two inputs becomes a
//               LUT4), and two inputs of one node that read the same bit become one.
//   duplicates  structurally identical comparators (same word, same threshold) and LUT nodes
//               (same inputs in canonical order, same table) of one stage are merged.
//   dead logic  comparators, encoder bits and LUT nodes that no output depends on are removed.
// Output ports keep their words exactly (the scores and the class index); only the logic between
// the input and the outputs changes. Exactness is checked by tests (software model before vs after
// on test sets and random words) and by difflut-export on every export.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "hdl/circuit.h"

namespace difflut::hdl {

// The counts a pass summary reports.
struct NetlistCounts {
  int64_t comparators = 0;      // compare words (the encoder's comparators)
  int64_t lut_nodes = 0;        // LUT nodes over all lut stages
  int64_t lut_inputs = 0;       // their inputs (sum of fan-ins)
  int64_t popcount_inputs = 0;  // bits summed by the popcounts
  std::string str() const;      // "comparators 2352, LUT nodes 3000, LUT inputs 18000, ..."
};
NetlistCounts count_netlist(const Circuit& circuit);

struct PassSummary {
  std::string pass;  // constants, duplicates, dead logic
  NetlistCounts before, after;
  std::string str() const;  // "constants: comparators 2352 -> 2210, ..."
};

struct OptimizedCircuit {
  Circuit circuit;
  std::vector<PassSummary> passes;  // in the order they ran
};

// Runs the three passes once, in order, and rebuilds the circuit: per logic stage of the input, a
// stage of the surviving nodes (LUT and popcount stages read through a wires stage that selects
// their inputs). Throws difflut::Error if the circuit does not validate.
OptimizedCircuit optimize_circuit(const Circuit& circuit);

}  // namespace difflut::hdl
