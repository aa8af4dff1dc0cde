// softmax, log_softmax and cross_entropy on the CPU: values against a naive definition along every
// axis, numerical stability for huge logits, cross_entropy's value and gradient against hand
// formulas, and errors for bad axes, labels and shapes.
#include <cmath>
#include <vector>

#include "autograd/ops.h"
#include "tensor/random.h"
#include "test_util.h"

using namespace difflut;

namespace {

// softmax of x (shape `shape`) along `axis`, by the definition (no max subtraction; inputs small).
std::vector<double> naive_softmax(const std::vector<double>& x, const Shape& shape, int axis,
                                  bool log_space) {
  int64_t outer = 1, L = shape[static_cast<size_t>(axis)], inner = 1;
  for (int d = 0; d < axis; ++d) outer *= shape[static_cast<size_t>(d)];
  for (size_t d = static_cast<size_t>(axis) + 1; d < shape.size(); ++d) inner *= shape[d];
  std::vector<double> y(x.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      double s = 0;
      for (int64_t l = 0; l < L; ++l) s += std::exp(x[static_cast<size_t>((o * L + l) * inner + i)]);
      for (int64_t l = 0; l < L; ++l) {
        const size_t k = static_cast<size_t>((o * L + l) * inner + i);
        y[k] = log_space ? x[k] - std::log(s) : std::exp(x[k]) / s;
      }
    }
  return y;
}

}  // namespace

TEST_CASE("softmax and log_softmax match the definition along every axis") {
  Generator gen(21);
  const Shape shape{3, 5, 4};
  for (DType dt : {DType::f32, DType::f64}) {
    Tensor x = Tensor::randn(shape, gen, dt);
    std::vector<double> xv = x.to(DType::f64).to_vector<double>();
    for (int axis : {0, 1, 2, -1, -3}) {
      CAPTURE(axis);
      const int a = axis < 0 ? axis + 3 : axis;
      Graph g;
      Var vx = g.input(x);
      const double tol = dt == DType::f32 ? 1e-6 : 1e-14;
      test::check_close(softmax(vx, axis).value(),
                        Tensor::from_vector(naive_softmax(xv, shape, a, false), shape), tol, tol);
      test::check_close(log_softmax(vx, axis).value(),
                        Tensor::from_vector(naive_softmax(xv, shape, a, true), shape), tol, tol);
    }
  }
}

TEST_CASE("softmax over long rows and many rows sums to one per row") {
  Generator gen(22);
  Tensor x = Tensor::randn({300, 1000}, gen);
  Graph g;
  std::vector<float> y = softmax(g.input(x)).value().to_vector<float>();
  for (int r = 0; r < 300; ++r) {
    double s = 0;
    for (int c = 0; c < 1000; ++c) s += y[static_cast<size_t>(r * 1000 + c)];
    CHECK(s == doctest::Approx(1.0).epsilon(1e-5));
  }
}

TEST_CASE("softmax, log_softmax and cross_entropy are stable for huge logits") {
  Tensor x = Tensor::from_vector<float>({1000.f, 999.f, -1000.f, 1e4f, 1e4f, 1e4f}, {2, 3});
  Graph g;
  Var vx = g.input(x);
  std::vector<float> p = softmax(vx).value().to_vector<float>();
  const double e = std::exp(-1.0);
  CHECK(p[0] == doctest::Approx(1 / (1 + e)));
  CHECK(p[1] == doctest::Approx(e / (1 + e)));
  CHECK(p[2] == 0.0f);
  CHECK(p[3] == doctest::Approx(1.0 / 3));
  std::vector<float> lp = log_softmax(vx).value().to_vector<float>();
  CHECK(lp[0] == doctest::Approx(-std::log1p(e)).epsilon(1e-3));  // f32: 1000 + 0.31 keeps ~4 digits
  CHECK(lp[2] == doctest::Approx(-2000 - std::log1p(e)));
  CHECK(lp[5] == doctest::Approx(-std::log(3.0)));
  const float ce =
      cross_entropy(vx, g.input(Tensor::from_vector<int64_t>({2, 0}, {2}))).value().item<float>();
  CHECK(std::isfinite(ce));
  CHECK(ce == doctest::Approx((2000 + std::log1p(e) + std::log(3.0)) / 2));
}

