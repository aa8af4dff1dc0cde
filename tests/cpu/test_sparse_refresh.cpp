// Candidate refresh of sparse mappings (lut/sparse_refresh.h): the weakest losers of each slot,
// and only they, become new inputs of the slot; the chosen candidate and the forward stay; the
// new scores sit below the choice; the draw is reproducible; bad requests are one-line errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <vector>

#include "lut/lut_layer.h"
#include "lut/sparse_mapping.h"
#include "lut/sparse_refresh.h"
#include "test_networks.h"
#include "test_util.h"

using namespace difflut;

TEST_CASE("refresh_candidate_rows: the lowest losers become inputs the slot did not hold") {
  // Two slots of C = 5 over F = 20 inputs; scores chosen so the order is known.
  Tensor cand =
      Tensor::from_vector(std::vector<int32_t>{0, 1, 2, 3, 4, 10, 11, 12, 13, 14}, {2, 5});
  Tensor w = Tensor::from_vector(
      std::vector<float>{0.5f, 0.1f, 0.9f, 0.3f, 0.1f, 2.0f, 1.0f, 3.0f, -1.0f, 0.0f}, {2, 5});
  const std::vector<int32_t> before = cand.to_vector<int32_t>();
  Generator gen(4);
  const std::vector<int64_t> replaced = refresh_candidate_rows(cand, w, 20, 2, gen);
  // Slot 0: chosen 2 (0.9); losers by score 1 (0.1, lower index first on the tie), 4 (0.1).
  // Slot 1: chosen 7 (3.0); losers 8 (-1.0), 9 (0.0).
  CHECK(replaced == std::vector<int64_t>{1, 4, 8, 9});
  const std::vector<int32_t> after = cand.to_vector<int32_t>();
  // The draws themselves, pinned: a change of the draw order would change every run's candidates.
  // (the values the refresh drew before NewInputDraw replaced its linear search: the same draws)
  CHECK(after == std::vector<int32_t>{0, 11, 2, 3, 19, 10, 11, 12, 4, 6});
  const std::vector<float> wa = w.to_vector<float>();
  for (int64_t s = 0; s < 2; ++s) {
    const std::set<int32_t> old_row(before.begin() + s * 5, before.begin() + s * 5 + 5);
    const std::set<int32_t> row(after.begin() + s * 5, after.begin() + s * 5 + 5);
    CHECK(row.size() == 5);  // still distinct
    for (int64_t c = 0; c < 5; ++c) {
      const size_t e = static_cast<size_t>(s * 5 + c);
      const bool was_replaced =
          std::find(replaced.begin(), replaced.end(), static_cast<int64_t>(e)) != replaced.end();
      if (!was_replaced) {
        CHECK(after[e] == before[e]);
        continue;
      }
      CHECK(old_row.count(after[e]) == 0);  // a new input for this slot
      CHECK(after[e] >= 0);
      CHECK(after[e] < 20);
    }
  }
  // New scores: the mean of the kept ones (slot 0: 0.5, 0.9, 0.3; slot 1: 2, 1, 3).
  CHECK(wa[1] == doctest::Approx(1.7 / 3));
  CHECK(wa[4] == doctest::Approx(1.7 / 3));
  CHECK(wa[8] == doctest::Approx(2.0));
  CHECK(wa[9] == doctest::Approx(2.0));
  CHECK(wa[2] == 0.9f);  // kept scores are untouched
  CHECK(wa[7] == 3.0f);
}

TEST_CASE("refresh_candidate_rows: the choice never moves, even when the kept scores tie it") {
  // Every score equal: the mean equals the chosen score, so the new ones go just below it.
  Tensor cand = Tensor::from_vector(std::vector<int32_t>{5, 6, 7, 8}, {1, 4});
  Tensor w = Tensor::full({1, 4}, 0.25, DType::f64);
  const int64_t chosen_before = sparse_mapping_choice(w, cand).to_vector<int64_t>()[0];
  Generator gen(9);
  const std::vector<int64_t> replaced = refresh_candidate_rows(cand, w, 30, 3, gen);
  CHECK(replaced == std::vector<int64_t>{1, 2, 3});
  const std::vector<double> wa = w.to_vector<double>();
  CHECK(wa[0] == 0.25);
  for (int c = 1; c < 4; ++c) CHECK(wa[static_cast<size_t>(c)] < 0.25);
  CHECK(sparse_mapping_choice(w, cand).to_vector<int64_t>()[0] == chosen_before);
}

