// Training between epochs: the sparse mappings' candidate refresh (see train_refresh.h).
#include "common/training/train_refresh.h"

#include <algorithm>
#include <cmath>

#include "lut/sparse_refresh.h"
#include "tensor/error.h"

namespace difflut::app {

namespace {
// Key of the refresh stream (a seed of its own, apart from the model's and the loader's), and the
// counter space of one epoch: an epoch's draws start at epoch << 40.
constexpr uint64_t kRefreshKey = 0x5bd1e9955bd1e995ULL;
constexpr uint64_t kProbeKey = 0x2545f4914f6cdd1dULL;  // the probes' stream
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

void check_sparse_refresh(const LUTNetwork& model, const TrainSettings& s, int64_t num_batches) {
  check_sparse_refresh(model, s.sparse_refresh);
  if (s.sparse_refresh_rule != "gradient") return;
  DIFFLUT_CHECK(s.sparse_refresh > 0, "config key 'training.sparse_refresh_rule': expected ",
                "training.sparse_refresh > 0 with the gradient rule (candidates replaced per ",
                "slot), found 0");
  for (size_t i = 0; i < model.num_layers(); ++i) {
    const LUTLayer& l = model.layer(i);
    if (!refreshable(l)) continue;
    const int64_t C = l.mapping_candidates().size(1);
    DIFFLUT_CHECK(C < l.input_size(), "config key 'training.sparse_refresh_rule': expected ",
                  "inputs left to probe beside the candidates with the gradient rule, found ",
                  "layer ", i, "'s ", C, " candidates covering all its ", l.input_size(),
                  " inputs");
  }
  const int64_t probed = std::min(s.sparse_probe_steps, num_batches);
  DIFFLUT_CHECK(s.sparse_probe_min_t < std::sqrt(static_cast<double>(probed)),
                "config key 'training.sparse_probe.min_t': expected a value below sqrt(", probed,
                " probed steps) = ", std::sqrt(static_cast<double>(probed)), " (an epoch has ",
                num_batches, " steps; |t| never exceeds it), found ", s.sparse_probe_min_t);
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

SparseRefresher::SparseRefresher(LUTNetwork& model, const TrainSettings& s, uint64_t seed)
    : model_(model), s_(s), seed_(seed) {
  for (size_t i = 0; i < model.num_layers(); ++i)
    if (refreshable(model.layer(i))) layers_.push_back(i);
}

SparseRefresher::~SparseRefresher() { detach(); }

void SparseRefresher::detach() {
  for (size_t i : layers_) model_.layer(i).set_probe(nullptr);
  probing_ = false;
}

void SparseRefresher::begin_epoch(int64_t epoch, int64_t num_epochs) {
  detach();
  probes_.clear();
  if (s_.sparse_refresh == 0 || s_.sparse_refresh_rule != "gradient" || epoch >= num_epochs) return;
  Generator gen(seed_ ^ kProbeKey);
  gen.set_state(gen.seed(), static_cast<uint64_t>(epoch) << kEpochShift);
  for (size_t i : layers_) {
    const LUTLayer& l = model_.layer(i);
    probes_.push_back(
        draw_sparse_probe(l.mapping_candidates(), l.input_size(), s_.sparse_probe_inputs, gen));
  }
}

void SparseRefresher::before_forward(int64_t step, int64_t num_steps) {
  if (probes_.empty() || probing_ || step < num_steps - s_.sparse_probe_steps) return;
  for (size_t j = 0; j < layers_.size(); ++j) model_.layer(layers_[j]).set_probe(&probes_[j]);
  probing_ = true;
}

void SparseRefresher::after_backward(const Graph& g) {
  if (!probing_) return;
  for (size_t i : layers_) model_.layer(i).collect_probe(g);
}

int64_t SparseRefresher::end_epoch(int64_t epoch, int64_t num_epochs) {
  detach();
  if (epoch >= num_epochs || s_.sparse_refresh == 0) return 0;
  if (s_.sparse_refresh_rule != "gradient")
    return refresh_sparse_candidates(model_, s_.sparse_refresh, seed_, epoch);
  DIFFLUT_CHECK(probes_.size() == layers_.size(), "SparseRefresher.end_epoch: expected the ",
                "probes begin_epoch(", epoch, ") draws, found ", probes_.size(), " for ",
                layers_.size(), " layers");
  int64_t replaced = 0;
  for (size_t j = 0; j < layers_.size(); ++j)
    replaced += refresh_sparse_layer_guided(model_.layer(layers_[j]), probes_[j], s_.sparse_refresh,
                                            s_.sparse_probe_min_t);
  probes_.clear();
  return replaced;
}

}  // namespace difflut::app
