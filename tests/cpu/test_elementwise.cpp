// Elementwise ops on the CPU: forward values against hand-computed cases and a naive broadcasting
// reference, broadcast gradients summed to each operand's shape, threshold_ste, and error messages.
#include <cmath>
#include <functional>
#include <vector>

#include "autograd/ops.h"
#include "tensor/parallel.h"
#include "tensor/random.h"
#include "test_util.h"

using namespace difflut;

namespace {

using test::check_vals;
using test::f64;
using test::vals;

// Naive numpy broadcasting: the element of `s` (right-aligned to `out`) used at out index `flat`.
int64_t naive_index(const Shape& out, const Shape& s, int64_t flat) {
  int64_t idx = 0, mul = 1;
  for (size_t k = 0; k < out.size(); ++k) {
    const size_t d = out.size() - 1 - k;
    const int64_t c = flat % out[d];
    flat /= out[d];
    if (k < s.size()) {
      const int64_t e = s[s.size() - 1 - k];
      if (e != 1) idx += c * mul;
      mul *= e;
    }
  }
  return idx;
}

Shape naive_broadcast(const Shape& a, const Shape& b) {
  const size_t r = std::max(a.size(), b.size());
  Shape out(r, 1);
  for (size_t k = 0; k < r; ++k) {
    const int64_t ea = k < a.size() ? a[a.size() - 1 - k] : 1;
    const int64_t eb = k < b.size() ? b[b.size() - 1 - k] : 1;
    out[r - 1 - k] = std::max(ea, eb);
  }
  return out;
}

using BinaryOp = Var (*)(Var, Var);
struct BinaryCase {
  const char* name;
  BinaryOp op;
  std::function<double(double, double)> f;
  std::function<double(double, double)> da;  // d f / d a
  std::function<double(double, double)> db;
};

std::vector<BinaryCase> binary_cases() {
  return {
      {"add", [](Var a, Var b) { return add(a, b); }, [](double a, double b) { return a + b; },
       [](double, double) { return 1.0; }, [](double, double) { return 1.0; }},
      {"sub", [](Var a, Var b) { return sub(a, b); }, [](double a, double b) { return a - b; },
       [](double, double) { return 1.0; }, [](double, double) { return -1.0; }},
      {"mul", [](Var a, Var b) { return mul(a, b); }, [](double a, double b) { return a * b; },
       [](double, double b) { return b; }, [](double a, double) { return a; }},
      {"div", [](Var a, Var b) { return div(a, b); }, [](double a, double b) { return a / b; },
       [](double, double b) { return 1.0 / b; }, [](double a, double b) { return -a / (b * b); }},
  };
}

// Forward and both gradients of every binary op against the naive reference, for shapes a and b.
void check_against_naive(const Shape& sa, const Shape& sb, uint64_t seed) {
  Generator gen(seed);
  Tensor ta = Tensor::rand(sa, gen, DType::f64);
  Tensor tb = Tensor::rand(sb, gen, DType::f64);
  // Keep b away from zero for div.
  for (int64_t i = 0; i < tb.numel(); ++i) tb.data<double>()[i] += 0.5;
  const Shape so = naive_broadcast(sa, sb);
  Tensor seed_t = Tensor::rand(so, gen, DType::f64);
  const std::vector<double> av = vals(ta), bv = vals(tb), gv = vals(seed_t);
  for (const BinaryCase& bc : binary_cases()) {
    CAPTURE(bc.name);
    CAPTURE(shape_str(sa));
    CAPTURE(shape_str(sb));
    Graph g;
    Var a = g.input(ta, "a", true), b = g.input(tb, "b", true);
    Var y = bc.op(a, b);
    REQUIRE(y.shape() == so);
    std::vector<double> ey(static_cast<size_t>(shape_numel(so)));
    std::vector<double> ega(av.size(), 0.0), egb(bv.size(), 0.0);
    for (int64_t i = 0; i < shape_numel(so); ++i) {
      const int64_t ia = naive_index(so, sa, i), ib = naive_index(so, sb, i);
      const double x = av[static_cast<size_t>(ia)], z = bv[static_cast<size_t>(ib)];
      ey[static_cast<size_t>(i)] = bc.f(x, z);
      ega[static_cast<size_t>(ia)] += gv[static_cast<size_t>(i)] * bc.da(x, z);
      egb[static_cast<size_t>(ib)] += gv[static_cast<size_t>(i)] * bc.db(x, z);
    }
    check_vals(y.value(), ey, 1e-12);
    g.backward(y, seed_t);
    check_vals(g.grad(a), ega, 1e-10);
    check_vals(g.grad(b), egb, 1e-10);
  }
}

}  // namespace

