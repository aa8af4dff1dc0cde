// Finite-difference gradient checking for ops and custom nodes, in float64 on the CPU.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "autograd/graph.h"

namespace difflut {

struct GradcheckResult {
  bool ok = true;
  double max_abs_error = 0.0;
  std::string report;  // the first few mismatches: input, element, analytic, numeric
};

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-6;
  double rtol = 1e-5;
  uint64_t seed = 1234;
  // Inputs to check (indices into `inputs`); empty = every floating input.
  std::vector<int> check_inputs;
};

using GraphFn = std::function<Var(Graph&, const std::vector<Var>&)>;

// Compares the analytic gradient of L = Σ out ⊙ w (w random, fixed) with central differences for
// each element of each checked input. Inputs should be f64 CPU tensors; the fn builds the op(s).
GradcheckResult gradcheck(const GraphFn& fn, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& opts = {});

}  // namespace difflut
