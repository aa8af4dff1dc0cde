// Shape and indexing ops on the CPU: values against naive index arithmetic, reshape as a view,
// gather with and without a precomputed CSR inverse, and errors for bad shapes, ranges and indices.
#include <vector>

#include "autograd/ops.h"
#include "tensor/random.h"
#include "test_util.h"

using namespace difflut;

TEST_CASE("reshape infers -1, shares storage with its input, and passes the gradient through") {
  Tensor x = Tensor::arange(24, DType::f64).reshape({2, 3, 4});
  Graph g;
  Var vx = g.input(x, "x", true);
  Var r = reshape(vx, {4, -1});
  CHECK(r.shape() == Shape{4, 6});
  CHECK(r.value().storage() == x.storage());
  CHECK(r.value().to_vector<double>() == x.to_vector<double>());
  Tensor w = Tensor::arange(24, DType::f64).reshape({4, 6});
  g.backward(r, w);
  CHECK(g.grad(vx).shape() == Shape{2, 3, 4});
  CHECK(g.grad(vx).to_vector<double>() == w.to_vector<double>());
  // sum_all's building block: flatten to one axis.
  CHECK(reshape(vx, {-1}).shape() == Shape{24});
}

TEST_CASE("transpose equals index swapping across tile boundaries, for float and integer data") {
  Generator gen(31);
  const int64_t M = 67, N = 45;
  Tensor x = Tensor::randn({M, N}, gen);
  Graph g;
  std::vector<float> xv = x.to_vector<float>();
  std::vector<float> yv = transpose(g.input(x)).value().to_vector<float>();
  REQUIRE(yv.size() == xv.size());
  int bad = 0;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) bad += yv[static_cast<size_t>(j * M + i)] != xv[static_cast<size_t>(i * N + j)];
  CHECK(bad == 0);
  Tensor xi = Tensor::arange(6).reshape({2, 3});
  CHECK(transpose(g.input(xi)).value().to_vector<int64_t>() == std::vector<int64_t>{0, 3, 1, 4, 2, 5});
}

TEST_CASE("concat joins along any axis in input order") {
  Graph g;
  Var a = g.input(Tensor::arange(12, DType::f32).reshape({2, 3, 2}));
  Var b = g.input(Tensor::full({2, 1, 2}, -1.0));
  Var c0 = concat({a, b}, 1);
  CHECK(c0.shape() == Shape{2, 4, 2});
  CHECK(c0.value().to_vector<float>() ==
        std::vector<float>{0, 1, 2, 3, 4, 5, -1, -1, 6, 7, 8, 9, 10, 11, -1, -1});
  Var c_last = concat({a, a}, -1);
  CHECK(c_last.shape() == Shape{2, 3, 4});
  CHECK(c_last.value().to_vector<float>()[0] == 0);
  CHECK(c_last.value().to_vector<float>()[2] == 0);
  CHECK(c_last.value().to_vector<float>()[5] == 3);
  Var c_first = concat({a, a, a}, 0);
  CHECK(c_first.shape() == Shape{6, 3, 2});
  CHECK(c_first.value().to_vector<float>()[12] == 0);
}

TEST_CASE("slice takes [start, end) along any axis") {
  Graph g;
  Var x = g.input(Tensor::arange(24, DType::f64).reshape({2, 3, 4}));
  Var s1 = slice(x, 1, 1, 3);
  CHECK(s1.shape() == Shape{2, 2, 4});
  CHECK(s1.value().to_vector<double>() ==
        std::vector<double>{4, 5, 6, 7, 8, 9, 10, 11, 16, 17, 18, 19, 20, 21, 22, 23});
  Var s2 = slice(x, -1, 3, 4);
  CHECK(s2.value().to_vector<double>() == std::vector<double>{3, 7, 11, 15, 19, 23});
  CHECK(slice(x, 0, 1, 1).shape() == Shape{0, 3, 4});
}

