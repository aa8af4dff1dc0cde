// Finite-difference gradchecks (f64, CPU) of small graphs that compose several ops, where one value
// reaches the output along more than one path (diamonds) and broadcast gradients meet. Single ops
// are checked by the op test (tests/ops/); these check that the engine accumulates their gradients.
#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "tensor/random.h"
#include "test_util.h"

using namespace difflut;

namespace {
Tensor uniform64(const Shape& s, double lo, double hi, uint64_t seed) {
  Generator gen(seed);
  return test::uniform(s, gen, lo, hi, DType::f64);
}
void expect_ok(const GradcheckResult& r) { CHECK_MESSAGE(r.ok, r.report); }
}  // namespace

TEST_CASE("gradcheck: the same operand on both sides of a broadcasting op") {
  expect_ok(gradcheck(
      [](Graph&, const std::vector<Var>& v) {
        return div(mul(v[0], v[1]), add(v[1], mul(v[1], v[1])));
      },
      {uniform64({3, 4}, 0.5, 2.0, 1), uniform64({4}, 0.5, 2.0, 2)}));
}

TEST_CASE("gradcheck: a composite of unary and broadcasting ops") {
  expect_ok(gradcheck(
      [](Graph&, const std::vector<Var>& v) {
        Var h = tanh(add(mul(v[0], v[1]), v[2]));
        return sub(mul_scalar(sigmoid(h), 2.0), exp(pow_scalar(h, 2)));
      },
      {uniform64({4, 3}, -1, 1, 21), uniform64({3}, -1, 1, 22), uniform64({4, 1}, -1, 1, 23)}));
}

TEST_CASE("gradcheck: reductions composed with elementwise ops (log-sum-exp)") {
  Generator gen(50);
  expect_ok(gradcheck(
      [](Graph&, const std::vector<Var>& v) {
        Var m = max(v[0], -1, true);
        Var lse = add(log(sum(exp(sub(v[0], m)), -1, true)), m);
        return mean(sub(v[0], lse), 0);
      },
      {Tensor::randn({4, 6}, gen, DType::f64)}));
}

TEST_CASE("gradcheck: a composite of the dense ops (diamond through a reused value)") {
  // softmax(x·W) concatenated with its own transpose-slice: x and W each reach the output twice.
  Generator gen(14);
  Tensor x = Tensor::randn({4, 3}, gen, DType::f64), w = Tensor::randn({3, 4}, gen, DType::f64);
  expect_ok(gradcheck(
      [](Graph&, const std::vector<Var>& v) {
        Var h = matmul(v[0], v[1]);
        return concat({softmax(h, 1), transpose(slice(h, 0, 0, 4))}, 0);
      },
      {x, w}));
}
