// The node-type registry and the custom_lut path: lookup and its errors, the example soft-majority
// node through the op (forward, backward, regularisation, truth table = eval forward), and the
// built-in "dwn" type agreeing with the dwn_lut op.
#include <algorithm>
#include <bit>
#include <cmath>
#include <vector>

#include "autograd/graph.h"
#include "lut/examples/soft_majority_node.h"
#include "lut/node_ops.h"
#include "lut/node_registry.h"
#include "test_util.h"

using namespace difflut;

namespace {
std::shared_ptr<NodeType> soft_majority() {
  const auto names = registered_node_types();
  if (std::find(names.begin(), names.end(), "soft_majority") == names.end())
    register_node_type(std::make_shared<examples::SoftMajorityNode>(0.1));
  return find_node_type("soft_majority");
}

Tensor uniform(const Shape& shape, Generator& gen, double lo, double hi, DType dt = DType::f64) {
  std::vector<double> v = Tensor::rand(shape, gen, DType::f64).to_vector<double>();
  for (double& e : v) e = lo + (hi - lo) * e;
  return Tensor::from_vector(v, shape).to(dt);
}

// Rows enumerating every address: row a feeds bits of a (as 0/1) to every one of N nodes.
Tensor all_addresses(int k, int64_t N, DType dt) {
  const int64_t K = int64_t{1} << k;
  std::vector<double> x(static_cast<size_t>(K * N * k));
  for (int64_t a = 0; a < K; ++a)
    for (int64_t j = 0; j < N; ++j)
      for (int l = 0; l < k; ++l)
        x[static_cast<size_t>((a * N + j) * k + l)] = double((a >> l) & 1);
  return Tensor::from_vector(x, {K, N * k}).to(dt);
}
}  // namespace

TEST_CASE("the built-in dwn type is registered; unknown names list the known types") {
  const auto names = registered_node_types();
  REQUIRE(!names.empty());
  CHECK(names.front() == "dwn");
  CHECK(find_node_type("dwn")->name() == "dwn");
  CHECK_THROWS_WITH_AS(
      find_node_type("dwm", "model.params.node_type"),
      doctest::Contains("model.params.node_type='dwm' is not a registered node type (known: dwn"),
      Error);
  CHECK_THROWS_WITH_AS(unregister_node_type("dwn"), doctest::Contains("built-in"), Error);
}

TEST_CASE("registering a node type makes it findable; duplicates and bad names are rejected") {
  auto t = soft_majority();
  CHECK(t->name() == "soft_majority");
  const auto names = registered_node_types();
  CHECK(std::find(names.begin(), names.end(), "soft_majority") != names.end());
  CHECK_THROWS_WITH_AS(register_node_type(std::make_shared<examples::SoftMajorityNode>()),
                       doctest::Contains("'soft_majority' is already registered"), Error);
  CHECK_THROWS_WITH_AS(find_node_type("nope"),
                       doctest::Contains("gradient_stabilized, soft_majority)"), Error);

  struct BadName : examples::SoftMajorityNode {
    std::string name() const override { return "bad name"; }
  };
  CHECK_THROWS_WITH_AS(register_node_type(std::make_shared<BadName>()),
                       doctest::Contains("letters, digits and '_'"), Error);
  struct Temp : examples::SoftMajorityNode {
    std::string name() const override { return "temp_node"; }
  };
  register_node_type(std::make_shared<Temp>());
  CHECK(find_node_type("temp_node") != nullptr);
  CHECK(unregister_node_type("temp_node"));
  CHECK_FALSE(unregister_node_type("temp_node"));
}

TEST_CASE("soft_majority through custom_lut: initial weights give the majority vote") {
  auto type = soft_majority();
  const int k = 3, N = 2;
  Tensor params = Tensor::empty({N, type->num_params(k)}, DType::f64);
  Generator gen(1);
  type->init(params, k, gen);
  Graph g;
  Var y = custom_lut(g.input(all_addresses(k, N, DType::f64)), g.input(params), type, k, false);
  std::vector<double> out = y.value().to_vector<double>();
  for (int a = 0; a < 8; ++a) {
    const double want = std::popcount(static_cast<unsigned>(a)) >= 2 ? 1.0 : 0.0;
    CHECK(out[static_cast<size_t>(a * N)] == want);
    CHECK(out[static_cast<size_t>(a * N + 1)] == want);
  }
  // Training forward at 0/1 inputs: σ(#ones − #zeros).
  Var ys = custom_lut(g.input(all_addresses(k, N, DType::f64)), g.input(params), type, k, true);
  std::vector<double> soft = ys.value().to_vector<double>();
  for (int a = 0; a < 8; ++a) {
    const int ones = std::popcount(static_cast<unsigned>(a));
    CHECK(soft[static_cast<size_t>(a * N)] ==
          doctest::Approx(1.0 / (1.0 + std::exp(-(2.0 * ones - 3.0)))));
  }
}

