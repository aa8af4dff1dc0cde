// Gradient probe and guided candidate refresh of sparse mappings (lut/sparse_probe.h,
// refresh_candidate_rows_guided in lut/sparse_refresh.h): the probed inputs are new to their
// slots; the sums are the dense mapping's gradient for those inputs, recomputed here in plain
// loops; the guided refresh takes the most negative t below -min_t, in that order, for the
// weakest losers only, and leaves the forward unchanged; a layer's probe reads the mapping's own
// input and output gradient.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include "autograd/ops.h"
#include "lut/lut_layer.h"
#include "lut/sparse_mapping.h"
#include "lut/sparse_probe.h"
#include "lut/sparse_refresh.h"
#include "test_networks.h"
#include "test_util.h"

using namespace difflut;

TEST_CASE("draw_sparse_probe: distinct inputs per slot, none of them a candidate") {
  Generator gen(7);
  const Tensor cand = sparse_mapping_candidates(30, 40, 6, gen);
  Generator pg(3);
  const SparseProbe p = draw_sparse_probe(cand, 30, 10, pg);
  CHECK(p.slots == 40);
  CHECK(p.per_slot == 10);
  const std::vector<int32_t> c = cand.to_vector<int32_t>();
  const std::vector<int32_t> in = p.inputs.to_vector<int32_t>();
  for (int64_t s = 0; s < 40; ++s) {
    const std::set<int32_t> held(c.begin() + s * 6, c.begin() + s * 6 + 6);
    std::set<int32_t> probed;
    for (int64_t r = 0; r < 10; ++r) {
      const int32_t i = in[static_cast<size_t>(s * 10 + r)];
      CHECK(held.count(i) == 0);
      CHECK(i >= 0);
      CHECK(i < 30);
      probed.insert(i);
    }
    CHECK(probed.size() == 10);
  }
  // Capped at F - C; the same seed draws the same probe.
  Generator pg2(3);
  CHECK(draw_sparse_probe(cand, 30, 100, pg2).per_slot == 24);
  Generator pg3(3);
  CHECK(draw_sparse_probe(cand, 30, 10, pg3).inputs.to_vector<int32_t>() == in);
  CHECK_THROWS_WITH_AS(draw_sparse_probe(cand, 30, 0, pg),
                       "sparse probe: expected at least 1 probed input per slot, found 0", Error);
  const Tensor bad = Tensor::from_vector(std::vector<int32_t>{1, 40}, {1, 2});
  CHECK_THROWS_WITH_AS(draw_sparse_probe(bad, 30, 3, pg),
                       "sparse mapping: expected candidates in [0, 30), found 40", Error);
  CHECK_THROWS_WITH_AS(draw_sparse_probe(cand, 6, 1, pg),
                       "sparse probe: the slots' 6 candidates already cover all 6 inputs; "
                       "nothing is left to probe",
                       Error);
}

TEST_CASE("accumulate_sparse_probe: sums of the dense mapping's gradient and its square") {
  Generator gen(11);
  const int64_t F = 25, S = 18, C = 4, B = 13;
  const Tensor cand = sparse_mapping_candidates(F, S, C, gen);
  SparseProbe p = draw_sparse_probe(cand, F, 7, gen);
  std::vector<double> sum(static_cast<size_t>(S * 7), 0.0), sq(sum.size(), 0.0);
  const std::vector<int32_t> in = p.inputs.to_vector<int32_t>();
  for (int step = 0; step < 3; ++step) {
    const Tensor x = test::random_bits(B, F, 20 + static_cast<uint64_t>(step));
    Generator gg(40 + static_cast<uint64_t>(step));
    Tensor g = Tensor::rand({B, S}, gg);
    for (int64_t e = 0; e < g.numel(); ++e) g.data<float>()[e] -= 0.5f;
    accumulate_sparse_probe(p, x, g);
    const std::vector<float> xv = x.to_vector<float>(), gv = g.to_vector<float>();
    for (int64_t s = 0; s < S; ++s)
      for (int64_t r = 0; r < 7; ++r) {
        double d = 0;
        const int32_t i = in[static_cast<size_t>(s * 7 + r)];
        for (int64_t b = 0; b < B; ++b)
          d +=
              (2.0 * xv[static_cast<size_t>(b * F + i)] - 1.0) * gv[static_cast<size_t>(b * S + s)];
        sum[static_cast<size_t>(s * 7 + r)] += d;
        sq[static_cast<size_t>(s * 7 + r)] += d * d;
      }
  }
  CHECK(p.steps == 3);
  for (size_t e = 0; e < sum.size(); ++e) {
    CHECK(p.sum[e] == doctest::Approx(sum[e]).epsilon(1e-5));
    CHECK(p.sumsq[e] == doctest::Approx(sq[e]).epsilon(1e-5));
  }
  CHECK_THROWS_WITH_AS(accumulate_sparse_probe(p, Tensor::zeros({B, F + 1}), Tensor::zeros({B, S})),
                       "sparse probe: expected x [B, 25] and g [B, 18], found x f32[13, 26] on cpu "
                       "and g f32[13, 18] on cpu",
                       Error);
}

