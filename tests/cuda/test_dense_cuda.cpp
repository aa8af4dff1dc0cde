// Dense, softmax and shape ops on the GPU: for every op, f32 and f64, the CUDA forward value and
// every input gradient match the CPU's on the same inputs, and two CUDA runs are bit-identical.
// Gather (whose backward is a per-owner CSR walk, same order as the CPU) must match the CPU exactly.
#include <cmath>
#include <vector>

#include "autograd/ops.h"
#include "tensor/cuda_utils.h"
#include "tensor/random.h"
#include "test_util.h"

using namespace difflut;

namespace {

struct RunResult {
  Tensor out;
  std::vector<Tensor> grads;  // one per input; undefined for non-floating inputs
};

using OpFn = std::function<Var(Graph&, const std::vector<Var>&)>;

RunResult run_on(Device dev, const OpFn& fn, const std::vector<Tensor>& inputs, const Tensor& w) {
  Graph g;
  std::vector<Var> vars;
  for (size_t i = 0; i < inputs.size(); ++i)
    vars.push_back(g.input(inputs[i].to(dev), str_cat("in", i), is_floating(inputs[i].dtype())));
  Var out = fn(g, vars);
  RunResult r;
  r.out = out.value().to(Device::cpu).clone();
  g.backward(out, w.to(dev));
  for (size_t i = 0; i < inputs.size(); ++i)
    r.grads.push_back(is_floating(inputs[i].dtype()) ? g.grad(vars[i]).to(Device::cpu).clone()
                                                     : Tensor());
  return r;
}

// Float inputs are converted to `dt`; integer inputs (labels) are passed as they are.
void compare_cpu_cuda(const OpFn& fn, std::vector<Tensor> inputs, DType dt, double tol,
                      bool exact = false) {
  for (Tensor& t : inputs)
    if (is_floating(t.dtype())) t = t.to(dt);
  Shape out_shape;
  {
    Graph g;
    std::vector<Var> vars;
    for (const Tensor& t : inputs) vars.push_back(g.input(t));
    out_shape = fn(g, vars).shape();
  }
  Generator gen(77);
  Tensor w = Tensor::randn(out_shape, gen, dt);
  RunResult cpu = run_on(Device::cpu, fn, inputs, w);
  RunResult gpu = run_on(Device::cuda, fn, inputs, w);
  RunResult gpu2 = run_on(Device::cuda, fn, inputs, w);
  if (exact) test::check_equal(gpu.out, cpu.out);
  else test::check_close(gpu.out, cpu.out, tol, tol);
  test::check_equal(gpu2.out, gpu.out);
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!cpu.grads[i].defined()) continue;
    CAPTURE(i);
    if (exact) test::check_equal(gpu.grads[i], cpu.grads[i]);
    else test::check_close(gpu.grads[i], cpu.grads[i], tol, tol);
    test::check_equal(gpu2.grads[i], gpu.grads[i]);
  }
}

Tensor randn(const Shape& s, uint64_t seed) {
  Generator gen(seed);
  return Tensor::randn(s, gen, DType::f64);
}
double tol_for(DType dt) { return dt == DType::f32 ? 2e-4 : 1e-10; }

}  // namespace

TEST_CASE("cuda matmul forward and both gradients match the CPU (odd and blocked sizes)") {
  DIFFLUT_REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::f64}) {
    CAPTURE(dt);
    auto fn = [](Graph&, const std::vector<Var>& v) { return matmul(v[0], v[1]); };
    compare_cpu_cuda(fn, {randn({37, 53}, 1), randn({53, 29}, 2)}, dt, tol_for(dt));
    compare_cpu_cuda(fn, {randn({203, 517}, 3), randn({517, 301}, 4)}, dt, tol_for(dt) * 5);
    compare_cpu_cuda(fn, {randn({1, 1}, 5), randn({1, 64}, 6)}, dt, tol_for(dt));
  }
}

TEST_CASE("cuda softmax and log_softmax match the CPU along every axis and for long rows") {
  DIFFLUT_REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::f64}) {
    CAPTURE(dt);
    for (int axis : {0, 1, 2, -1}) {
      CAPTURE(axis);
      compare_cpu_cuda([axis](Graph&, const std::vector<Var>& v) { return softmax(v[0], axis); },
                       {randn({6, 7, 33}, 10)}, dt, tol_for(dt));
      compare_cpu_cuda(
          [axis](Graph&, const std::vector<Var>& v) { return log_softmax(v[0], axis); },
          {randn({6, 7, 33}, 11)}, dt, tol_for(dt));
    }
    Tensor big = randn({70, 1500}, 12);
    compare_cpu_cuda([](Graph&, const std::vector<Var>& v) { return softmax(v[0], 1); }, {big}, dt,
                     tol_for(dt));
    compare_cpu_cuda([](Graph&, const std::vector<Var>& v) { return log_softmax(v[0]); }, {big},
                     dt, tol_for(dt));
  }
}