TEST_CASE("binary ops on equal shapes give hand-computed values") {
  Graph g;
  Var a = g.input(f64({1, 2, 3, 4}, {2, 2}));
  Var b = g.input(f64({4, 3, 2, 1}, {2, 2}));
  check_vals(add(a, b).value(), {5, 5, 5, 5});
  check_vals(sub(a, b).value(), {-3, -1, 1, 3});
  check_vals(mul(a, b).value(), {4, 6, 6, 4});
  check_vals(div(a, b).value(), {0.25, 2.0 / 3.0, 1.5, 4});
  check_vals((a + b * a - b / a).value(), {1 + 4 - 4, 2 + 6 - 1.5, 3 + 6 - 2.0 / 3.0, 4 + 4 - 0.25});
}

TEST_CASE("binary ops broadcast rows, columns, scalars and leading dims by hand") {
  Graph g;
  Var m = g.input(f64({1, 2, 3, 4, 5, 6}, {2, 3}));
  Var row = g.input(f64({10, 20, 30}, {3}));
  Var row1 = g.input(f64({10, 20, 30}, {1, 3}));
  Var col = g.input(f64({100, 200}, {2, 1}));
  Var one = g.input(f64({2}, {1}));
  check_vals(add(m, row).value(), {11, 22, 33, 14, 25, 36});
  check_vals(add(row, m).value(), {11, 22, 33, 14, 25, 36});
  check_vals(sub(m, row1).value(), {-9, -18, -27, -6, -15, -24});
  check_vals(mul(m, col).value(), {100, 200, 300, 800, 1000, 1200});
  check_vals(div(m, one).value(), {0.5, 1, 1.5, 2, 2.5, 3});
  check_vals(sub(one, m).value(), {1, 0, -1, -2, -3, -4});
  // Outer product of a column and a row: [2, 1] * [3] -> [2, 3].
  Var outer = mul(col, row);
  CHECK(outer.shape() == Shape{2, 3});
  check_vals(outer.value(), {1000, 2000, 3000, 2000, 4000, 6000});
  // [2, 1, 3] + [2, 1] -> [2, 2, 3]
  Var t = g.input(f64({1, 2, 3, 4, 5, 6}, {2, 1, 3}));
  Var u = g.input(f64({10, 20}, {2, 1}));
  Var s = add(t, u);
  CHECK(s.shape() == Shape{2, 2, 3});
  check_vals(s.value(), {11, 12, 13, 21, 22, 23, 14, 15, 16, 24, 25, 26});
}

TEST_CASE("broadcast gradients are summed to each operand's shape (hand-computed)") {
  Graph g;
  Var m = g.input(f64({1, 2, 3, 4, 5, 6}, {2, 3}), "m", true);
  Var row = g.input(f64({1, 2, 4}, {3}), "row", true);
  Var col = g.input(f64({2, 3}, {2, 1}), "col", true);
  // y = m * row + col; dy/dm = row, dy/drow = Σ_rows m, dy/dcol = Σ_cols 1.
  Var y = add(mul(m, row), col);
  g.backward(y, Tensor::ones({2, 3}, DType::f64));
  check_vals(g.grad(m), {1, 2, 4, 1, 2, 4});
  check_vals(g.grad(row), {5, 7, 9});
  check_vals(g.grad(col), {3, 3});
}

