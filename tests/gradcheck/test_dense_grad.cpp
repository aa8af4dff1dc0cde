// Finite-difference gradchecks (float64, CPU) of the dense, softmax and shape ops. The gradcheck
// helper forms L = Σ out ⊙ w itself, so each case builds just the op under test.
#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "tensor/random.h"
#include "test_util.h"

using namespace difflut;

namespace {
Tensor randn64(const Shape& s, uint64_t seed) {
  Generator gen(seed);
  return Tensor::randn(s, gen, DType::f64);
}
void expect_ok(const GradcheckResult& r) {
  INFO(r.report);
  CHECK(r.ok);
}
}  // namespace

TEST_CASE("gradcheck: matmul, both operands, odd shapes") {
  expect_ok(gradcheck([](Graph&, const std::vector<Var>& v) { return matmul(v[0], v[1]); },
                      {randn64({5, 7}, 1), randn64({7, 3}, 2)}));
}

TEST_CASE("gradcheck: softmax and log_softmax along every axis") {
  for (int axis : {0, 1, 2}) {
    CAPTURE(axis);
    expect_ok(gradcheck([axis](Graph&, const std::vector<Var>& v) { return softmax(v[0], axis); },
                        {randn64({3, 4, 5}, 3)}));
    expect_ok(gradcheck(
        [axis](Graph&, const std::vector<Var>& v) { return log_softmax(v[0], axis); },
        {randn64({3, 4, 5}, 4)}));
  }
}

TEST_CASE("gradcheck: cross_entropy with respect to the logits, i32 and i64 labels") {
  for (DType ldt : {DType::i64, DType::i32}) {
    Tensor labels = Tensor::from_vector<int64_t>({2, 0, 4, 4, 1, 3}, {6}).to(ldt);
    expect_ok(gradcheck(
        [](Graph&, const std::vector<Var>& v) { return cross_entropy(v[0], v[1]); },
        {randn64({6, 5}, 5), labels}));
  }
}

TEST_CASE("gradcheck: reshape and transpose") {
  expect_ok(gradcheck([](Graph&, const std::vector<Var>& v) { return reshape(v[0], {4, -1}); },
                      {randn64({2, 3, 4}, 6)}));
  expect_ok(gradcheck([](Graph&, const std::vector<Var>& v) { return transpose(v[0]); },
                      {randn64({5, 3}, 7)}));
}

TEST_CASE("gradcheck: concat of three inputs along each axis, and slice along each axis") {
  for (int axis : {0, 1, -1}) {
    CAPTURE(axis);
    Shape sa{2, 3, 4}, sb{2, 3, 4}, sc{2, 3, 4};
    const size_t d = static_cast<size_t>(axis < 0 ? 2 : axis);
    sb[d] = 1;
    sc[d] = 2;
    expect_ok(gradcheck(
        [axis](Graph&, const std::vector<Var>& v) { return concat({v[0], v[1], v[2]}, axis); },
        {randn64(sa, 8), randn64(sb, 9), randn64(sc, 10)}));
  }
  for (int axis : {0, 1, 2}) {
    CAPTURE(axis);
    expect_ok(gradcheck([axis](Graph&, const std::vector<Var>& v) { return slice(v[0], axis, 1, 2); },
                        {randn64({3, 4, 5}, 11)}));
  }
}

TEST_CASE("gradcheck: gather with repeated and unused indices, with and without a CSR inverse") {
  Tensor index = Tensor::from_vector<int32_t>({4, 1, 4, 4, 0, 1, 6}, {7});  // 2, 3, 5 unused
  GatherInverse inv = make_gather_inverse(index, 7, Device::cpu);
  expect_ok(gradcheck([&](Graph&, const std::vector<Var>& v) { return gather(v[0], index); },
                      {randn64({3, 7}, 12)}));
  expect_ok(gradcheck(
      [&](Graph&, const std::vector<Var>& v) {
        return gather(v[0], index, inv.offsets, inv.positions);
      },
      {randn64({3, 7}, 13)}));
}

TEST_CASE("gradcheck: a composite of the dense ops (diamond through a reused value)") {
  // softmax(x·W) concatenated with its own transpose-slice: x and W each reach the output twice.
  expect_ok(gradcheck(
      [](Graph&, const std::vector<Var>& v) {
        Var h = matmul(v[0], v[1]);                     // [4, 4]
        Var p = softmax(h, 1);
        return concat({p, transpose(slice(h, 0, 0, 4))}, 0);
      },
      {randn64({4, 3}, 14), randn64({3, 4}, 15)}));
}
