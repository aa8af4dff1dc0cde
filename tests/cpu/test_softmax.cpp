// softmax, log_softmax and cross_entropy on the CPU beyond the op test's table (tests/ops/):
// errors for bad labels, axes, dtypes and shapes, naming the op.
#include <vector>

#include "autograd/ops.h"
#include "test_util.h"

using namespace difflut;

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
  CHECK_THROWS_WITH_AS(cross_entropy(x, lab3),
                       doctest::Contains("cross_entropy: expected labels [2]"), Error);
  CHECK_THROWS_WITH_AS(cross_entropy(x, g.input(Tensor::zeros({2}))),
                       doctest::Contains("cross_entropy"), Error);
  CHECK_THROWS_WITH_AS(cross_entropy(g.input(Tensor::zeros({6})), lab3),
                       doctest::Contains("cross_entropy"), Error);
}
