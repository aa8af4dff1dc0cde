// Candidate refresh for sparse learnable mappings: between epochs, each slot trades its weakest
// losing candidates for inputs it has not tried, so over a run a slot with C candidates sees many
// more than C inputs at the memory and speed of C (docs/CONFIG.md, training.sparse_refresh).
#pragma once
#include <cstdint>
#include <vector>

#include "lut/lut_layer.h"
#include "lut/sparse_probe.h"
#include "tensor/random.h"
#include "tensor/tensor.h"

namespace difflut {

// In every slot s of candidates [S, C] (host i32) and scores W [S, C] (host f32 or f64): the
// `per_slot` lowest-scored candidates other than the chosen one (argmax, first index on ties; the
// lowest score goes first, the lower index on ties) are replaced by distinct inputs drawn
// uniformly from [0, F) among those that were not candidates of the slot before the call, at most
// F - C of them. A new candidate's score is the mean of the slot's kept scores, held strictly
// below the chosen score, so the choice, and with it the forward, is unchanged. Returns the flat
// positions s * C + c replaced, ascending. Throws difflut::Error for per_slot outside [0, C - 1]
// or entries outside [0, F).
std::vector<int64_t> refresh_candidate_rows(Tensor& candidates, Tensor& w, int64_t num_inputs,
                                            int64_t per_slot, Generator& gen);

// refresh_candidate_rows on a sparse layer's candidates and W (W is written back in place, on its
// device, so the optimizer's flat buffer keeps it). The optimizer state of a replaced entry carries
// over: every candidate of a slot gets a gradient of the same scale (dW[s, c] = sum_b +-g[b, s]),
// so Adam's second moment stays apt, and the first moment fades within a few dozen steps. Throws
// for a layer whose mapping is not sparse or is grouped (fixed windows). Returns the count replaced.
int64_t refresh_sparse_layer(LUTLayer& layer, int64_t per_slot, Generator& gen);

// The guided refresh (lut/sparse_probe.h): as refresh_candidate_rows, but the new inputs of a slot
// are its probed inputs of most negative t = sum / sqrt(sum of squares), most negative first, as
// long as t < -min_t (so a slot where fewer probes point upwards replaces fewer candidates, none
// where none does), skipping any that is a candidate already. Scores as above: the forward is
// unchanged. Returns the flat positions replaced, ascending.
std::vector<int64_t> refresh_candidate_rows_guided(Tensor& candidates, Tensor& w,
                                                   const SparseProbe& probe, int64_t per_slot,
                                                   double min_t);

// refresh_candidate_rows_guided on a sparse layer (W written back in place, as
// refresh_sparse_layer). Returns the count replaced.
int64_t refresh_sparse_layer_guided(LUTLayer& layer, const SparseProbe& probe, int64_t per_slot,
                                    double min_t);

}  // namespace difflut