TEST_CASE("refresh_candidate_rows: limits, reproducibility and one-line errors") {
  // F - C = 1 input left to try: one candidate per slot at most, whatever was asked.
  Tensor cand = Tensor::from_vector(std::vector<int32_t>{0, 1, 2, 2, 1, 0}, {2, 3});
  Tensor w = Tensor::from_vector(std::vector<float>{1, 2, 3, 3, 2, 1}, {2, 3});
  Generator gen(1);
  CHECK(refresh_candidate_rows(cand, w, 4, 2, gen).size() == 2);
  CHECK(cand.to_vector<int32_t>() == std::vector<int32_t>{3, 1, 2, 2, 1, 3});
  // F - C = r exactly: the new inputs are the two the slot never held, never a replaced one back.
  Tensor tight = Tensor::from_vector(std::vector<int32_t>{0, 1, 2}, {1, 3});
  Tensor wt = Tensor::from_vector(std::vector<float>{3, 2, 1}, {1, 3});
  for (uint64_t seed = 0; seed < 20; ++seed) {
    Tensor c = tight.clone(), wc = wt.clone();
    Generator g(seed);
    REQUIRE(refresh_candidate_rows(c, wc, 5, 2, g) == std::vector<int64_t>{1, 2});
    const std::vector<int32_t> row = c.to_vector<int32_t>();
    CHECK(row[0] == 0);
    CHECK(std::set<int32_t>(row.begin() + 1, row.end()) == std::set<int32_t>{3, 4});
  }
  // F = C: nothing to draw, nothing changes.
  Tensor full = Tensor::from_vector(std::vector<int32_t>{0, 1, 2}, {1, 3});
  Tensor wf = Tensor::from_vector(std::vector<float>{1, 2, 3}, {1, 3});
  CHECK(refresh_candidate_rows(full, wf, 3, 2, gen).empty());
  // The same generator state draws the same inputs.
  Generator g1(77), g2(77);
  Tensor c1 = Tensor::from_vector(std::vector<int32_t>{0, 1, 2, 3}, {1, 4}), c2 = c1.clone();
  Tensor w1 = Tensor::from_vector(std::vector<float>{4, 3, 2, 1}, {1, 4}), w2 = w1.clone();
  refresh_candidate_rows(c1, w1, 1000, 3, g1);
  refresh_candidate_rows(c2, w2, 1000, 3, g2);
  CHECK(c1.to_vector<int32_t>() == c2.to_vector<int32_t>());
  // Requests outside [0, C - 1], and candidates outside [0, F).
  CHECK_THROWS_WITH_AS(refresh_candidate_rows(c1, w1, 1000, 4, gen),
                       "sparse refresh: expected 0 to 3 candidates replaced per slot (C = 4 less "
                       "the chosen one), found 4",
                       Error);
  CHECK_THROWS_WITH_AS(refresh_candidate_rows(c1, w1, 2, 1, gen),
                       doctest::Contains("is outside [0, 2)"), Error);
}

TEST_CASE("refresh_sparse_layer: W is written in place, the layer's output is unchanged") {
  Generator gen(21);
  LUTLayer layer(test::sparse_layer_options(60, 20, 4, 6), gen);
  // Spread the scores as training would, so the kept means differ from slot to slot.
  Generator sg(5);
  Tensor& wv = layer.mapping_weights()->value;
  Tensor spread = Tensor::rand(wv.shape(), sg);
  for (int64_t i = 0; i < spread.numel(); ++i) spread.data<float>()[i] *= 10.0f;
  wv.copy_(spread);
  const Tensor x = test::random_bits(16, 60, 8);
  Graph g;
  const Tensor before = layer.forward(g, g.input(x)).value().clone();
  const std::vector<int64_t> chosen = layer.mapping_indices().to_vector<int64_t>();
  const std::vector<int32_t> cand_before = layer.mapping_candidates().to_vector<int32_t>();
  Generator rg(3);
  CHECK(refresh_sparse_layer(layer, 2, rg) == 80 * 2);
  g.clear();
  test::check_equal(layer.forward(g, g.input(x)).value(), before);
  CHECK(layer.mapping_indices().to_vector<int64_t>() == chosen);
  const std::vector<int32_t> cand_after = layer.mapping_candidates().to_vector<int32_t>();
  int64_t changed = 0;
  for (size_t e = 0; e < cand_after.size(); ++e) changed += cand_after[e] != cand_before[e];
  CHECK(changed == 160);
  // Layers with other mappings are refused.
  LUTLayerOptions ro = test::sparse_layer_options(60, 20, 4, 6);
  ro.mapping = MappingKind::random;
  LUTLayer fixed(ro, gen);
  CHECK_THROWS_WITH_AS(refresh_sparse_layer(fixed, 1, rg),
                       "sparse refresh: expected a layer with a sparse mapping of drawn "
                       "candidates, found random",
                       Error);
}
