// Training aids of a LUT layer (the public DiffLUT's layer options flip_probability and
// grad_stabilization), as graph ops:
//   bit_flip        forward: each element of x in [0, 1] becomes 1 - x with probability p, drawn
//                   per element from Philox(key, element index) (the same mask on CPU and GPU);
//                   backward: the identity (the flip is noise injected into the forward only, so
//                   the gradient is that of the unflipped input).
//   grad_stabilize  forward: the identity; backward: the incoming gradient g [B, N] is rescaled to
//                   a target variance, over the whole layer (layerwise) or per sample (batchwise):
//                     c = g - mean(g) if subtract_mean else g
//                     g' = c * sqrt(target / (mean(c^2) + eps))
//                   (the published rule: `target` is named grad_target_std there, but it is the
//                   variance the rescaled gradient gets; with the default 1 the two readings agree).
// A LUTLayer adds them only in training mode, so eval graphs, exported circuits and compiled
// engines never contain them.
#pragma once
#include <cstdint>
#include <string>

#include "autograd/graph.h"

namespace difflut {

enum class GradStabilization { none, layerwise, batchwise };

// "none", "layerwise", "batchwise".
const char* grad_stabilization_name(GradStabilization mode);
// Parses a mode name; anything else throws difflut::Error naming `what` and the known names.
GradStabilization parse_grad_stabilization(const std::string& name,
                                           const std::string& what = "grad_stabilization");

struct GradStabilizationOptions {
  GradStabilization mode = GradStabilization::none;
  double target = 1.0;         // variance of the rescaled gradient (> 0)
  bool subtract_mean = false;  // centre the gradient before measuring its variance
  double eps = 1e-8;           // added to the variance (> 0)
};
// Throws difflut::Error naming the field when target or eps is not a positive finite number.
void check_grad_stabilization(const GradStabilizationOptions& options);

// x [B, F] floating (bits as 0/1, or probabilities) -> [B, F]; probability in [0, 1].
Var bit_flip(Var x, double probability, uint64_t key);
// x [B, N] floating -> x; mode must not be none.
Var grad_stabilize(Var x, const GradStabilizationOptions& options);

// The key of a bit_flip draw: a layer's seed mixed with a step counter (splitmix64 of both), so
// consecutive steps draw independent masks and a resumed run draws the same ones.
uint64_t bit_flip_key(uint64_t layer_seed, uint64_t step);

}  // namespace difflut
