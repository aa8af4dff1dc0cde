// Elementwise ops on the GPU: forward values and every gradient match the CPU on the same random
// inputs, in f32 and f64, for broadcast shapes and sizes that are not multiples of the block size;
// repeated runs are bit-identical; operands on different devices are rejected.
#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include "autograd/ops.h"
#include "tensor/random.h"
#include "test_util.h"

using namespace difflut;

namespace {
using Fn = std::function<Var(const std::vector<Var>&)>;

struct Run {
  Tensor out;
  std::vector<Tensor> grads;
};

// Builds fn on `dev` from host inputs, runs backward with a seed drawn from `seed`, and returns the
// output and every input gradient on the host.
Run run_on(Device dev, const Fn& fn, const std::vector<Tensor>& inputs, uint64_t seed) {
  Graph g;
  std::vector<Var> vars;
  for (const Tensor& t : inputs) vars.push_back(g.input(t.to(dev), "in", true));
  Var y = fn(vars);
  Generator gen(seed);
  Tensor s = Tensor::randn(y.shape(), gen, DType::f64).to(y.dtype()).to(dev);
  g.backward(y, s);
  Run r{y.value().to(Device::cpu), {}};
  for (const Var& v : vars) r.grads.push_back(g.grad(v).to(Device::cpu));
  return r;
}

// Uniform in [lo, hi) as dtype dt on the host.
Tensor uniform(const Shape& s, double lo, double hi, DType dt, uint64_t seed) {
  Generator gen(seed);
  Tensor t = Tensor::rand(s, gen, DType::f64);
  double* p = t.data<double>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = lo + (hi - lo) * p[i];
  return t.to(dt);
}

void compare_cpu_cuda(const Fn& fn, const std::vector<Tensor>& inputs, uint64_t seed = 7) {
  const DType dt = inputs[0].dtype();
  const double tol = dt == DType::f32 ? 2e-5 : 1e-12;
  Run cpu = run_on(Device::cpu, fn, inputs, seed);
  Run gpu = run_on(Device::cuda, fn, inputs, seed);
  test::check_close(gpu.out, cpu.out, tol, tol);
  for (size_t i = 0; i < inputs.size(); ++i) {
    CAPTURE(i);
    // A broadcast operand's gradient sums out.numel / numel terms in a device-specific order.
    const double terms = static_cast<double>(cpu.out.numel()) / static_cast<double>(inputs[i].numel());
    test::check_close(gpu.grads[i], cpu.grads[i], tol * std::max(1.0, std::sqrt(terms)), tol);
  }
  // Same device, same inputs: bit-identical.
  Run again = run_on(Device::cuda, fn, inputs, seed);
  test::check_equal(again.out, gpu.out);
  for (size_t i = 0; i < inputs.size(); ++i) test::check_equal(again.grads[i], gpu.grads[i]);
}
}  // namespace

TEST_CASE("CUDA binary ops match the CPU, forward and both gradients, on broadcast shapes") {
  DIFFLUT_REQUIRE_GPU();
  using Op = Var (*)(Var, Var);
  const std::vector<std::pair<const char*, Op>> ops = {
      {"add", [](Var a, Var b) { return add(a, b); }},
      {"sub", [](Var a, Var b) { return sub(a, b); }},
      {"mul", [](Var a, Var b) { return mul(a, b); }},
      {"div", [](Var a, Var b) { return div(a, b); }},
  };
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{70001}, {70001}},        {{1000, 37}, {37}},      {{1000, 37}, {1, 37}},
      {{1000, 37}, {1000, 1}},   {{37}, {1}},             {{1}, {999, 3}},
      {{257, 1}, {1, 129}},      {{5, 1, 7, 3}, {4, 1, 3}}, {{3, 1, 5, 1}, {2, 3, 4, 5, 6}},
      {{3, 100003}, {3, 1}},     {{100003, 3}, {3}},      {{2, 1, 3, 1, 2, 1}, {1, 2, 1, 3, 1, 2}},
  };
  uint64_t seed = 100;
  for (DType dt : {DType::f32, DType::f64}) {
    for (const auto& [name, op] : ops) {
      for (const auto& [sa, sb] : shapes) {
        CAPTURE(name);
        CAPTURE(dtype_name(dt));
        CAPTURE(shape_str(sa));
        CAPTURE(shape_str(sb));
        Tensor a = uniform(sa, -2, 2, dt, seed++);
        Tensor b = uniform(sb, 0.5, 2, dt, seed++);  // away from 0 for div
        compare_cpu_cuda([op](const std::vector<Var>& v) { return op(v[0], v[1]); }, {a, b});
      }
    }
  }
}