TEST_CASE("binary ops and both gradients match a naive broadcasting reference") {
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{7}, {7}},
      {{5, 7}, {7}},
      {{5, 7}, {1, 7}},
      {{5, 7}, {5, 1}},
      {{5, 1}, {1, 7}},
      {{5, 7}, {1}},
      {{1}, {5, 7}},
      {{}, {3, 2}},
      {{2, 3, 4}, {3, 1}},
      {{2, 1, 4}, {3, 1}},
      {{3, 1, 5, 1}, {2, 3, 4, 5, 6}},        // several separate reduced groups
      {{2, 1, 3, 1, 2, 1}, {1, 2, 1, 3, 1, 2}},  // rank 6, alternating
      {{300, 130}, {130}},                    // spans several parallel chunks
      {{300, 130}, {300, 1}},
  };
  uint64_t seed = 1;
  for (const auto& [sa, sb] : cases) check_against_naive(sa, sb, seed++);
}

TEST_CASE("broadcast gradients do not depend on the thread count") {
  Generator gen(3);
  Tensor ta = Tensor::randn({257, 301}, gen, DType::f32);
  Tensor tb = Tensor::randn({301}, gen, DType::f32);
  Tensor tc = Tensor::randn({257, 1}, gen, DType::f32);
  auto run = [&] {
    Graph g;
    Var a = g.input(ta, "a", true), b = g.input(tb, "b", true), c = g.input(tc, "c", true);
    g.backward(mul(mul(a, b), c), Tensor::ones({257, 301}));
    return std::vector<Tensor>{g.grad(a).clone(), g.grad(b).clone(), g.grad(c).clone()};
  };
  const int saved = num_threads();
  set_num_threads(1);
  std::vector<Tensor> one = run();
  set_num_threads(3);
  std::vector<Tensor> three = run();
  set_num_threads(saved);
  for (size_t i = 0; i < one.size(); ++i) test::check_equal(one[i], three[i]);
}

TEST_CASE("scalar and unary ops give hand-computed values") {
  Graph g;
  Var x = g.input(f64({-2, -0.5, 0, 0.5, 3}, {5}));
  Var p = g.input(f64({0.25, 1, 4}, {3}));
  check_vals(add_scalar(x, 1.5).value(), {-0.5, 1, 1.5, 2, 4.5});
  check_vals(mul_scalar(x, -2).value(), {4, 1, 0, -1, -6});
  check_vals((x - 1.0).value(), {-3, -1.5, -1, -0.5, 2});
  check_vals((x / 2.0).value(), {-1, -0.25, 0, 0.25, 1.5});
  check_vals(pow_scalar(x, 2).value(), {4, 0.25, 0, 0.25, 9});
  check_vals(pow_scalar(x, 3).value(), {-8, -0.125, 0, 0.125, 27});
  check_vals(pow_scalar(p, 0.5).value(), {0.5, 1, 2});
  check_vals(pow_scalar(p, -1).value(), {4, 1, 0.25});
  check_vals(neg(x).value(), {2, 0.5, 0, -0.5, -3});
  check_vals((-x).value(), {2, 0.5, 0, -0.5, -3});
  check_vals(exp(x).value(), {std::exp(-2.0), std::exp(-0.5), 1, std::exp(0.5), std::exp(3.0)});
  check_vals(log(p).value(), {std::log(0.25), 0, std::log(4.0)});
  check_vals(sigmoid(x).value(), {1 / (1 + std::exp(2.0)), 1 / (1 + std::exp(0.5)), 0.5,
                                  1 / (1 + std::exp(-0.5)), 1 / (1 + std::exp(-3.0))});
  check_vals(tanh(x).value(), {std::tanh(-2.0), std::tanh(-0.5), 0, std::tanh(0.5), std::tanh(3.0)});
  check_vals(relu(x).value(), {0, 0, 0, 0.5, 3});
  check_vals(clamp(x, -1, 0.5).value(), {-1, -0.5, 0, 0.5, 0.5});
}