TEST_CASE("refresh_candidate_rows_guided: the most upward probes replace the weakest losers") {
  // One slot of C = 4 over F = 12: candidates 0..3, scores put 2 first and 3, then 1 lowest.
  Tensor cand = Tensor::from_vector(std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6, 7}, {2, 4});
  Tensor w = Tensor::from_vector(std::vector<float>{0.5f, 0.2f, 0.9f, 0.1f, 1.0f, 2.0f, 3.0f, 4.0f},
                                 {2, 4});
  SparseProbe p;
  p.slots = 2;
  p.per_slot = 4;
  p.num_inputs = 12;
  p.inputs = Tensor::from_vector(std::vector<int32_t>{8, 9, 10, 11, 8, 9, 10, 11}, {2, 4});
  // t = sum / sqrt(sumsq): slot 0: 8 -> -5, 9 -> -2 (above -min_t), 10 -> -8, 11 -> +6.
  // Slot 1: every t above -3: nothing is replaced.
  p.sum = {-5, -2, -8, 6, -1, 1, -2.5, 0};
  p.sumsq = {1, 1, 1, 1, 1, 1, 1, 0};
  p.steps = 1;
  const std::vector<int64_t> replaced = refresh_candidate_rows_guided(cand, w, p, 3, 3.0);
  // Slot 0's losers by score: 3 (0.1), 1 (0.2), 0 (0.5); two probes qualify (10, then 8), so the
  // two weakest losers (positions 1 and 3, ascending) take them in slot order: 1 <- 10, 3 <- 8.
  CHECK(replaced == std::vector<int64_t>{1, 3});
  CHECK(cand.to_vector<int32_t>() == std::vector<int32_t>{0, 10, 2, 8, 4, 5, 6, 7});
  const std::vector<float> wa = w.to_vector<float>();
  CHECK(wa[1] == doctest::Approx((0.5 + 0.9) / 2));
  CHECK(wa[3] == doctest::Approx((0.5 + 0.9) / 2));
  CHECK(wa[2] == 0.9f);  // the choice is kept
  CHECK(std::vector<float>(wa.begin() + 4, wa.end()) == std::vector<float>{1, 2, 3, 4});
  // A probed input that became a candidate meanwhile is skipped.
  Tensor cand2 = Tensor::from_vector(std::vector<int32_t>{0, 1, 2, 10, 4, 5, 6, 7}, {2, 4});
  Tensor w2 = Tensor::from_vector(
      std::vector<float>{0.5f, 0.2f, 0.9f, 0.1f, 1.0f, 2.0f, 3.0f, 4.0f}, {2, 4});
  CHECK(refresh_candidate_rows_guided(cand2, w2, p, 3, 3.0) == std::vector<int64_t>{3});
  CHECK(cand2.to_vector<int32_t>() == std::vector<int32_t>{0, 1, 2, 8, 4, 5, 6, 7});
  // A malformed probe is refused before anything is read.
  SparseProbe m = p;
  m.sumsq.pop_back();
  CHECK_THROWS_WITH_AS(refresh_candidate_rows_guided(cand, w, m, 1, 3.0),
                       "sparse refresh: expected probe sums of 8 entries, found 8 and 7", Error);
  SparseProbe o = p;
  o.inputs = Tensor::from_vector(std::vector<int32_t>{8, 9, 10, 12, 8, 9, 10, 11}, {2, 4});
  CHECK_THROWS_WITH_AS(refresh_candidate_rows_guided(cand, w, o, 1, 3.0),
                       "sparse refresh: expected probe inputs in [0, 12), found 12 at entry 3",
                       Error);
  // A probe of other slots is refused.
  SparseProbe q = p;
  q.slots = 3;
  CHECK_THROWS_WITH_AS(refresh_candidate_rows_guided(cand, w, q, 1, 3.0),
                       "sparse refresh: expected a probe of 2 slots, found 3", Error);
}

