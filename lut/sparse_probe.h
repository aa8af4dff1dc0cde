// Gradient probe for the guided candidate refresh of sparse learnable mappings: a slot of a sparse
// layer sees the gradient of only its C candidates, while the dense mapping's slot sees that of
// every input. The probe samples R more inputs per slot (none of its candidates), and over some
// training steps sums the gradient the dense mapping would give each of them,
// d[s, r] = sum_b (2 x[b, probe[s, r]] - 1) g[b, s] (lut/sparse_mapping.h), and its square. At the
// refresh the inputs whose sum points most consistently upwards (most negative t = sum / sqrt(sum of
// squares): gradient descent raises their score) replace the slot's weakest losing candidates, so a
// slot moves towards the inputs the dense mapping would have chosen at the memory of C + R per slot.
#pragma once
#include <cstdint>
#include <vector>

#include "tensor/random.h"
#include "tensor/tensor.h"

namespace difflut {

struct SparseProbe {
  int64_t slots = 0, per_slot = 0, num_inputs = 0;
  Tensor inputs;              // i32 [S, R] host: the probed inputs
  std::vector<double> sum;    // [S * R]: sum over probed steps of d
  std::vector<double> sumsq;  // [S * R]: sum of d^2
  int64_t steps = 0;          // probed steps accumulated
  // accumulate_sparse_probe's d of one step, reused from step to step (no allocation per step)
  std::vector<float> step_dw;
};

// Draws inputs uniformly from [0, F), each new to a slot: none of the inputs the slot holds and
// none drawn for it before (rejection sampling with a mark per input, O(C + r) a slot).
class NewInputDraw {
 public:
  explicit NewInputDraw(int64_t num_inputs);
  // r such inputs for a slot holding row[0..C), in draw order; needs r <= F - C.
  std::vector<int32_t> draw(const int32_t* row, int64_t C, int64_t r, Generator& gen);

 private:
  int64_t num_inputs_;
  std::vector<uint8_t> marked_;  // all zero between calls
};

// A probe of R inputs per slot, each slot's R distinct and none of its candidates (i32 [S, C] on the
// host), drawn uniformly from [0, F); R is capped at F - C. Throws for R < 1 or bad candidates.
SparseProbe draw_sparse_probe(const Tensor& candidates, int64_t num_inputs, int64_t per_slot,
                              Generator& gen);

// Throws difflut::Error (one line, naming the field) unless `probe` is well formed: inputs i32
// [slots, per_slot] on the host with entries in [0, num_inputs), sums of slots * per_slot entries.
void check_sparse_probe(const SparseProbe& probe, const char* who);

// Adds one step: x [B, F] (the mapping's input) and g [B, S] (the gradient at its output), float,
// on any device (read on the host). Each (slot, probe) sum has one owner: thread-count independent.
void accumulate_sparse_probe(SparseProbe& probe, const Tensor& x, const Tensor& g);

}  // namespace difflut