TEST_CASE("soft_majority truth table equals its eval forward on all 2^k inputs") {
  auto type = soft_majority();
  for (int k = 1; k <= 6; ++k) {
    CAPTURE(k);
    const int64_t N = 5;
    Generator gen(10 + k);
    Tensor params = uniform({N, k + 1}, gen, -1, 1);
    Tensor tt = type->truth_table(params, k);
    REQUIRE(tt.shape() == Shape{N, int64_t{1} << k});
    Graph g;
    // Inputs near the threshold on both sides read the same bits as exact 0/1.
    Tensor x = all_addresses(k, N, DType::f64);
    std::vector<double> xv = x.to_vector<double>();
    for (double& e : xv) e = e > 0 ? 0.5 : 0.499;
    Var y =
        custom_lut(g.input(Tensor::from_vector(xv, x.shape())), g.input(params), type, k, false);
    std::vector<double> out = y.value().to_vector<double>();
    std::vector<uint8_t> t = tt.to_vector<uint8_t>();
    for (int64_t a = 0; a < (int64_t{1} << k); ++a)
      for (int64_t j = 0; j < N; ++j)
        CHECK(out[static_cast<size_t>(a * N + j)] ==
              double(t[static_cast<size_t>(j * (int64_t{1} << k) + a)]));
  }
}

TEST_CASE("soft_majority backward matches the hand-derived gradient and accumulates") {
  auto type = soft_majority();
  const int k = 2;
  Tensor params = Tensor::from_vector<double>({0.5, -1.0, 0.25}, {1, 3});
  Tensor x = Tensor::from_vector<double>({0.8, 0.3}, {1, 2});
  Graph g;
  Var vx = g.input(x, "x", true);
  Var vp = g.input(params, "p", true);
  Var y = custom_lut(vx, vp, type, k, true);
  const double z = 0.25 + 0.5 * (2 * 0.8 - 1) - 1.0 * (2 * 0.3 - 1);
  const double s = 1 / (1 + std::exp(-z));
  CHECK(y.value().item<double>() == doctest::Approx(s));
  g.backward(y, Tensor::full({1, 1}, 2.0, DType::f64));
  const double d = 2.0 * s * (1 - s);
  std::vector<double> gx = g.grad(vx).to_vector<double>(), gp = g.grad(vp).to_vector<double>();
  CHECK(gx[0] == doctest::Approx(d * 2 * 0.5));
  CHECK(gx[1] == doctest::Approx(d * 2 * -1.0));
  CHECK(gp[0] == doctest::Approx(d * (2 * 0.8 - 1)));
  CHECK(gp[1] == doctest::Approx(d * (2 * 0.3 - 1)));
  CHECK(gp[2] == doctest::Approx(d));
}

TEST_CASE("custom_lut_reg evaluates the node's regularisation and its gradient") {
  auto type = soft_majority();  // lambda = 0.1, R = ½·λ·Σ w² over weights (not biases)
  Tensor params = Tensor::from_vector<double>({1, 2, 9, -3, 0.5, 9}, {2, 3});
  Graph g;
  Var vp = g.input(params, "p", true);
  Var r = custom_lut_reg(vp, type, 2);
  CHECK(r.value().item<double>() == doctest::Approx(0.05 * (1 + 4 + 9 + 0.25)));
  g.backward(r);
  test::check_close(g.grad(vp), Tensor::from_vector<double>({0.1, 0.2, 0, -0.3, 0.05, 0}, {2, 3}),
                    1e-15, 1e-12);
}

TEST_CASE("custom_lut validates its node type, k and parameter shape") {
  auto type = soft_majority();
  Graph g;
  Var x = g.input(Tensor::zeros({2, 6}));
  CHECK_THROWS_WITH_AS(
      custom_lut(x, g.input(Tensor::zeros({2, 3})), type, 3, true),
      doctest::Contains("node type 'soft_majority' expects params [N, 4] for k = 3"), Error);
  CHECK_THROWS_WITH_AS(custom_lut(x, g.input(Tensor::zeros({1, 10})), type, 9, true),
                       doctest::Contains("custom_lut: k must be in [1, 8], found 9"), Error);
  CHECK_THROWS_WITH_AS(custom_lut(x, g.input(Tensor::zeros({2, 4})), nullptr, 3, true),
                       doctest::Contains("custom_lut: expected a node type"), Error);
}

TEST_CASE("the built-in dwn type through custom_lut agrees with the dwn_lut op") {
  auto type = find_node_type("dwn");
  for (int k : {1, 4, 6}) {
    CAPTURE(k);
    const int64_t B = 9, N = 7, K = int64_t{1} << k;
    Generator gen(30 + k);
    REQUIRE(type->num_params(k) == K);
    Tensor table = Tensor::empty({N, K}, DType::f64);
    type->init(table, k, gen);
    const std::vector<double> tv = table.to_vector<double>();
    CHECK(*std::min_element(tv.begin(), tv.end()) >= -1.0);
    CHECK(*std::max_element(tv.begin(), tv.end()) <= 1.0);
    Tensor x = uniform({B, N * k}, gen, 0, 1);
    Tensor seed = uniform({B, N}, gen, -1, 1);

    Graph g1, g2;
    Var x1 = g1.input(x, "x", true), t1 = g1.input(table, "t", true);
    Var x2 = g2.input(x, "x", true), t2 = g2.input(table, "t", true);
    Var y1 = dwn_lut(x1, t1, k);
    Var y2 = custom_lut(x2, t2, type, k, true);
    test::check_equal(y1.value(), y2.value());
    g1.backward(y1, seed);
    g2.backward(y2, seed);
    test::check_close(g1.grad(t1), g2.grad(t2), 1e-12, 1e-12);
    test::check_close(g1.grad(x1), g2.grad(x2), 1e-12, 1e-12);
    // Its truth table is T > 0, and the eval forward reads it.
    std::vector<uint8_t> tt = type->truth_table(table, k).to_vector<uint8_t>();
    for (size_t i = 0; i < tt.size(); ++i) CHECK(tt[i] == (tv[i] > 0 ? 1 : 0));
  }
}
