// Elementwise ops on the CPU beyond the op test's table (tests/ops/): the operator overloads build
// the matching ops, broadcast gradients do not depend on the thread count, and errors name the op.
#include <cmath>
#include <vector>

#include "autograd/ops.h"
#include "tensor/parallel.h"
#include "tensor/random.h"
#include "test_util.h"

using namespace difflut;

using test::check_vals;
using test::f64;

TEST_CASE("operator overloads build the matching ops") {
  Graph g;
  Var a = g.input(f64({1, 2, 3, 4}, {2, 2}));
  Var b = g.input(f64({4, 3, 2, 1}, {2, 2}));
  check_vals((a + b * a - b / a).value(),
             {1 + 4 - 4, 2 + 6 - 1.5, 3 + 6 - 2.0 / 3.0, 4 + 4 - 0.25});
  Var x = g.input(f64({-2, -0.5, 0, 0.5, 3}, {5}));
  check_vals((x - 1.0).value(), {-3, -1.5, -1, -0.5, 2});
  check_vals((x + 1.0).value(), {-1, 0.5, 1, 1.5, 4});
  check_vals((x / 2.0).value(), {-1, -0.25, 0, 0.25, 1.5});
  check_vals((x * 2.0).value(), {-4, -1, 0, 1, 6});
  check_vals((2.0 * x).value(), {-4, -1, 0, 1, 6});
  check_vals((-x).value(), {2, 0.5, 0, -0.5, -3});
  CHECK(op_def(g.node((x - 1.0).id).op).name == std::string("add_scalar"));
  CHECK(op_def(g.node((x / 2.0).id).op).name == std::string("mul_scalar"));
  CHECK(op_def(g.node((-x).id).op).name == std::string("neg"));
}

TEST_CASE("broadcast gradients do not depend on the thread count") {
  Generator gen(3);
  Tensor ta = Tensor::randn({257, 301}, gen, DType::f32);
  Tensor tb = Tensor::randn({301}, gen, DType::f32);
  Tensor tc = Tensor::randn({257, 1}, gen, DType::f32);
  auto run = [&] {
    Graph g;
    Var a = g.input(ta, "a", true), b = g.input(tb, "b", true), c = g.input(tc, "c", true);
    g.backward(mul(mul(a, b), c), Tensor::ones({257, 301}));
    return std::vector<Tensor>{g.grad(a).clone(), g.grad(b).clone(), g.grad(c).clone()};
  };
  const int saved = num_threads();
  set_num_threads(1);
  std::vector<Tensor> one = run();
  set_num_threads(3);
  std::vector<Tensor> three = run();
  set_num_threads(saved);
  for (size_t i = 0; i < one.size(); ++i) test::check_equal(one[i], three[i]);
}

TEST_CASE("binary ops reject incompatible shapes, naming the op and both shapes") {
  Graph g;
  Var a = g.input(Tensor::zeros({2, 3}, DType::f32));
  Var b = g.input(Tensor::zeros({4}, DType::f32));
  Var c = g.input(Tensor::zeros({3, 2}, DType::f32));
  const size_t before = g.size();
  CHECK_THROWS_WITH_AS(add(a, b), doctest::Contains("add: shapes [2, 3] and [4]"), Error);
  CHECK_THROWS_WITH_AS(sub(a, c), doctest::Contains("sub: shapes [2, 3] and [3, 2]"), Error);
  CHECK_THROWS_WITH_AS(mul(b, a), doctest::Contains("mul: shapes [4] and [2, 3]"), Error);
  CHECK_THROWS_WITH_AS(div(a, b), doctest::Contains("[4]"), Error);
  CHECK(g.size() == before);
}

TEST_CASE("binary ops reject mixed or non-floating dtypes, naming the op and both operands") {
  Graph g;
  Var a = g.input(Tensor::zeros({2, 3}, DType::f32));
  Var b = g.input(Tensor::zeros({2, 3}, DType::f64));
  Var i = g.input(Tensor::zeros({2, 3}, DType::i64));
  CHECK_THROWS_WITH_AS(
      add(a, b), doctest::Contains("add: expected two operands of the same floating dtype"), Error);
  CHECK_THROWS_WITH_AS(mul(a, b), doctest::Contains("f32[2, 3] and f64[2, 3]"), Error);
  CHECK_THROWS_WITH_AS(div(i, i), doctest::Contains("div"), Error);
  CHECK_THROWS_WITH_AS(sub(i, i), doctest::Contains("i64[2, 3]"), Error);
  CHECK_THROWS_WITH_AS(exp(i), doctest::Contains("exp: expected a floating input"), Error);
  CHECK_THROWS_WITH_AS(threshold_ste(i), doctest::Contains("threshold_ste"), Error);
}

TEST_CASE("binary ops reject operands from another graph and bad attributes") {
  Graph g1, g2;
  Var a = g1.input(Tensor::zeros({2}, DType::f32));
  Var b = g2.input(Tensor::zeros({2}, DType::f32));
  CHECK_THROWS_WITH_AS(add(a, b), doctest::Contains("add"), Error);
  CHECK_THROWS_AS(clamp(a, 1, 0), Error);
  CHECK_THROWS_WITH_AS(g1.apply(OpKind::pow_scalar, {a}, Attrs{}),
                       doctest::Contains("pow_scalar: expected 1 float attribute"), Error);
}
