// Candidate refresh for sparse learnable mappings (see sparse_refresh.h).
#include "lut/sparse_refresh.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "tensor/error.h"

namespace difflut {

namespace {
template <typename T>
void refresh_rows(int32_t* cand, T* w, int64_t S, int64_t C, int64_t F, int64_t per_slot,
                  Generator& gen, std::vector<int64_t>& replaced) {
  const int64_t r = std::min(per_slot, F - C);
  if (r <= 0) return;
  std::vector<int64_t> order;
  std::vector<int32_t> held;
  std::vector<int64_t> slots;
  for (int64_t s = 0; s < S; ++s) {
    int32_t* crow = cand + s * C;
    T* wrow = w + s * C;
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
    // New inputs are new to the slot: none of its C candidates before the swap (the replaced
    // ones included) and none drawn for it just now; F - C >= r leaves one at every draw.
    held.assign(crow, crow + C);
    for (const int64_t c : slots) {
      int32_t input;
      do {
        input = static_cast<int32_t>(gen.below(static_cast<uint64_t>(F)));
      } while (std::find(held.begin(), held.end(), input) != held.end());
      held.push_back(input);
      crow[c] = input;
      wrow[c] = fresh_score;
      replaced.push_back(s * C + c);
    }
  }
}
}  // namespace

std::vector<int64_t> refresh_candidate_rows(Tensor& candidates, Tensor& w, int64_t num_inputs,
                                            int64_t per_slot, Generator& gen) {
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
  int32_t* cand = candidates.data<int32_t>();
  for (int64_t e = 0; e < S * C; ++e)
    DIFFLUT_CHECK(cand[e] >= 0 && cand[e] < num_inputs, "sparse refresh: candidate entry ", e,
                  " = ", cand[e], " is outside [0, ", num_inputs, ")");
  std::vector<int64_t> replaced;
  if (w.dtype() == DType::f32)
    refresh_rows(cand, w.data<float>(), S, C, num_inputs, per_slot, gen, replaced);
  else
    refresh_rows(cand, w.data<double>(), S, C, num_inputs, per_slot, gen, replaced);
  return replaced;
}

int64_t refresh_sparse_layer(LUTLayer& layer, int64_t per_slot, Generator& gen) {
  DIFFLUT_CHECK(
      layer.mapping_kind() == MappingKind::sparse && layer.options().sparse_groups == 0,
      "sparse refresh: expected a layer with a sparse mapping of drawn candidates, found ",
      layer.options().sparse_groups > 0 ? std::string("a grouped one (fixed windows)")
                                        : mapping_kind_name(layer.mapping_kind()));
  Parameter& w = *layer.mapping_weights();
  Tensor cand = layer.mapping_candidates().clone();
  Tensor scores = w.value.to(Device::cpu).clone();
  const std::vector<int64_t> replaced =
      refresh_candidate_rows(cand, scores, layer.input_size(), per_slot, gen);
  if (replaced.empty()) return 0;
  layer.set_mapping_candidates(cand);  // drops the layer's device copy of the candidates
  w.value.copy_(scores);  // the sparse forward takes its argmax from W every step: no cache
  return static_cast<int64_t>(replaced.size());
}

}  // namespace difflut
