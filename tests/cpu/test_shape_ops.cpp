// Shape and indexing ops on the CPU beyond the op test's table (tests/ops/): reshape is a view
// (also on replay), and errors for bad shapes, ranges, axes and indices name the op.
#include <vector>

#include "autograd/ops.h"
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
  CHECK_THROWS_WITH_AS(
      gather(x, Tensor::from_vector<int64_t>({0}, {1}), inv.offsets, inv.positions),
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
