// Training step 2b, the first layer's candidates: model.params.sparse_candidate_prior=label_mi
// redraws a sparse first layer's candidates with weights from the training data, the mutual
// information between each encoded input bit and the label, so that a slot's few candidates fall
// mostly on inputs that tell the classes apart (a dense learnable mapping can choose among all
// inputs; a sparse one only among its C).
#pragma once
#include <cstdint>
#include <vector>

#include "data/dataset.h"
#include "encoders/thermometer.h"
#include "lut/lut_network.h"

namespace difflut::app {

// For every output bit of `encoder` (fitted), I(bit; label) in bits over the samples of `train`:
// H(p) - sum_c P(c) H(p_c), p the bit's share of ones overall, p_c within class c. A bit that is
// constant, or equally often on in every class, gets 0.
std::vector<double> input_label_information(const ThermometerEncoder& encoder,
                                            const Dataset& train);

// Redraws the candidates of the model's first LUT layer (a sparse mapping of drawn candidates,
// directly behind the encoder) from input_label_information as weights, from a stream of its own
// keyed by `seed`; its scores W are kept. Throws difflut::Error, naming the config key, when the
// first layer is not such a layer or fewer inputs than C carry any information. Returns how many
// of the encoded inputs carry some information (the ones that can be drawn).
int64_t draw_informed_candidates(LUTNetwork& model, const Dataset& train, uint64_t seed);

}  // namespace difflut::app
