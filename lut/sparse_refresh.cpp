// Candidate refresh for sparse learnable mappings (see sparse_refresh.h).
#include "lut/sparse_refresh.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "tensor/error.h"

namespace difflut {

namespace {
// The refresh of every slot: the losers (all candidates but the chosen one), lowest score first,
// give up to `per_slot` places to the inputs new_inputs(s, crow, r) returns (at most r, none of
// them a candidate of the slot), in that order.
template <typename T, class NewInputs>
void refresh_rows(int32_t* cand, T* w, int64_t S, int64_t C, int64_t per_slot,
                  NewInputs&& new_inputs, std::vector<int64_t>& replaced) {
  if (per_slot <= 0) return;
  std::vector<int64_t> order;
  std::vector<int64_t> slots;
  for (int64_t s = 0; s < S; ++s) {
    int32_t* crow = cand + s * C;
    T* wrow = w + s * C;
    const std::vector<int32_t> fresh = new_inputs(s, crow, per_slot);
    const int64_t r = static_cast<int64_t>(fresh.size());
    if (r == 0) continue;
    const int64_t chosen = std::max_element(wrow, wrow + C) - wrow;  // first index on ties
    // Losers by score, lowest first; stable, so the lower index goes first on ties.
    order.resize(static_cast<size_t>(C));
    std::iota(order.begin(), order.end(), int64_t{0});
    order.erase(order.begin() + chosen);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return wrow[a] < wrow[b]; });
    const auto out_begin = order.begin();
    const auto out_end = order.begin() + r;
    double kept_sum = 0.0;
    for (auto it = out_end; it != order.end(); ++it) kept_sum += static_cast<double>(wrow[*it]);
    kept_sum += static_cast<double>(wrow[chosen]);
    T fresh_score = static_cast<T>(kept_sum / static_cast<double>(C - r));
    // Strictly below the chosen score: a tie at a lower index would take the choice.
    if (!(fresh_score < wrow[chosen]))
      fresh_score = std::nextafter(wrow[chosen], -std::numeric_limits<T>::infinity());
    slots.assign(out_begin, out_end);
    std::sort(slots.begin(), slots.end());
    for (size_t k = 0; k < slots.size(); ++k) {
      crow[slots[k]] = fresh[k];
      wrow[slots[k]] = fresh_score;
      replaced.push_back(s * C + slots[k]);
    }
  }
}

// Uniform draws new to the slot: none of its C candidates before the swap (the replaced ones
// included) and none drawn for it just now; F - C >= r leaves one at every draw.
struct UniformNewInputs {
  int64_t C, F;
  Generator& gen;
  NewInputDraw fresh;
  std::vector<int32_t> operator()(int64_t, const int32_t* crow, int64_t per_slot) {
    return fresh.draw(crow, C, std::min(per_slot, F - C), gen);
  }
};

// The probed inputs of most negative t = sum / sqrt(sumsq) below -min_t, most negative first
// (lower probe index on ties), skipping any that became a candidate since the probe was drawn.
struct GuidedNewInputs {
  int64_t C;
  const SparseProbe& probe;
  double min_t;
  std::vector<std::pair<double, int64_t>> ranked;
  std::vector<int32_t> operator()(int64_t s, const int32_t* crow, int64_t per_slot) {
    const int64_t R = probe.per_slot;
    const int32_t* in = probe.inputs.data<int32_t>() + s * R;
    ranked.clear();
    for (int64_t r = 0; r < R; ++r) {
      const double q = probe.sumsq[static_cast<size_t>(s * R + r)];
      if (!(q > 0)) continue;
      const double t = probe.sum[static_cast<size_t>(s * R + r)] / std::sqrt(q);
      if (t < -min_t && std::find(crow, crow + C, in[r]) == crow + C) ranked.emplace_back(t, r);
    }
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<int32_t> out;
    for (size_t k = 0; k < ranked.size() && static_cast<int64_t>(out.size()) < per_slot; ++k)
      out.push_back(in[ranked[k].second]);
    return out;
  }
};

