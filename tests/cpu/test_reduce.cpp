// Reductions on the CPU beyond the op test's table (tests/ops/): results do not depend on the
// thread count, axis and dtype errors name the op, and argmax cannot be differentiated.
#include <vector>

#include "autograd/ops.h"
#include "tensor/parallel.h"
#include "tensor/random.h"
#include "test_util.h"

using namespace difflut;

using test::f64;

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
  CHECK_THROWS_WITH_AS(sum(x, 2), doctest::Contains("sum: axis 2 is out of range for shape [2, 3]"),
                       Error);
  CHECK_THROWS_WITH_AS(mean(x, -3),
                       doctest::Contains("mean: axis -3 is out of range for shape [2, 3]"), Error);
  CHECK_THROWS_WITH_AS(max(x, 5), doctest::Contains("max: axis 5"), Error);
  CHECK_THROWS_WITH_AS(argmax(x, -4, true),
                       doctest::Contains("argmax: axis -4 is out of range for shape [2, 3]"),
                       Error);
  Var i = g.input(Tensor::zeros({2}, DType::i64));
  CHECK_THROWS_WITH_AS(sum(i, 0), doctest::Contains("sum: expected a floating input"), Error);
  Var e = g.input(Tensor::zeros({2, 0}, DType::f32));
  CHECK_THROWS_WITH_AS(
      max(e, 1), doctest::Contains("max: cannot take the maximum over the empty axis"), Error);
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