TEST_CASE("cuda cross_entropy value and logit gradient match the CPU, i32 and i64 labels") {
  DIFFLUT_REQUIRE_GPU();
  Generator gen(13);
  for (DType dt : {DType::f32, DType::f64})
    for (DType ldt : {DType::i32, DType::i64})
      for (int64_t B : {1, 37, 1000}) {
        CAPTURE(dt);
        CAPTURE(ldt);
        CAPTURE(B);
        const int64_t C = B == 1000 ? 10 : 130;
        Tensor labels = Tensor::randint({B}, 0, C, gen, ldt);
        Tensor logits = randn({B, C}, 14);
        compare_cpu_cuda(
            [](Graph&, const std::vector<Var>& v) { return cross_entropy(v[0], v[1]); },
            {logits, labels}, dt, tol_for(dt));
      }
}

TEST_CASE("cuda cross_entropy with an invalid label: NaN loss, or Error under DIFFLUT_SYNC_DEBUG") {
  DIFFLUT_REQUIRE_GPU();
  Graph g;
  Var x = g.input(Tensor::zeros({3, 5}, DType::f32, Device::cuda));
  Var lab = g.input(Tensor::from_vector<int64_t>({0, 7, 1}, {3}, Device::cuda));
  if (cuda_sync_debug()) {
    CHECK_THROWS_WITH_AS(cross_entropy(x, lab),
                         doctest::Contains("cross_entropy: label of batch element 1 is 7"), Error);
  } else {
    CHECK(std::isnan(cross_entropy(x, lab).value().item<float>()));
  }
}

TEST_CASE("cuda reshape, transpose, concat and slice match the CPU, values and gradients") {
  DIFFLUT_REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::f64}) {
    CAPTURE(dt);
    // Pure data movement: the CUDA results are exact.
    compare_cpu_cuda([](Graph&, const std::vector<Var>& v) { return reshape(v[0], {-1, 6}); },
                     {randn({4, 3, 5}, 20)}, dt, 0, true);
    compare_cpu_cuda([](Graph&, const std::vector<Var>& v) { return transpose(v[0]); },
                     {randn({67, 45}, 21)}, dt, 0, true);
    compare_cpu_cuda([](Graph&, const std::vector<Var>& v) { return transpose(v[0]); },
                     {randn({1, 300}, 22)}, dt, 0, true);
    for (int axis : {0, 1, -1}) {
      CAPTURE(axis);
      Shape sb{3, 4, 5};
      sb[static_cast<size_t>(axis < 0 ? 2 : axis)] = 2;
      compare_cpu_cuda(
          [axis](Graph&, const std::vector<Var>& v) { return concat({v[0], v[1], v[0]}, axis); },
          {randn({3, 4, 5}, 23), randn(sb, 24)}, dt, 0, true);
      compare_cpu_cuda(
          [axis](Graph&, const std::vector<Var>& v) { return slice(v[0], axis, 1, 3); },
          {randn({3, 4, 5}, 25)}, dt, 0, true);
    }
  }
  // Integer transpose forward.
  Graph g;
  Tensor xi = Tensor::arange(6).reshape({2, 3});
  CHECK(transpose(g.input(xi.to(Device::cuda))).value().to_vector<int64_t>() ==
        std::vector<int64_t>{0, 3, 1, 4, 2, 5});
}

TEST_CASE("cuda gather matches the CPU bit for bit, with and without a CSR inverse") {
  DIFFLUT_REQUIRE_GPU();
  Generator gen(30);
  const int64_t F = 300, M = 2000;  // heavy repetition: ~6.7 uses per input, some unused
  Tensor index = Tensor::randint({M}, 0, F, gen, DType::i64);
  for (DType dt : {DType::f32, DType::f64})
    for (DType it : {DType::i64, DType::i32}) {
      CAPTURE(dt);
      CAPTURE(it);
      Tensor idx = index.to(it);
      GatherInverse inv = make_gather_inverse(idx, F, Device::cpu);
      compare_cpu_cuda(
          [&](Graph&, const std::vector<Var>& v) { return gather(v[0], idx.to(v[0].device())); },
          {randn({64, F}, 31)}, dt, 0, true);
      compare_cpu_cuda(
          [&](Graph&, const std::vector<Var>& v) {
            const Device d = v[0].device();
            return gather(v[0], idx.to(d), inv.offsets.to(d), inv.positions.to(d));
          },
          {randn({64, F}, 32)}, dt, 0, true);
    }
}

TEST_CASE("cuda gather rejects out-of-range indices when it reads them on the host") {
  DIFFLUT_REQUIRE_GPU();
  Graph g;
  Var x = g.input(Tensor::zeros({2, 3}, DType::f32, Device::cuda));
  CHECK_THROWS_WITH_AS(gather(x, Tensor::from_vector<int64_t>({0, 3}, {2}, Device::cuda)),
                       doctest::Contains("gather: index[1] = 3"), Error);
}
