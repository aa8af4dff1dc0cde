// Training between epochs: the sparse mappings' candidate refresh (training.sparse_refresh).
#pragma once
#include <cstdint>

#include <vector>

#include "common/config/settings.h"
#include "common/training/train_epoch.h"
#include "lut/lut_network.h"
#include "lut/sparse_probe.h"

namespace difflut::app {

// Refuses a refresh the model cannot take, naming the key: per_slot > 0 needs at least one layer
// whose mapping is sparse with drawn candidates, none grouped, and per_slot below every such
// layer's C. A no-op for per_slot == 0.
void check_sparse_refresh(const LUTNetwork& model, int64_t per_slot);
// The same, with the rule's keys for an epoch of `num_batches` steps: the gradient rule needs
// sparse_refresh > 0, layers with inputs left to probe, and enough probed steps for t to pass
// -min_t (|t| <= sqrt(steps probed)).
void check_sparse_refresh(const LUTNetwork& model, const TrainSettings& s, int64_t num_batches);

// After epoch `epoch` (1-based): refresh_sparse_layer on every sparse layer, in layer order, from
// a stream that depends only on the seed and the epoch, so a resumed run draws what the
// uninterrupted one drew. Returns the candidates replaced.
int64_t refresh_sparse_candidates(LUTNetwork& model, int64_t per_slot, uint64_t seed,
                                  int64_t epoch);

// The refresh of training.sparse_refresh with either rule. With the gradient rule it is also the
// epoch runner's step hook: at the start of every epoch but the last it draws each sparse layer's
// probe (a stream of the seed and the epoch, so a resumed run draws the same), probes the
// epoch's last sparse_probe.steps steps, and after the epoch replaces candidates by the probe.
class SparseRefresher : public StepHook {
 public:
  SparseRefresher(LUTNetwork& model, const TrainSettings& s, uint64_t seed);
  ~SparseRefresher() override;
  // Before epoch `epoch` (1-based) of `num_epochs`.
  void begin_epoch(int64_t epoch, int64_t num_epochs);
  void before_forward(int64_t step, int64_t num_steps) override;
  void after_backward(const Graph& g) override;
  // After epoch `epoch`: the refresh (none after the last). Returns the candidates replaced.
  int64_t end_epoch(int64_t epoch, int64_t num_epochs);
  // Steps the current epoch's probe has summed (0 outside a probed epoch).
  int64_t probed_steps() const { return probes_.empty() ? 0 : probes_.front().steps; }

 private:
  void detach();
  LUTNetwork& model_;
  TrainSettings s_;
  uint64_t seed_;
  std::vector<size_t> layers_;       // the refreshable layers
  std::vector<SparseProbe> probes_;  // per entry of layers_, during a probed epoch
  bool probing_ = false;
};

}  // namespace difflut::app