TEST_CASE("gather picks columns (repeats allowed); a supplied CSR inverse gives the same gradient") {
  Generator gen(32);
  const int64_t B = 5, F = 7;
  Tensor x = Tensor::randn({B, F}, gen, DType::f64);
  Tensor index = Tensor::from_vector<int64_t>({3, 0, 3, 6, 3, 1}, {6});
  const int64_t M = index.numel();
  Tensor w = Tensor::randn({B, M}, gen, DType::f64);
  std::vector<double> xv = x.to_vector<double>(), wv = w.to_vector<double>();
  std::vector<int64_t> iv = index.to_vector<int64_t>();

  std::vector<double> expect_y(static_cast<size_t>(B * M)), expect_dx(static_cast<size_t>(B * F), 0.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t m = 0; m < M; ++m) {
      expect_y[static_cast<size_t>(b * M + m)] = xv[static_cast<size_t>(b * F + iv[static_cast<size_t>(m)])];
      expect_dx[static_cast<size_t>(b * F + iv[static_cast<size_t>(m)])] += wv[static_cast<size_t>(b * M + m)];
    }

  GatherInverse inv = make_gather_inverse(index, F, Device::cpu);
  for (int variant = 0; variant < 3; ++variant) {
    CAPTURE(variant);
    Graph g;
    Var vx = g.input(x, "x", true);
    Var y = variant == 0 ? gather(vx, index)
            : variant == 1 ? gather(vx, index, inv.offsets, inv.positions)
                           : gather(vx, index.to(DType::i32));
    CHECK(y.shape() == Shape{B, M});
    CHECK(y.value().to_vector<double>() == expect_y);
    g.backward(y, w);
    test::check_close(g.grad(vx), Tensor::from_vector(expect_dx, {B, F}), 1e-15, 1e-15);
  }
}

TEST_CASE("shape ops reject bad shapes, ranges, axes and indices, naming the op") {
  Graph g;
  Var x = g.input(Tensor::zeros({2, 3}));
  CHECK_THROWS_WITH_AS(reshape(x, {4, 2}), doctest::Contains("reshape: cannot reshape"), Error);
  CHECK_THROWS_WITH_AS(reshape(x, {-1, -1}), doctest::Contains("reshape"), Error);
  CHECK_THROWS_WITH_AS(transpose(g.input(Tensor::zeros({2, 3, 4}))),
                       doctest::Contains("transpose: expected a 2-D input"), Error);
  CHECK_THROWS_WITH_AS(concat({x, g.input(Tensor::zeros({3, 3}))}, 1),
                       doctest::Contains("concat: input 1"), Error);
  CHECK_THROWS_WITH_AS(concat({x, g.input(Tensor::zeros({2, 3}, DType::f64))}, 0),
                       doctest::Contains("concat"), Error);
  CHECK_THROWS_WITH_AS(concat({x, x}, 2), doctest::Contains("concat: axis 2"), Error);
  CHECK_THROWS_WITH_AS(slice(x, 1, 2, 4), doctest::Contains("slice: range [2, 4) on axis 1"),
                       Error);
  CHECK_THROWS_WITH_AS(slice(x, 1, 2, 4), doctest::Contains("[2, 3]"), Error);
  CHECK_THROWS_WITH_AS(slice(x, 0, 2, 1), doctest::Contains("slice"), Error);
  CHECK_THROWS_WITH_AS(slice(x, -3, 0, 1), doctest::Contains("slice: axis -3"), Error);
  CHECK_THROWS_WITH_AS(gather(x, Tensor::from_vector<int64_t>({0, 3}, {2})),
                       doctest::Contains("gather: index[1] = 3 is outside [0, 3)"), Error);
  CHECK_THROWS_WITH_AS(gather(x, Tensor::from_vector<int32_t>({-1}, {1})),
                       doctest::Contains("gather"), Error);
  CHECK_THROWS_WITH_AS(gather(x, Tensor::from_vector<float>({0.f}, {1})),
                       doctest::Contains("gather: expected a 1-D i32 or i64 index"), Error);
  GatherInverse inv = make_gather_inverse(Tensor::from_vector<int64_t>({0}, {1}), 2, Device::cpu);
  CHECK_THROWS_WITH_AS(gather(x, Tensor::from_vector<int64_t>({0}, {1}), inv.offsets, inv.positions),
                       doctest::Contains("gather: expected csr_offsets i32[4]"), Error);
}

TEST_CASE("reshape's view follows new input values on replay") {
  Graph g;
  Var x = g.input(Tensor::zeros({2, 3}));
  Var r = reshape(x, {3, 2});
  Var s = slice(r, 0, 1, 2);
  g.set_input(x, Tensor::arange(6, DType::f32).reshape({2, 3}));
  g.replay();
  CHECK(r.value().to_vector<float>() == std::vector<float>{0, 1, 2, 3, 4, 5});
  CHECK(s.value().to_vector<float>() == std::vector<float>{2, 3});
}
