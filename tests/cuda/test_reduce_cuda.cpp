// Reductions on the GPU: sum, mean, max and argmax match the CPU (values, gradients, indices) on
// the same random inputs in f32 and f64, across the warp, block, column and segmented paths;
// repeated runs are bit-identical; argmax ties resolve to the first index.
#include <cmath>
#include <functional>
#include <vector>

#include "autograd/ops.h"
#include "tensor/random.h"
#include "test_util.h"

using namespace difflut;

namespace {
struct Run {
  Tensor out;
  Tensor grad;  // undefined for argmax
};

Run run_on(Device dev, const std::function<Var(Var)>& fn, const Tensor& x, bool backward) {
  Graph g;
  Var v = g.input(x.to(dev), "x", backward);
  Var y = fn(v);
  Run r{y.value().to(Device::cpu), Tensor()};
  if (backward) {
    Generator gen(99);
    g.backward(y, Tensor::randn(y.shape(), gen, DType::f64).to(y.dtype()).to(dev));
    r.grad = g.grad(v).to(Device::cpu);
  }
  return r;
}

// The shapes and axes that reach each CUDA path: warp rows (R <= 1024), block rows, segmented rows
// (few long rows), columns, segmented columns (few outputs), middle axes, and tiny ones.
const std::vector<std::pair<Shape, int>>& cases() {
  static const std::vector<std::pair<Shape, int>> c = {
      {{1000, 37}, 1},  {{1000, 37}, 0},   {{64, 1500}, -1}, {{3, 100003}, 1}, {{1, 300001}, 0},
      {{100003, 5}, 0}, {{4, 2000, 3}, 1}, {{7}, 0},         {{2, 3, 4}, 0},   {{2, 3, 4}, 2},
      {{513, 1}, 0},    {{1, 513}, 0},
  };
  return c;
}
}  // namespace

TEST_CASE("CUDA sum, mean and max match the CPU, forward and gradient, and are bit-reproducible") {
  DIFFLUT_REQUIRE_GPU();
  using Op = Var (*)(Var, int, bool);
  const std::vector<std::pair<const char*, Op>> ops = {
      {"sum", [](Var v, int a, bool k) { return sum(v, a, k); }},
      {"mean", [](Var v, int a, bool k) { return mean(v, a, k); }},
      {"max", [](Var v, int a, bool k) { return max(v, a, k); }},
  };
  uint64_t seed = 1;
  for (DType dt : {DType::f32, DType::f64}) {
    const double tol = dt == DType::f32 ? 2e-5 : 1e-12;
    for (const auto& [name, op] : ops) {
      for (const auto& [shape, axis] : cases()) {
        CAPTURE(name);
        CAPTURE(dtype_name(dt));
        CAPTURE(shape_str(shape));
        CAPTURE(axis);
        Generator gen(seed++);
        Tensor x = Tensor::randn(shape, gen, dt);
        const bool keep = (seed % 2) == 0;
        auto fn = [op, axis, keep](Var v) { return op(v, axis, keep); };
        Run cpu = run_on(Device::cpu, fn, x, true);
        Run gpu = run_on(Device::cuda, fn, x, true);
        // Sums of R terms in device-specific orders: absolute error grows like sqrt(R).
        const double R = static_cast<double>(x.numel()) / static_cast<double>(cpu.out.numel());
        test::check_close(gpu.out, cpu.out, tol * std::sqrt(R), tol);
        test::check_close(gpu.grad, cpu.grad, tol, tol);
        Run again = run_on(Device::cuda, fn, x, true);
        test::check_equal(again.out, gpu.out);
        test::check_equal(again.grad, gpu.grad);
      }
    }
  }
}

TEST_CASE("CUDA argmax matches the CPU exactly") {
  DIFFLUT_REQUIRE_GPU();
  uint64_t seed = 300;
  for (DType dt : {DType::f32, DType::f64}) {
    for (const auto& [shape, axis] : cases()) {
      CAPTURE(dtype_name(dt));
      CAPTURE(shape_str(shape));
      CAPTURE(axis);
      Generator gen(seed++);
      Tensor x = Tensor::randn(shape, gen, dt);
      auto fn = [axis](Var v) { return argmax(v, axis); };
      test::check_equal(run_on(Device::cuda, fn, x, false).out, run_on(Device::cpu, fn, x, false).out);
    }
  }
}

TEST_CASE("CUDA argmax and max resolve ties to the first index") {
  DIFFLUT_REQUIRE_GPU();
  // Rows of 100: row 0 all equal; row 1 maximum 5 at 40 and 70 (different warp lanes); row 2 at 97
  // and 3 (lane 1 vs lane 3 of the next stride).
  std::vector<float> v(300, 1.0f);
  v[100 + 40] = v[100 + 70] = 5.0f;
  v[200 + 97] = v[200 + 3] = 2.0f;
  Tensor x = Tensor::from_vector(v, {3, 100});
  Graph g;
  Var d = g.input(x.to(Device::cuda), "x", true);
  CHECK(argmax(d, 1).value().to_vector<int64_t>() == std::vector<int64_t>{0, 40, 3});
  // Column form: the transpose layout [100, 3] along axis 0.
  std::vector<float> t(300);
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 100; ++c) t[static_cast<size_t>(c * 3 + r)] = v[static_cast<size_t>(r * 100 + c)];
  Var dt = g.input(Tensor::from_vector(t, {100, 3}).to(Device::cuda));
  CHECK(argmax(dt, 0).value().to_vector<int64_t>() == std::vector<int64_t>{0, 40, 3});
  Var m = max(d, 1);
  g.backward(m, Tensor::ones({3}, DType::f32, Device::cuda));
  const std::vector<float> gx = g.grad(d).to_vector<float>();
  std::vector<float> expected(300, 0.0f);
  expected[0] = expected[100 + 40] = expected[200 + 3] = 1.0f;
  CHECK(gx == expected);
}
