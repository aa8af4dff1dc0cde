// Reductions on the CPU: sum, mean, max and argmax along one axis against hand-computed values and a
// naive reference (including long axes that take the blocked path), max's gradient routing, argmax
// ties, thread-count independence and axis errors.
#include <cmath>
#include <vector>

#include "autograd/ops.h"
#include "tensor/parallel.h"
#include "tensor/random.h"
#include "test_util.h"

using namespace difflut;

namespace {
using test::check_vals;
using test::f64;
using test::vals;

// Naive sum over `axis` in long double, as [O, R, I].
std::vector<double> naive_sum(const Tensor& x, int axis) {
  const Shape& s = x.shape();
  int64_t O = 1, I = 1;
  for (int d = 0; d < axis; ++d) O *= s[static_cast<size_t>(d)];
  for (size_t d = static_cast<size_t>(axis) + 1; d < s.size(); ++d) I *= s[d];
  const int64_t R = s[static_cast<size_t>(axis)];
  const std::vector<double> v = vals(x);
  std::vector<double> out(static_cast<size_t>(O * I));
  for (int64_t o = 0; o < O; ++o)
    for (int64_t i = 0; i < I; ++i) {
      long double acc = 0;
      for (int64_t r = 0; r < R; ++r) acc += v[static_cast<size_t>((o * R + r) * I + i)];
      out[static_cast<size_t>(o * I + i)] = static_cast<double>(acc);
    }
  return out;
}
}  // namespace

TEST_CASE("sum, mean and max along each axis of a 2-D tensor give hand-computed values") {
  Graph g;
  Var x = g.input(f64({1, 5, 3, 4, 2, 6}, {2, 3}));
  check_vals(sum(x, 0).value(), {5, 7, 9});
  check_vals(sum(x, 1).value(), {9, 12});
  check_vals(sum(x, -1).value(), {9, 12});
  check_vals(mean(x, 0).value(), {2.5, 3.5, 4.5});
  check_vals(mean(x, -1).value(), {3, 4});
  check_vals(max(x, 0).value(), {4, 5, 6});
  check_vals(max(x, 1).value(), {5, 6});
  CHECK(argmax(x, 0).value().to_vector<int64_t>() == std::vector<int64_t>{1, 0, 1});
  CHECK(argmax(x, -1).value().to_vector<int64_t>() == std::vector<int64_t>{1, 2});
}

TEST_CASE("keepdim keeps the reduced axis as extent 1; without it the axis is dropped") {
  Graph g;
  Var x = g.input(Tensor::ones({2, 3, 4}, DType::f32));
  CHECK(sum(x, 1).shape() == Shape{2, 4});
  CHECK(sum(x, 1, true).shape() == Shape{2, 1, 4});
  CHECK(mean(x, -1, true).shape() == Shape{2, 3, 1});
  CHECK(max(x, 0).shape() == Shape{3, 4});
  CHECK(argmax(x, 2, true).shape() == Shape{2, 3, 1});
  CHECK(argmax(x, 2).dtype() == DType::i64);
  Var v = g.input(Tensor::ones({5}, DType::f32));
  CHECK(sum(v, 0, true).shape() == Shape{1});
  CHECK(sum(v, 0).value().numel() == 1);
}

TEST_CASE("reductions over the middle axis of a 3-D tensor give hand-computed values") {
  Graph g;
  // x[o, r, i] with shape [2, 3, 2]
  Var x = g.input(f64({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0}, {2, 3, 2}));
  check_vals(sum(x, 1).value(), {9, 12, 27, 18});
  check_vals(mean(x, 1).value(), {3, 4, 9, 6});
  check_vals(max(x, 1).value(), {5, 6, 11, 10});
  CHECK(argmax(x, 1).value().to_vector<int64_t>() == std::vector<int64_t>{2, 2, 2, 1});
}

TEST_CASE("sum and mean gradients spread grad_out over the reduced axis") {
  Graph g;
  Var x = g.input(Tensor::zeros({2, 3}, DType::f64), "x", true);
  g.backward(sum(x, 1), f64({1, 2}, {2}));
  check_vals(g.grad(x), {1, 1, 1, 2, 2, 2});
  g.backward(mean(x, 0, true), f64({3, 6, 9}, {1, 3}));
  check_vals(g.grad(x), {1.5, 3, 4.5, 1.5, 3, 4.5});
}

