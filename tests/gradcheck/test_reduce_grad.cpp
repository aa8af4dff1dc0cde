// Finite-difference gradchecks (f64, CPU) for sum, mean and max along every axis, with and without
// keepdim. Inputs for max have well-separated values so the maximum is not at a tie.
#include <vector>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "tensor/random.h"
#include "test_util.h"

using namespace difflut;

namespace {
Tensor randn(const Shape& s, uint64_t seed) {
  Generator gen(seed);
  return Tensor::randn(s, gen, DType::f64);
}

// A random permutation of 0..n-1, scaled: distinct values at least 0.1 apart.
Tensor distinct(const Shape& s, uint64_t seed) {
  Generator gen(seed);
  const std::vector<int64_t> perm = gen.permutation(shape_numel(s));
  std::vector<double> v(perm.size());
  for (size_t i = 0; i < v.size(); ++i) v[i] = 0.1 * static_cast<double>(perm[i]) - 1.0;
  return Tensor::from_vector(v, s);
}
}  // namespace

TEST_CASE("gradcheck: sum, mean and max along every axis, keepdim on and off") {
  const std::vector<Shape> shapes = {{7}, {3, 5}, {2, 3, 4}};
  uint64_t seed = 1;
  for (const Shape& s : shapes) {
    const int rank = static_cast<int>(s.size());
    for (int axis = -rank; axis < rank; ++axis) {
      for (bool keep : {false, true}) {
        CAPTURE(shape_str(s));
        CAPTURE(axis);
        CAPTURE(keep);
        auto check = [&](Var (*op)(Var, int, bool), const Tensor& x) {
          GradcheckResult r = gradcheck(
              [&](Graph&, const std::vector<Var>& v) { return op(v[0], axis, keep); }, {x});
          CHECK_MESSAGE(r.ok, r.report);
        };
        check([](Var v, int a, bool k) { return sum(v, a, k); }, randn(s, seed++));
        check([](Var v, int a, bool k) { return mean(v, a, k); }, randn(s, seed++));
        check([](Var v, int a, bool k) { return max(v, a, k); }, distinct(s, seed++));
      }
    }
  }
}

TEST_CASE("gradcheck: reductions composed with elementwise ops") {
  Tensor x = randn({4, 6}, 50);
  GradcheckResult r = gradcheck([](Graph&, const std::vector<Var>& v) {
    // A numerically stable log-sum-exp along the last axis, then a mean.
    Var m = max(v[0], -1, true);
    Var lse = add(log(sum(exp(sub(v[0], m)), -1, true)), m);
    return mean(sub(v[0], lse), 0);
  }, {x});
  CHECK_MESSAGE(r.ok, r.report);
}
