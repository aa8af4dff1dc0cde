// group_sum: contiguous groups, zero padding to a multiple of C, division by tau, its gradient and
// its errors.
#include <vector>

#include "autograd/graph.h"
#include "lut/node_ops.h"
#include "test_util.h"

using namespace difflut;

TEST_CASE("group_sum sums contiguous groups and divides by tau") {
  Graph g;
  Tensor x = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6, -1, 0, 1, 0, 2, 2}, {2, 6});
  Var y = group_sum(g.input(x), 3, 0.5);
  CHECK(y.shape() == Shape{2, 3});
  CHECK(y.value().to_vector<float>() == std::vector<float>{6, 14, 22, -2, 2, 8});
}

TEST_CASE("group_sum pads M with zeros to a multiple of C") {
  // M = 7, C = 3: g = 3, groups [0,3) [3,6) [6,7)+2 zeros.
  Graph g;
  Tensor x = Tensor::from_vector<double>({1, 1, 1, 2, 2, 2, 5}, {1, 7});
  CHECK(group_sum(g.input(x), 3, 1.0).value().to_vector<double>() == std::vector<double>{3, 6, 5});
  // M = 5, C = 4: g = 2, groups [0,2) [2,4) [4,5) and an all-padding group.
  Tensor x2 = Tensor::from_vector<double>({1, 2, 3, 4, 5}, {1, 5});
  CHECK(group_sum(g.input(x2), 4, 2.0).value().to_vector<double>() ==
        std::vector<double>{1.5, 3.5, 2.5, 0});
}

TEST_CASE("group_sum backward gives every member of group c the gradient g[c] / tau") {
  Graph g;
  Var x = g.input(Tensor::zeros({2, 5}, DType::f64), "x", true);
  Var y = group_sum(x, 2, 4.0);  // g = 3: groups [0,3) [3,5)
  g.backward(y, Tensor::from_vector<double>({4, 8, -2, 1}, {2, 2}));
  CHECK(g.grad(x).to_vector<double>() ==
        std::vector<double>{1, 1, 1, 2, 2, -0.5, -0.5, -0.5, 0.25, 0.25});
}

TEST_CASE("group_sum rejects bad C, tau and shapes") {
  Graph g;
  Var x = g.input(Tensor::zeros({2, 6}));
  CHECK_THROWS_WITH_AS(group_sum(x, 0, 1.0),
                       doctest::Contains("group_sum: expected a number of groups C >= 1, found 0"),
                       Error);
  CHECK_THROWS_WITH_AS(group_sum(x, 2, 0.0), doctest::Contains("group_sum: expected tau > 0"),
                       Error);
  CHECK_THROWS_WITH_AS(group_sum(g.input(Tensor::zeros({6})), 2, 1.0),
                       doctest::Contains("group_sum: expected x [B, M]"), Error);
}