TEST_CASE("CUDA scalar and unary ops match the CPU, forward and gradient") {
  DIFFLUT_REQUIRE_GPU();
  struct U {
    const char* name;
    std::function<Var(Var)> op;
    double lo, hi;
  };
  const std::vector<U> us = {
      {"add_scalar", [](Var v) { return add_scalar(v, 0.75); }, -3, 3},
      {"mul_scalar", [](Var v) { return mul_scalar(v, -1.5); }, -3, 3},
      {"pow_scalar 2", [](Var v) { return pow_scalar(v, 2); }, -3, 3},
      {"pow_scalar 3", [](Var v) { return pow_scalar(v, 3); }, -3, 3},
      {"pow_scalar 0.5", [](Var v) { return pow_scalar(v, 0.5); }, 0.1, 3},
      {"neg", [](Var v) { return neg(v); }, -3, 3},
      {"exp", [](Var v) { return exp(v); }, -3, 3},
      {"log", [](Var v) { return log(v); }, 0.1, 3},
      {"sigmoid", [](Var v) { return sigmoid(v); }, -6, 6},
      {"tanh", [](Var v) { return tanh(v); }, -3, 3},
      {"relu", [](Var v) { return relu(v); }, -3, 3},
      {"clamp", [](Var v) { return clamp(v, -0.5, 1.0); }, -3, 3},
      {"threshold_ste", [](Var v) { return threshold_ste(v, 0.25); }, -3, 3},
  };
  uint64_t seed = 500;
  for (DType dt : {DType::f32, DType::f64}) {
    for (const U& u : us) {
      for (const Shape& s : {Shape{1}, Shape{255}, Shape{33, 47}, Shape{100003}}) {
        CAPTURE(u.name);
        CAPTURE(dtype_name(dt));
        CAPTURE(shape_str(s));
        compare_cpu_cuda([&u](const std::vector<Var>& v) { return u.op(v[0]); },
                         {uniform(s, u.lo, u.hi, dt, seed++)});
      }
    }
  }
}

TEST_CASE("CUDA threshold_ste is exact and passes the gradient through unchanged") {
  DIFFLUT_REQUIRE_GPU();
  Tensor x = Tensor::from_vector<float>({0.1f, 0.5f, 0.49f, 0.9f, -3.f}, {5});
  Graph g;
  Var v = g.input(x.to(Device::cuda), "x", true);
  Var y = threshold_ste(v);
  CHECK(y.value().to_vector<float>() == std::vector<float>{0, 1, 0, 1, 0});
  Tensor seed = Tensor::from_vector<float>({1.5f, -2.f, 3.f, 0.25f, 7.f}, {5});
  g.backward(y, seed.to(Device::cuda));
  test::check_equal(g.grad(v), seed);
}

TEST_CASE("CUDA composite graph with a reused value matches the CPU") {
  DIFFLUT_REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::f64}) {
    Tensor x = uniform({513, 65}, -1, 1, dt, 1);
    Tensor w = uniform({65}, -1, 1, dt, 2);
    Tensor b = uniform({513, 1}, -1, 1, dt, 3);
    compare_cpu_cuda([](const std::vector<Var>& v) {
      Var h = tanh(add(mul(v[0], v[1]), v[2]));
      return sub(mul(h, h), div(sigmoid(h), add_scalar(exp(v[1]), 1.0)));
    }, {x, w, b});
  }
}

TEST_CASE("binary ops reject operands on different devices, naming the op and both operands") {
  DIFFLUT_REQUIRE_GPU();
  Graph g;
  Var a = g.input(Tensor::zeros({2, 3}, DType::f32));
  Var b = g.input(Tensor::zeros({2, 3}, DType::f32, Device::cuda));
  CHECK_THROWS_WITH_AS(add(a, b), doctest::Contains("add: expected all inputs on one device"), Error);
  CHECK_THROWS_WITH_AS(mul(b, a), doctest::Contains("f32[2, 3] on cuda and input 1 f32[2, 3] on cpu"), Error);
}