TEST_CASE("max sends the gradient to the first maximal element only") {
  Graph g;
  Var x = g.input(f64({1, 7, 7, 2, 3, 3, 3, 0}, {2, 4}), "x", true);
  Var m = max(x, 1);
  check_vals(m.value(), {7, 3});
  g.backward(m, f64({10, 20}, {2}));
  check_vals(g.grad(x), {0, 10, 0, 0, 20, 0, 0, 0});
  Graph g2;
  Var y = g2.input(f64({5, 1, 5, 9, 5, 9}, {3, 2}), "y", true);
  g2.backward(max(y, 0), f64({1, 2}, {2}));
  check_vals(g2.grad(y), {1, 0, 0, 2, 0, 0});
}

TEST_CASE("argmax returns the first index among ties") {
  Graph g;
  Var x = g.input(f64({2, 2, 2, 0, 4, 4, -1, -1, -1}, {3, 3}));
  CHECK(argmax(x, 1).value().to_vector<int64_t>() == std::vector<int64_t>{0, 1, 0});
  CHECK(argmax(x, 0).value().to_vector<int64_t>() == std::vector<int64_t>{0, 1, 1});
  Var big = g.input(Tensor::full({3000}, 1.5, DType::f32));
  CHECK(argmax(big, 0).value().item<int64_t>() == 0);
}

TEST_CASE("long and wide reductions match a naive reference (blocked paths)") {
  Generator gen(5);
  for (const Shape& s : {Shape{3, 40001}, Shape{40001, 5}, Shape{2, 20000, 3}, Shape{70, 130},
                         Shape{1, 100000}, Shape{100000, 1}}) {
    CAPTURE(shape_str(s));
    Tensor t = Tensor::randn(s, gen, DType::f64);
    Graph g;
    Var x = g.input(t);
    for (int axis = 0; axis < static_cast<int>(s.size()); ++axis) {
      CAPTURE(axis);
      check_vals(sum(x, axis).value(), naive_sum(t, axis), 1e-9);
      std::vector<double> m = naive_sum(t, axis);
      for (double& v : m) v /= static_cast<double>(s[static_cast<size_t>(axis)]);
      check_vals(mean(x, axis).value(), m, 1e-9);
    }
  }
}

TEST_CASE("reductions do not depend on the thread count") {
  Generator gen(8);
  Tensor t = Tensor::randn({40001, 7}, gen, DType::f32);
  Tensor u = Tensor::randn({5, 70001}, gen, DType::f32);
  auto run = [&] {
    Graph g;
    Var x = g.input(t), y = g.input(u);
    return std::vector<Tensor>{sum(x, 0).value(), sum(x, 1).value(), mean(y, 1).value(),
                               sum(y, 0).value(), max(y, 1).value()};
  };
  const int saved = num_threads();
  set_num_threads(1);
  std::vector<Tensor> one = run();
  set_num_threads(4);
  std::vector<Tensor> four = run();
  set_num_threads(saved);
  for (size_t i = 0; i < one.size(); ++i) test::check_equal(one[i], four[i]);
}

TEST_CASE("reductions reject an out-of-range axis, naming the op, the axis and the shape") {
  Graph g;
  Var x = g.input(Tensor::zeros({2, 3}, DType::f32));
  const size_t before = g.size();
  CHECK_THROWS_WITH_AS(sum(x, 2), doctest::Contains("sum: axis 2 is out of range for shape [2, 3]"), Error);
  CHECK_THROWS_WITH_AS(mean(x, -3), doctest::Contains("mean: axis -3 is out of range for shape [2, 3]"), Error);
  CHECK_THROWS_WITH_AS(max(x, 5), doctest::Contains("max: axis 5"), Error);
  CHECK_THROWS_WITH_AS(argmax(x, -4, true), doctest::Contains("argmax: axis -4 is out of range for shape [2, 3]"), Error);
  Var i = g.input(Tensor::zeros({2}, DType::i64));
  CHECK_THROWS_WITH_AS(sum(i, 0), doctest::Contains("sum: expected a floating input"), Error);
  Var e = g.input(Tensor::zeros({2, 0}, DType::f32));
  CHECK_THROWS_WITH_AS(max(e, 1), doctest::Contains("max: cannot take the maximum over the empty axis"), Error);
  CHECK(sum(e, 1).value().to_vector<float>() == std::vector<float>{0, 0});
  CHECK(g.size() == before + 3);  // two inputs and the one successful sum
}

TEST_CASE("argmax has no gradient and does not require one") {
  Graph g;
  Var x = g.input(f64({1, 3, 2}, {3}), "x", true);
  Var a = argmax(x, 0);
  CHECK(op_def(OpKind::argmax).differentiable_inputs.empty());
  CHECK_FALSE(g.node(a.id).requires_grad);
  CHECK_THROWS_AS(g.backward(a, Tensor::ones({}, DType::i64)), Error);
}