TEST_CASE("unary gradients match their hand-derived formulas") {
  const std::vector<double> xs = {-1.5, -0.3, 0.4, 2.0};
  Tensor seed = f64({1, 2, 3, 4}, {4});
  struct U {
    const char* name;
    std::function<Var(Var)> op;
    std::function<double(double)> d;
  };
  const std::vector<U> us = {
      {"add_scalar", [](Var v) { return add_scalar(v, 3); }, [](double) { return 1.0; }},
      {"mul_scalar", [](Var v) { return mul_scalar(v, -2.5); }, [](double) { return -2.5; }},
      {"pow_scalar 3", [](Var v) { return pow_scalar(v, 3); }, [](double x) { return 3 * x * x; }},
      {"pow_scalar 2", [](Var v) { return pow_scalar(v, 2); }, [](double x) { return 2 * x; }},
      {"neg", [](Var v) { return neg(v); }, [](double) { return -1.0; }},
      {"exp", [](Var v) { return exp(v); }, [](double x) { return std::exp(x); }},
      {"sigmoid", [](Var v) { return sigmoid(v); },
       [](double x) { const double s = 1 / (1 + std::exp(-x)); return s * (1 - s); }},
      {"tanh", [](Var v) { return tanh(v); },
       [](double x) { return 1 - std::tanh(x) * std::tanh(x); }},
      {"relu", [](Var v) { return relu(v); }, [](double x) { return x > 0 ? 1.0 : 0.0; }},
      {"clamp", [](Var v) { return clamp(v, -1, 1); },
       [](double x) { return (x >= -1 && x <= 1) ? 1.0 : 0.0; }},
  };
  for (const U& u : us) {
    CAPTURE(u.name);
    Graph g;
    Var x = g.input(f64(xs, {4}), "x", true);
    g.backward(u.op(x), seed);
    std::vector<double> expected;
    for (size_t i = 0; i < xs.size(); ++i) expected.push_back((i + 1.0) * u.d(xs[i]));
    check_vals(g.grad(x), expected, 1e-12);
  }
  Graph g;
  Var x = g.input(f64({0.5, 2, 4, 8}, {4}), "x", true);
  g.backward(log(x), seed);
  check_vals(g.grad(x), {2, 1, 0.75, 0.5});
}

TEST_CASE("clamp passes the gradient on the closed interval [lo, hi] only") {
  Graph g;
  Var x = g.input(f64({-2, -1, 0, 1, 2}, {5}), "x", true);
  g.backward(clamp(x, -1, 1), Tensor::ones({5}, DType::f64));
  check_vals(g.grad(x), {0, 1, 1, 1, 0});
}

TEST_CASE("threshold_ste outputs 1[x >= t] in the input dtype and passes gradients straight through") {
  for (DType dt : {DType::f32, DType::f64}) {
    Graph g;
    Var x = g.input(f64({0.1, 0.5, 0.49, 0.9, -3}, {5}).to(dt), "x", true);
    Var y = threshold_ste(x);
    CHECK(y.dtype() == dt);
    check_vals(y.value(), {0, 1, 0, 1, 0});
    check_vals(threshold_ste(x, 0.0).value(), {1, 1, 1, 1, 0});
    Tensor seed = f64({1.5, -2, 3, 0.25, 7}, {5}).to(dt);
    g.backward(y, seed);
    test::check_equal(g.grad(x), seed);
  }
}

TEST_CASE("f32 binary ops agree with f64 on broadcast shapes") {
  Generator gen(9);
  Tensor a = Tensor::randn({33, 17}, gen, DType::f64);
  Tensor b = Tensor::randn({17}, gen, DType::f64);
  Graph g;
  Var a64 = g.input(a), b64 = g.input(b), a32 = g.input(a.to(DType::f32)), b32 = g.input(b.to(DType::f32));
  test::check_close(mul(a32, b32).value(), mul(a64, b64).value().to(DType::f32), 1e-6, 1e-6);
  test::check_close(sub(a32, b32).value(), sub(a64, b64).value().to(DType::f32), 1e-6, 1e-6);
}

