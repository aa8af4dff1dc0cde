// The layer training aids (lut/layer_aids.h) inside LUTLayer and LUTNetwork: added in training
// mode only, masks that change per step and repeat for a step, models without them unchanged,
// settings refused with one clear line.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "lut/layer_aids.h"
#include "lut/layer_aids_kernels.h"
#include "lut/lut_layer.h"
#include "lut/lut_network.h"
#include "test_util.h"

using namespace difflut;
using namespace difflut::test;

namespace {

LUTLayerOptions layer_opts(double flip, GradStabilization mode) {
  LUTLayerOptions o;
  o.input_size = 40;
  o.num_nodes = 16;
  o.k = 4;
  o.flip_probability = flip;
  o.grad_stabilization.mode = mode;
  return o;
}


std::vector<std::string> node_names(const Graph& g) {
  std::vector<std::string> names;
  for (const Node& n : g.nodes()) names.push_back(n.name);
  return names;
}

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// The value of the bit_flip node of one training forward of `layer` on x.
Tensor flipped_input(LUTLayer& layer, const Tensor& x) {
  Graph g;
  layer.forward(g, g.input(x));
  for (const Node& n : g.nodes())
    if (n.name == "bit_flip") return n.value.clone();
  FAIL("no bit_flip node");
  return {};
}

}  // namespace

TEST_CASE("LUTLayer: the training aids are graph nodes in training mode and absent in eval mode") {
  Generator gen(1);
  LUTLayer layer(layer_opts(0.1, GradStabilization::layerwise), gen);
  const Tensor x = random_bits(8, 40, 2);
  {
    Graph g;
    layer.forward(g, g.input(x));
    const auto names = node_names(g);
    CHECK(has(names, "bit_flip"));
    CHECK(has(names, "grad_stabilize"));
  }
  layer.eval();
  Graph g;
  layer.forward(g, g.input(x));
  const auto names = node_names(g);
  CHECK_FALSE(has(names, "bit_flip"));
  CHECK_FALSE(has(names, "grad_stabilize"));
}

TEST_CASE(
    "LUTLayer: bit flips follow the augmentation step: new masks per step, the same for a step") {
  Generator gen(3);
  LUTLayer layer(layer_opts(0.25, GradStabilization::none), gen);
  const Tensor x = random_bits(16, 40, 4);
  layer.set_augmentation_step(7);
  const Tensor a = flipped_input(layer, x);  // step 7, then the counter moves to 8
  const Tensor b = flipped_input(layer, x);  // step 8
  layer.set_augmentation_step(7);
  const Tensor c = flipped_input(layer, x);  // step 7 again
  check_equal(a, c);
  CHECK(max_abs_diff(a, b) == 1.0);
  // About a quarter of the bits flipped (640 bits: 160 expected, 5 sigma is about 55).
  const std::vector<double> va = vals(a), vx = vals(x);
  int64_t flipped = 0;
  for (size_t i = 0; i < va.size(); ++i) flipped += va[i] != vx[i];
  CHECK(flipped > 105);
  CHECK(flipped < 215);
}

TEST_CASE("bit_flip: float tensors flip exactly the elements bit_flip_mask names, at any p") {
  // The float kernel draws eight counters at once (AVX-512 where present) and tests the draw as an
  // integer; every decision must still be bit_flip_mask's. Odd sizes leave scalar tails, and a
  // large tensor splits into ranges that start off a 16-element boundary when threads run.
  for (const int64_t n : {int64_t(37), int64_t(100003)}) {
    Generator gen(static_cast<uint64_t>(n));
    const Tensor x = Tensor::rand({1, n}, gen);
    for (const double p : {0.0, 1e-9, 0.02, 0.3, 0.5, 0.999999, 1.0}) {
      const uint64_t key = bit_flip_key(99, static_cast<uint64_t>(n) + 17);
      Graph g;
      const Tensor y = bit_flip(g.input(x), p, key).value();
      const float* xp = x.data<float>();
      const float* yp = y.data<float>();
      int64_t wrong = 0, flipped = 0;
      for (int64_t i = 0; i < n; ++i) {
        const bool flip = bit_flip_mask(static_cast<uint64_t>(i), key, p);
        flipped += flip;
        wrong += yp[i] != (flip ? 1.0f - xp[i] : xp[i]);
      }
      INFO("n = ", n, ", p = ", p, ", flipped ", flipped);
      CHECK(wrong == 0);
      if (p >= 1.0) CHECK(flipped == n);
      if (p == 0.0) CHECK(flipped == 0);
    }
  }
}

TEST_CASE("LUTLayer: a layer without aids draws what it drew before they existed") {
  Generator g1(5), g2(5);
  LUTLayer plain(layer_opts(0.0, GradStabilization::none), g1);
  LUTLayer stabilised(layer_opts(0.0, GradStabilization::batchwise), g2);
  check_equal(plain.node_params().value, stabilised.node_params().value);
  check_equal(plain.mapping_indices(), stabilised.mapping_indices());
  CHECK(g1.offset() == g2.offset());
}

TEST_CASE("LUTLayer: grad_stabilize leaves the forward alone and rescales the layer's gradient") {
  Generator g1(6), g2(6);
  LUTLayerOptions o = layer_opts(0.0, GradStabilization::none);
  o.node_type_name = "linear_lut";
  LUTLayer plain(o, g1);
  o.grad_stabilization.mode = GradStabilization::layerwise;
  o.grad_stabilization.target = 4.0;
  LUTLayer stabilised(o, g2);
  const Tensor x = random_bits(8, 40, 7);
  Graph ga, gb;
  Var ya = plain.forward(ga, ga.input(x));
  Var yb = stabilised.forward(gb, gb.input(x));
  check_equal(ya.value(), yb.value());
  Generator sg(8);
  const Tensor seed = Tensor::rand({8, 16}, sg);
  ga.backward(ya, seed);
  gb.backward(yb, seed);
  // Same direction, and the stabilised layer's incoming gradient has variance 4 (mean of squares).
  const std::vector<double> s = vals(seed);
  double ms = 0;
  for (double v : s) ms += v * v;
  ms /= static_cast<double>(s.size());
  const double scale = std::sqrt(4.0 / (ms + 1e-8));
  const std::vector<double> pa = vals(plain.node_params().grad);
  const std::vector<double> pb = vals(stabilised.node_params().grad);
  REQUIRE(pa.size() == pb.size());
  for (size_t i = 0; i < pa.size(); ++i)
    CHECK(pb[i] == doctest::Approx(pa[i] * scale).epsilon(1e-4));
}

TEST_CASE("LUTLayer and grad_stabilization settings: out-of-range values are refused in one line") {
  Generator gen(9);
  CHECK_THROWS_WITH_AS(LUTLayer(layer_opts(1.5, GradStabilization::none), gen),
                       doctest::Contains("expected flip_probability in [0, 1], found 1.5"), Error);
  LUTLayerOptions o = layer_opts(0.0, GradStabilization::layerwise);
  o.grad_stabilization.target = -1;
  CHECK_THROWS_WITH_AS(LUTLayer(o, gen), doctest::Contains("positive target variance"), Error);
  CHECK_THROWS_WITH_AS(
      parse_grad_stabilization("sometimes", "config key 'x'"),
      doctest::Contains("expected one of none, layerwise, batchwise, found 'sometimes'"), Error);
  CHECK(parse_grad_stabilization("batchwise") == GradStabilization::batchwise);
}
