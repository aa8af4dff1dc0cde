// Training between epochs: the sparse mappings' candidate refresh (see train_refresh.h).
#include "common/training/train_refresh.h"

#include "lut/sparse_refresh.h"
#include "tensor/error.h"

namespace difflut::app {

namespace {
// Key of the refresh stream (a seed of its own, apart from the model's and the loader's), and the
// counter space of one epoch: an epoch's draws start at epoch << 40.
constexpr uint64_t kRefreshKey = 0x5bd1e9955bd1e995ULL;
constexpr int kEpochShift = 40;

bool refreshable(const LUTLayer& l) {
  return l.mapping_kind() == MappingKind::sparse && l.options().sparse_groups == 0;
}
}  // namespace

void check_sparse_refresh(const LUTNetwork& model, int64_t per_slot) {
  if (per_slot == 0) return;
  int64_t sparse_layers = 0;
  for (size_t i = 0; i < model.num_layers(); ++i) {
    const LUTLayer& l = model.layer(i);
    DIFFLUT_CHECK(l.mapping_kind() != MappingKind::sparse || refreshable(l),
                  "config key 'training.sparse_refresh': expected sparse mappings of drawn ",
                  "candidates, found layer ", i, " grouped (its candidates are fixed windows)");
    if (!refreshable(l)) continue;
    ++sparse_layers;
    const int64_t C = l.mapping_candidates().size(1);
    DIFFLUT_CHECK(per_slot <= C - 1, "config key 'training.sparse_refresh': expected at most ",
                  C - 1, " (layer ", i, "'s ", C,
                  " candidates per slot less the chosen one), found ", per_slot);
  }
  DIFFLUT_CHECK(sparse_layers > 0, "config key 'training.sparse_refresh': expected a model with ",
                "a sparse mapping (model.params.layer_type or later_layer_type = sparse), found ",
                "none; set it to 0");
}

int64_t refresh_sparse_candidates(LUTNetwork& model, int64_t per_slot, uint64_t seed,
                                  int64_t epoch) {
  if (per_slot == 0) return 0;
  Generator gen(seed ^ kRefreshKey);
  gen.set_state(gen.seed(), static_cast<uint64_t>(epoch) << kEpochShift);
  int64_t replaced = 0;
  for (size_t i = 0; i < model.num_layers(); ++i)
    if (refreshable(model.layer(i)))
      replaced += refresh_sparse_layer(model.layer(i), per_slot, gen);
  return replaced;
}

}  // namespace difflut::app