TEST_CASE("binary ops reject incompatible shapes, naming the op and both shapes") {
  Graph g;
  Var a = g.input(Tensor::zeros({2, 3}, DType::f32));
  Var b = g.input(Tensor::zeros({4}, DType::f32));
  Var c = g.input(Tensor::zeros({3, 2}, DType::f32));
  const size_t before = g.size();
  CHECK_THROWS_WITH_AS(add(a, b), doctest::Contains("add: shapes [2, 3] and [4]"), Error);
  CHECK_THROWS_WITH_AS(sub(a, c), doctest::Contains("sub: shapes [2, 3] and [3, 2]"), Error);
  CHECK_THROWS_WITH_AS(mul(b, a), doctest::Contains("mul: shapes [4] and [2, 3]"), Error);
  CHECK_THROWS_WITH_AS(div(a, b), doctest::Contains("[4]"), Error);
  CHECK(g.size() == before);
}

TEST_CASE("binary ops reject mixed or non-floating dtypes, naming the op and both operands") {
  Graph g;
  Var a = g.input(Tensor::zeros({2, 3}, DType::f32));
  Var b = g.input(Tensor::zeros({2, 3}, DType::f64));
  Var i = g.input(Tensor::zeros({2, 3}, DType::i64));
  CHECK_THROWS_WITH_AS(add(a, b), doctest::Contains("add: expected two operands of the same floating dtype"), Error);
  CHECK_THROWS_WITH_AS(mul(a, b), doctest::Contains("f32[2, 3] and f64[2, 3]"), Error);
  CHECK_THROWS_WITH_AS(div(i, i), doctest::Contains("div"), Error);
  CHECK_THROWS_WITH_AS(sub(i, i), doctest::Contains("i64[2, 3]"), Error);
  CHECK_THROWS_WITH_AS(exp(i), doctest::Contains("exp: expected a floating input"), Error);
  CHECK_THROWS_WITH_AS(threshold_ste(i), doctest::Contains("threshold_ste"), Error);
}

TEST_CASE("binary ops reject operands from another graph and bad attributes") {
  Graph g1, g2;
  Var a = g1.input(Tensor::zeros({2}, DType::f32));
  Var b = g2.input(Tensor::zeros({2}, DType::f32));
  CHECK_THROWS_WITH_AS(add(a, b), doctest::Contains("add"), Error);
  CHECK_THROWS_AS(clamp(a, 1, 0), Error);
  CHECK_THROWS_WITH_AS(g1.apply(OpKind::pow_scalar, {a}, Attrs{}),
                       doctest::Contains("pow_scalar: expected 1 float attribute"), Error);
}

TEST_CASE("every elementwise and reduce row has inference and kernels for every compiled device") {
  const OpKind kinds[] = {OpKind::add, OpKind::sub, OpKind::mul, OpKind::div,
                          OpKind::add_scalar, OpKind::mul_scalar, OpKind::pow_scalar,
                          OpKind::neg, OpKind::exp, OpKind::log, OpKind::sigmoid,
                          OpKind::tanh, OpKind::relu, OpKind::clamp, OpKind::threshold_ste,
                          OpKind::sum, OpKind::mean, OpKind::max, OpKind::argmax};
  for (OpKind k : kinds) {
    CAPTURE(op_name(k));
    const OpDef& d = op_def(k);
    CHECK(std::string(d.name) == op_name(k));
    CHECK(bool(d.infer));
    const bool diff = k != OpKind::argmax;
    CHECK(d.differentiable_inputs.empty() == !diff);
    CHECK(bool(d.forward[static_cast<int>(Device::cpu)]));
    CHECK(bool(d.backward[static_cast<int>(Device::cpu)]) == diff);
    if (cuda_compiled()) {
      CHECK(bool(d.forward[static_cast<int>(Device::cuda)]));
      CHECK(bool(d.backward[static_cast<int>(Device::cuda)]) == diff);
    }
  }
}
