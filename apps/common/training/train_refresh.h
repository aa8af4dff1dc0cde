// Training between epochs: the sparse mappings' candidate refresh (training.sparse_refresh).
#pragma once
#include <cstdint>

#include "lut/lut_network.h"

namespace difflut::app {

// Refuses a refresh the model cannot take, naming the key: per_slot > 0 needs at least one layer
// whose mapping is sparse with drawn candidates, none grouped, and per_slot below every such
// layer's C. A no-op for per_slot == 0.
void check_sparse_refresh(const LUTNetwork& model, int64_t per_slot);

// After epoch `epoch` (1-based): refresh_sparse_layer on every sparse layer, in layer order, from
// a stream that depends only on the seed and the epoch, so a resumed run draws what the
// uninterrupted one drew. Returns the candidates replaced.
int64_t refresh_sparse_candidates(LUTNetwork& model, int64_t per_slot, uint64_t seed,
                                  int64_t epoch);

}  // namespace difflut::app
