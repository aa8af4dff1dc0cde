// The graph engine's contracts, exercised through elementwise and reduction ops: gradients
// accumulate into parameters, reused values (diamonds) get the sum of their paths, NoGradGuard
// records nothing, replay recomputes after set_input, and a failing apply leaves the tape unchanged.
#include <cmath>
#include <vector>

#include "autograd/ops.h"
#include "autograd/parameter.h"
#include "test_util.h"

using namespace difflut;

namespace {
using test::f64;
using test::vals;
}  // namespace

TEST_CASE("backward twice without zeroing gives exactly twice the parameter gradients") {
  Parameter w;
  w.name = "w";
  w.value = f64({0.5, -1.25, 2.0}, {3});
  Parameter b;
  b.name = "b";
  b.value = f64({0.1}, {1});
  Graph g;
  Var x = g.input(f64({1, 2, 3, 4, 5, 6}, {2, 3}), "x");
  Var pw = g.param(w), pb = g.param(b);
  // loss = mean_all(tanh(x * w + b)^2 * 3)
  Var h = tanh(add(mul(x, pw), pb));
  Var loss = mean(sum(mul_scalar(pow_scalar(h, 2), 3), 1), 0);
  REQUIRE(loss.value().numel() == 1);
  g.backward(loss);
  const std::vector<double> gw1 = vals(w.grad), gb1 = vals(b.grad);
  CHECK(gw1 != std::vector<double>(3, 0.0));
  g.backward(loss);
  const std::vector<double> gw2 = vals(w.grad), gb2 = vals(b.grad);
  for (size_t i = 0; i < gw1.size(); ++i) CHECK(gw2[i] == 2 * gw1[i]);  // exact: x + x == 2x
  CHECK(gb2[0] == 2 * gb1[0]);
}

TEST_CASE("a value used twice (y = x*x + x) gets the sum of both paths' gradients") {
  Graph g;
  Var x = g.input(f64({-1.5, 0, 2, 3}, {4}), "x", true);
  Var y = add(mul(x, x), x);
  g.backward(y, Tensor::ones({4}, DType::f64));
  const std::vector<double> gx = vals(g.grad(x));
  const std::vector<double> xs = {-1.5, 0, 2, 3};
  for (size_t i = 0; i < xs.size(); ++i) CHECK(gx[i] == doctest::Approx(2 * xs[i] + 1));
  // A row used three times, twice through a broadcast against a matrix.
  Graph g2;
  Var a = g2.input(f64({0.3, -0.7}, {2}), "a", true);
  Var s = g2.input(f64({1, 2, 3, 4}, {2, 2}), "s", true);
  Var z = sum(add(mul(s, a), mul(a, a)), 0);  // z_j = Σ_i s_ij a_j + 2 a_j^2
  g2.backward(z, Tensor::ones({2}, DType::f64));
  const std::vector<double> ga = vals(g2.grad(a));
  CHECK(ga[0] == doctest::Approx((1 + 3) + 2 * 2 * 0.3));
  CHECK(ga[1] == doctest::Approx((2 + 4) + 2 * 2 * -0.7));
  const std::vector<double> gs = vals(g2.grad(s));
  CHECK(gs == std::vector<double>{0.3, -0.7, 0.3, -0.7});
}

TEST_CASE("retain_grad keeps an intermediate node's gradient after backward") {
  Graph g;
  Var x = g.input(f64({-1.5, 0.5, 2}, {3}), "x", true);
  Var y = mul(x, x);  // y = x^2
  Var z = mul(y, y);  // z = y^2: dz/dy = 2y
  Var w = add(y, x);  // not retained
  g.retain_grad(y);
  g.backward(add(z, w), Tensor::ones({3}, DType::f64));
  const std::vector<double> gy = vals(g.grad(y));
  const std::vector<double> xs = {-1.5, 0.5, 2};
  for (size_t i = 0; i < xs.size(); ++i) CHECK(gy[i] == doctest::Approx(2 * xs[i] * xs[i] + 1));
  CHECK_THROWS_WITH_AS(g.grad(w), doctest::Contains("no gradient for node"), Error);
  Graph other;
  CHECK_THROWS_WITH_AS(other.retain_grad(y), doctest::Contains("is not in this graph"), Error);
}

TEST_CASE("NoGradGuard records nothing for backward") {
  Parameter w;
  w.name = "w";
  w.value = f64({1, 2}, {2});
  Graph g;
  Var x = g.input(f64({3, 4}, {2}), "x", true);
  Var y, m;
  {
    NoGradGuard guard;
    Var pw = g.param(w);
    y = mul(x, pw);
    m = max(y, 0);
    CHECK_FALSE(g.node(pw.id).requires_grad);
    CHECK_FALSE(g.node(y.id).requires_grad);
    CHECK(g.node(m.id).saved.empty());  // max keeps no argmax without gradients
  }
  CHECK(vals(y.value()) == std::vector<double>{3, 8});
  CHECK_THROWS_WITH_AS(g.backward(m), doctest::Contains("does not depend on any parameter"), Error);
  CHECK_FALSE(w.grad.defined());
  // Outside the guard recording works again.
  Var z = mul(x, x);
  CHECK(g.node(z.id).requires_grad);
}

TEST_CASE("replay recomputes every value after set_input") {
  Graph g;
  Var x = g.input(f64({1, 2, 3, 4}, {2, 2}), "x");
  Var b = g.input(f64({10, 20}, {2}), "b");
  Var y = sum(exp(add(x, b)), 1);
  Var m = argmax(mul_scalar(x, -1), 0);
  CHECK(vals(y.value())[0] == doctest::Approx(std::exp(11.0) + std::exp(22.0)));
  g.set_input(x, f64({0, 0, 1, -1}, {2, 2}));
  g.set_input(b, f64({0, 1}, {2}));
  g.replay();
  const std::vector<double> v = vals(y.value());
  CHECK(v[0] == doctest::Approx(std::exp(0.0) + std::exp(1.0)));
  CHECK(v[1] == doctest::Approx(std::exp(1.0) + std::exp(0.0)));
  CHECK(m.value().to_vector<int64_t>() == std::vector<int64_t>{0, 1});
  CHECK_THROWS_AS(g.set_input(x, f64({1, 2, 3}, {3})), Error);
}

TEST_CASE("a failing apply leaves the graph unchanged") {
  Graph g;
  Var a = g.input(f64({1, 2, 3, 4, 5, 6}, {2, 3}), "a", true);
  Var b = g.input(f64({1, 2}, {2}), "b", true);
  Var c = mul(a, a);
  const size_t before = g.size();
  CHECK_THROWS_AS(add(c, b), Error);
  CHECK_THROWS_AS(sum(c, 7), Error);
  CHECK_THROWS_AS(g.apply(OpKind::mul_scalar, {c}, Attrs{}), Error);
  CHECK(g.size() == before);
  // The graph still works: backward through what was recorded.
  g.backward(sum(sum(c, 1), 0));
  CHECK(vals(g.grad(a)) == std::vector<double>{2, 4, 6, 8, 10, 12});
}