TEST_CASE("LUTLayer probe: the mapping's input and output gradient, the forward unchanged") {
  Generator gen(21);
  const LUTLayerOptions opt = test::sparse_layer_options(60, 20, 4, 6);
  LUTLayer layer(opt, gen);
  layer.train();
  Generator pg(2);
  SparseProbe probe = draw_sparse_probe(layer.mapping_candidates(), 60, 16, pg);
  SparseProbe expected = probe;
  const Tensor x = test::random_bits(12, 60, 8);
  Generator rg(9);
  const Tensor r = Tensor::rand({12, 20}, rg);
  Tensor out_plain;
  {
    Graph g;
    out_plain = layer.forward(g, g.input(x)).value().clone();
  }
  layer.set_probe(&probe);
  Graph g;
  Var out = layer.forward(g, g.input(x));
  test::check_equal(out.value(), out_plain);
  g.backward(sum(sum(mul(out, g.input(r)), 1), 0));
  layer.collect_probe(g);
  layer.collect_probe(g);  // a second call without a new forward adds nothing
  CHECK(probe.steps == 1);
  // The reference: the mapping output built by hand (x at each slot's chosen input) as a leaf that
  // requires a gradient, through the layer's node op and the same loss.
  const std::vector<int64_t> idx = layer.mapping_indices().to_vector<int64_t>();
  const std::vector<float> xv = x.to_vector<float>();
  const int64_t S = static_cast<int64_t>(idx.size());
  std::vector<float> mv(static_cast<size_t>(12 * S));
  for (int64_t b = 0; b < 12; ++b)
    for (int64_t s = 0; s < S; ++s)
      mv[static_cast<size_t>(b * S + s)] =
          xv[static_cast<size_t>(b * 60 + idx[static_cast<size_t>(s)])];
  Graph h;
  Var m = h.input(Tensor::from_vector(mv, {12, S}), "mapped", true);
  Var ho = layer.node_type()->apply(m, h.param(layer.node_params()), opt.k, true);
  h.backward(sum(sum(mul(ho, h.input(r)), 1), 0));
  accumulate_sparse_probe(expected, x, h.grad(m));
  for (size_t e = 0; e < probe.sum.size(); ++e) {
    CHECK(probe.sum[e] == doctest::Approx(expected.sum[e]).epsilon(1e-6));
    CHECK(probe.sumsq[e] == doctest::Approx(expected.sumsq[e]).epsilon(1e-6));
  }
  double total = 0;
  for (double v : probe.sumsq) total += v;
  CHECK(total > 0);  // the loss depends on the slots: the check above is not of zeros
  // Refused on a layer that is not sparse, and for a probe of another shape.
  LUTLayerOptions ro = opt;
  ro.mapping = MappingKind::random;
  LUTLayer fixed(ro, gen);
  CHECK_THROWS_WITH_AS(fixed.set_probe(&probe),
                       "LUTLayer.set_probe: expected a sparse mapping, found random", Error);
  SparseProbe wrong = probe;
  wrong.slots = 3;
  CHECK_THROWS_WITH_AS(layer.set_probe(&wrong),
                       "LUTLayer.set_probe: expected a probe of 80 slots over 60 inputs, found 3 "
                       "over 60",
                       Error);
}