// Checks candidates [S, C] and W as refresh_candidate_rows documents them.
void check_refresh_rows(const Tensor& candidates, const Tensor& w, int64_t num_inputs,
                        int64_t per_slot) {
  DIFFLUT_CHECK(candidates.defined() && candidates.dim() == 2 && candidates.dtype() == DType::i32 &&
                    candidates.device() == Device::cpu,
                "sparse refresh: expected host i32 candidates [S, C], found ",
                candidates.defined() ? candidates.describe() : std::string("undefined"));
  DIFFLUT_CHECK(w.defined() && w.shape() == candidates.shape() && w.device() == Device::cpu &&
                    (w.dtype() == DType::f32 || w.dtype() == DType::f64),
                "sparse refresh: expected host f32/f64 scores ", shape_str(candidates.shape()),
                ", found ", w.defined() ? w.describe() : std::string("undefined"));
  const int64_t S = candidates.size(0), C = candidates.size(1);
  DIFFLUT_CHECK(per_slot >= 0 && per_slot <= C - 1, "sparse refresh: expected 0 to ", C - 1,
                " candidates replaced per slot (C = ", C, " less the chosen one), found ",
                per_slot);
  const int32_t* cand = candidates.data<int32_t>();
  for (int64_t e = 0; e < S * C; ++e)
    DIFFLUT_CHECK(cand[e] >= 0 && cand[e] < num_inputs, "sparse refresh: candidate entry ", e,
                  " = ", cand[e], " is outside [0, ", num_inputs, ")");
}

template <class NewInputs>
std::vector<int64_t> refresh_with(Tensor& candidates, Tensor& w, int64_t per_slot,
                                  NewInputs& new_inputs) {
  const int64_t S = candidates.size(0), C = candidates.size(1);
  std::vector<int64_t> replaced;
  int32_t* cand = candidates.data<int32_t>();
  if (w.dtype() == DType::f32)
    refresh_rows(cand, w.data<float>(), S, C, per_slot, new_inputs, replaced);
  else
    refresh_rows(cand, w.data<double>(), S, C, per_slot, new_inputs, replaced);
  return replaced;
}
}  // namespace

std::vector<int64_t> refresh_candidate_rows(Tensor& candidates, Tensor& w, int64_t num_inputs,
                                            int64_t per_slot, Generator& gen) {
  check_refresh_rows(candidates, w, num_inputs, per_slot);
  UniformNewInputs pick{candidates.size(1), num_inputs, gen, NewInputDraw(num_inputs)};
  return refresh_with(candidates, w, per_slot, pick);
}

std::vector<int64_t> refresh_candidate_rows_guided(Tensor& candidates, Tensor& w,
                                                   const SparseProbe& probe, int64_t per_slot,
                                                   double min_t) {
  check_refresh_rows(candidates, w, probe.num_inputs, per_slot);
  DIFFLUT_CHECK(probe.slots == candidates.size(0), "sparse refresh: expected a probe of ",
                candidates.size(0), " slots, found ", probe.slots);
  check_sparse_probe(probe, "sparse refresh");
  GuidedNewInputs pick{candidates.size(1), probe, min_t, {}};
  return refresh_with(candidates, w, per_slot, pick);
}

namespace {
void check_refreshable(const LUTLayer& layer) {
  DIFFLUT_CHECK(
      layer.mapping_kind() == MappingKind::sparse && layer.options().sparse_groups == 0,
      "sparse refresh: expected a layer with a sparse mapping of drawn candidates, found ",
      layer.options().sparse_groups > 0 ? std::string("a grouped one (fixed windows)")
                                        : mapping_kind_name(layer.mapping_kind()));
}

// Runs `refresh(cand, scores)` on host copies of the layer's candidates and W, then writes both
// back (W in place on its device, so the optimizer's flat buffer keeps it).
template <class Refresh>
int64_t refresh_layer_with(LUTLayer& layer, Refresh&& refresh) {
  check_refreshable(layer);
  Parameter& w = *layer.mapping_weights();
  Tensor cand = layer.mapping_candidates().clone();
  Tensor scores = w.value.to(Device::cpu).clone();
  const std::vector<int64_t> replaced = refresh(cand, scores);
  if (replaced.empty()) return 0;
  layer.set_mapping_candidates(cand);  // drops the layer's device copy of the candidates
  w.value.copy_(scores);  // the sparse forward takes its argmax from W every step: no cache
  return static_cast<int64_t>(replaced.size());
}
}  // namespace

int64_t refresh_sparse_layer(LUTLayer& layer, int64_t per_slot, Generator& gen) {
  return refresh_layer_with(layer, [&](Tensor& cand, Tensor& scores) {
    return refresh_candidate_rows(cand, scores, layer.input_size(), per_slot, gen);
  });
}

int64_t refresh_sparse_layer_guided(LUTLayer& layer, const SparseProbe& probe, int64_t per_slot,
                                    double min_t) {
  DIFFLUT_CHECK(probe.num_inputs == layer.input_size(), "sparse refresh: expected a probe over ",
                layer.input_size(), " inputs, found one over ", probe.num_inputs);
  return refresh_layer_with(layer, [&](Tensor& cand, Tensor& scores) {
    return refresh_candidate_rows_guided(cand, scores, probe, per_slot, min_t);
  });
}

}  // namespace difflut
