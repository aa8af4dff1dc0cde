// Finite-difference gradchecks (f64, CPU) for every smooth elementwise op, including broadcasting
// operands whose gradients are reduced to their shapes. Inputs stay away from kinks and poles.
#include <functional>
#include <vector>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "tensor/random.h"
#include "test_util.h"

using namespace difflut;

namespace {
// Uniform in [lo, hi), f64 on the CPU.
Tensor uniform(const Shape& s, double lo, double hi, uint64_t seed) {
  Generator gen(seed);
  Tensor t = Tensor::rand(s, gen, DType::f64);
  double* p = t.data<double>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = lo + (hi - lo) * p[i];
  return t;
}

// Values in ±[lo, hi): magnitudes away from 0 (for relu / clamp kinks and division).
Tensor away_from_zero(const Shape& s, double lo, double hi, uint64_t seed) {
  Tensor t = uniform(s, lo, hi, seed);
  Generator gen(seed + 1000);
  Tensor sign = Tensor::rand(s, gen, DType::f64);
  for (int64_t i = 0; i < t.numel(); ++i)
    if (sign.data<double>()[i] < 0.5) t.data<double>()[i] *= -1;
  return t;
}

void expect_ok(const GradcheckResult& r) {
  CHECK_MESSAGE(r.ok, r.report);
}
}  // namespace

TEST_CASE("gradcheck: add, sub, mul, div with broadcasting operands") {
  using Op = Var (*)(Var, Var);
  const std::vector<std::pair<const char*, Op>> ops = {
      {"add", [](Var a, Var b) { return add(a, b); }},
      {"sub", [](Var a, Var b) { return sub(a, b); }},
      {"mul", [](Var a, Var b) { return mul(a, b); }},
      {"div", [](Var a, Var b) { return div(a, b); }},
  };
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{3, 4}, {3, 4}}, {{3, 4}, {4}}, {{3, 4}, {1, 4}}, {{3, 4}, {3, 1}}, {{3, 4}, {1}},
      {{1}, {3, 4}},    {{3, 1}, {1, 4}}, {{2, 3, 4}, {3, 1}}, {{2, 1, 3, 1}, {2, 1, 2}},
  };
  uint64_t seed = 10;
  for (const auto& [name, op] : ops) {
    for (const auto& [sa, sb] : shapes) {
      CAPTURE(name);
      CAPTURE(shape_str(sa));
      CAPTURE(shape_str(sb));
      Tensor a = away_from_zero(sa, 0.5, 2.0, seed++);
      Tensor b = away_from_zero(sb, 0.5, 2.0, seed++);
      expect_ok(gradcheck([op](Graph&, const std::vector<Var>& v) { return op(v[0], v[1]); }, {a, b}));
    }
  }
}

TEST_CASE("gradcheck: the same operand on both sides of a broadcasting op") {
  Tensor a = uniform({3, 4}, 0.5, 2.0, 1);
  Tensor r = uniform({4}, 0.5, 2.0, 2);
  expect_ok(gradcheck([](Graph&, const std::vector<Var>& v) {
    return div(mul(v[0], v[1]), add(v[1], mul(v[1], v[1])));
  }, {a, r}));
}

TEST_CASE("gradcheck: scalar-attribute and unary ops") {
  struct U {
    const char* name;
    std::function<Var(Var)> op;
    Tensor x;
  };
  const Shape s{3, 5};
  const std::vector<U> us = {
      {"add_scalar", [](Var v) { return add_scalar(v, 0.75); }, uniform(s, -2, 2, 1)},
      {"mul_scalar", [](Var v) { return mul_scalar(v, -1.5); }, uniform(s, -2, 2, 2)},
      {"pow_scalar 2", [](Var v) { return pow_scalar(v, 2); }, uniform(s, -2, 2, 3)},
      {"pow_scalar 3", [](Var v) { return pow_scalar(v, 3); }, uniform(s, -2, 2, 4)},
      {"pow_scalar 0.5", [](Var v) { return pow_scalar(v, 0.5); }, uniform(s, 0.3, 2, 5)},
      {"pow_scalar -1.5", [](Var v) { return pow_scalar(v, -1.5); }, uniform(s, 0.5, 2, 6)},
      {"neg", [](Var v) { return neg(v); }, uniform(s, -2, 2, 7)},
      {"exp", [](Var v) { return exp(v); }, uniform(s, -2, 2, 8)},
      {"log", [](Var v) { return log(v); }, uniform(s, 0.2, 3, 9)},
      {"sigmoid", [](Var v) { return sigmoid(v); }, uniform(s, -4, 4, 10)},
      {"tanh", [](Var v) { return tanh(v); }, uniform(s, -2, 2, 11)},
      {"relu", [](Var v) { return relu(v); }, away_from_zero(s, 0.1, 2, 12)},
      {"clamp", [](Var v) { return clamp(v, -0.5, 0.5); }, away_from_zero(s, 0.1, 0.4, 13)},
      {"clamp outside", [](Var v) { return clamp(v, -0.5, 0.5); }, away_from_zero(s, 0.6, 2, 14)},
  };
  for (const U& u : us) {
    CAPTURE(u.name);
    expect_ok(gradcheck([&u](Graph&, const std::vector<Var>& v) { return u.op(v[0]); }, {u.x}));
  }
}

TEST_CASE("gradcheck: a composite of unary and broadcasting ops") {
  Tensor x = uniform({4, 3}, -1, 1, 21);
  Tensor w = uniform({3}, -1, 1, 22);
  Tensor b = uniform({4, 1}, -1, 1, 23);
  expect_ok(gradcheck([](Graph&, const std::vector<Var>& v) {
    Var h = tanh(add(mul(v[0], v[1]), v[2]));
    return sub(mul_scalar(sigmoid(h), 2.0), exp(pow_scalar(h, 2)));
  }, {x, w, b}));
}