TEST_CASE("cross_entropy equals the mean negative log-likelihood and its gradient (p - onehot)/B") {
  Generator gen(23);
  const int64_t B = 6, C = 4;
  Tensor x = Tensor::randn({B, C}, gen, DType::f64);
  std::vector<double> xv = x.to_vector<double>();
  const std::vector<int64_t> labels{0, 3, 1, 1, 2, 3};
  std::vector<double> p = naive_softmax(xv, {B, C}, 1, false);
  double expect = 0;
  for (int64_t b = 0; b < B; ++b) expect -= std::log(p[static_cast<size_t>(b * C + labels[static_cast<size_t>(b)])]);
  expect /= B;
  std::vector<double> dexp(p);
  for (int64_t b = 0; b < B; ++b) dexp[static_cast<size_t>(b * C + labels[static_cast<size_t>(b)])] -= 1;
  for (double& v : dexp) v *= 2.5 / B;  // seed 2.5

  for (DType ldt : {DType::i64, DType::i32}) {
    Tensor lab = Tensor::from_vector(labels, {B}).to(ldt);
    Graph g;
    Var vx = g.input(x, "x", true);
    Var loss = cross_entropy(vx, g.input(lab));
    CHECK(loss.shape() == Shape{1});
    CHECK(loss.value().item<double>() == doctest::Approx(expect).epsilon(1e-13));
    g.backward(loss, Tensor::full({1}, 2.5, DType::f64));
    test::check_close(g.grad(vx), Tensor::from_vector(dexp, {B, C}), 1e-14, 1e-12);
  }
}

TEST_CASE("cross_entropy rejects labels outside [0, C), naming the batch element and label") {
  Graph g;
  Var x = g.input(Tensor::zeros({3, 5}));
  Var bad_hi = g.input(Tensor::from_vector<int64_t>({0, 5, 1}, {3}));
  Var bad_lo = g.input(Tensor::from_vector<int32_t>({0, 1, -1}, {3}));
  CHECK_THROWS_WITH_AS(cross_entropy(x, bad_hi),
                       doctest::Contains("cross_entropy: label of batch element 1 is 5"), Error);
  CHECK_THROWS_WITH_AS(cross_entropy(x, bad_hi), doctest::Contains("[0, 5)"), Error);
  CHECK_THROWS_WITH_AS(cross_entropy(x, bad_lo),
                       doctest::Contains("cross_entropy: label of batch element 2 is -1"), Error);
}

TEST_CASE("softmax family rejects bad axes, dtypes and shapes, naming the op") {
  Graph g;
  Var x = g.input(Tensor::zeros({2, 3}));
  CHECK_THROWS_WITH_AS(softmax(x, 2), doctest::Contains("softmax: axis 2 is out of range"), Error);
  CHECK_THROWS_WITH_AS(log_softmax(x, -3), doctest::Contains("log_softmax: axis -3"), Error);
  CHECK_THROWS_WITH_AS(softmax(g.input(Tensor::zeros({2}, DType::i64))),
                       doctest::Contains("softmax"), Error);
  Var lab3 = g.input(Tensor::zeros({3}, DType::i64));
  CHECK_THROWS_WITH_AS(cross_entropy(x, lab3), doctest::Contains("cross_entropy: expected labels [2]"),
                       Error);
  CHECK_THROWS_WITH_AS(cross_entropy(x, g.input(Tensor::zeros({2}))),
                       doctest::Contains("cross_entropy"), Error);
  CHECK_THROWS_WITH_AS(cross_entropy(g.input(Tensor::zeros({6})), lab3),
                       doctest::Contains("cross_entropy"), Error);
}
