// Learnable mapping on the GPU against the CPU on the same inputs: argmax and forward (exact), dW
// and dx, the fused gradient + optimizer + argmax update over several steps, and determinism.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "autograd/graph.h"
#include "lut/learnable_mapping.h"
#include "tensor/random.h"
#include "test_util.h"

using namespace difflut;
using difflut::test::check_close;
using difflut::test::check_equal;

namespace {

// W with many exact ties: values on a coarse grid.
Tensor tied_weights(int64_t F, int64_t S, Generator& gen, DType dt) {
  std::vector<double> v = Tensor::rand({F, S}, gen, DType::f64).to_vector<double>();
  for (double& e : v) e = std::floor(e * 16.0) / 16.0;
  return Tensor::from_vector(v, {F, S}).to(dt);
}

Tensor binary_tensor(const Shape& shape, Generator& gen, DType dt) {
  std::vector<double> v = Tensor::rand(shape, gen, DType::f64).to_vector<double>();
  for (double& e : v) e = e < 0.5 ? 0.0 : 1.0;
  return Tensor::from_vector(v, shape).to(dt);
}

// Values on a 2^-12 grid: their sums are exact in f32, so both devices get identical dW.
Tensor grid_tensor(const Shape& shape, Generator& gen, DType dt) {
  std::vector<double> v = Tensor::rand(shape, gen, DType::f64).to_vector<double>();
  for (double& e : v) e = std::floor((2.0 * e - 1.0) * 4096.0) / 4096.0;
  return Tensor::from_vector(v, shape).to(dt);
}

struct Grads {
  Tensor out, dw, dx;
};

Grads run_standard(const Tensor& x, const Tensor& w, const Tensor& g, double tau, Device d) {
  Graph graph;
  Parameter p;
  p.value = w.to(d);
  Var xv = graph.input(x.to(d), "x", true);
  Var out = learnable_mapping(xv, graph.param(p), nullptr, tau);
  graph.backward(out, g.to(d));
  return {out.value().to(Device::cpu), p.grad.to(Device::cpu), graph.grad(xv).to(Device::cpu)};
}

double max_abs(const Tensor& t) {
  double m = 0.0;
  for (double e : t.to(DType::f64).to_vector<double>()) m = std::max(m, std::abs(e));
  return m;
}

struct StepResult {
  std::vector<Tensor> w, m, v, idx;
};

struct Opt {
  OptimizerStep::Kind kind = OptimizerStep::Kind::adam;
  double lr = 1e-2, wd = 0.0, momentum = 0.0;
  bool decoupled = false;
  double lo = -INFINITY, hi = INFINITY;
};

// Runs `steps` fused steps on device d (engine forward/backward + the parameter's update).
StepResult run_fused(int64_t B, int64_t F, int64_t S, int steps, bool binary, const Opt& o,
                     Device d, DType dt = DType::f32) {
  Generator gen(500 + static_cast<uint64_t>(B));
  auto state = make_learnable_mapping_state();
  Parameter p;
  p.value = learnable_mapping_init(F, S, gen, dt).to(d);
  p.clamp_min = o.lo;
  p.clamp_max = o.hi;
  p.custom_update = make_learnable_mapping_update(state);
  Tensor m = Tensor::zeros({F, S}, dt, d), v = Tensor::zeros({F, S}, dt, d);
  StepResult r;
  for (int step = 1; step <= steps; ++step) {
    const Tensor x = binary ? binary_tensor({B, F}, gen, dt) : Tensor::rand({B, F}, gen, dt);
    const Tensor g = grid_tensor({B, S}, gen, dt);
    Graph graph;
    Var out = learnable_mapping(graph.input(x.to(d)), graph.param(p), state);
    graph.backward(out, g.to(d));
    OptimizerStep st;
    st.kind = o.kind;
    st.lr = o.lr;
    st.weight_decay = o.wd;
    st.momentum = o.momentum;
    st.decoupled_weight_decay = o.decoupled;
    st.step = step;
    st.state[0] = &m;
    st.state[1] = &v;
    p.custom_update(p, st);
    // Snapshots (on the CPU, to() would return a view that later steps overwrite).
    r.w.push_back(p.value.to(Device::cpu).clone());
    r.m.push_back(m.to(Device::cpu).clone());
    r.v.push_back(v.to(Device::cpu).clone());
    r.idx.push_back(state->argmax.to(Device::cpu).clone());
  }
  return r;
}

void compare_fused(int64_t B, int64_t F, int64_t S, int steps, bool binary, const Opt& o,
                   DType dt = DType::f32) {
  CAPTURE(B);
  CAPTURE(F);
  CAPTURE(S);
  CAPTURE(binary);
  const StepResult c = run_fused(B, F, S, steps, binary, o, Device::cpu, dt);
  const StepResult g = run_fused(B, F, S, steps, binary, o, Device::cuda, dt);
  const double rtol = dt == DType::f32 ? 1e-5 : 1e-12;
  for (int k = 0; k < steps; ++k) {
    CAPTURE(k);
    check_close(g.w[static_cast<size_t>(k)], c.w[static_cast<size_t>(k)],
                rtol * max_abs(c.w[static_cast<size_t>(k)]), rtol);
    check_close(g.m[static_cast<size_t>(k)], c.m[static_cast<size_t>(k)],
                rtol * max_abs(c.m[static_cast<size_t>(k)]), rtol);
    check_close(g.v[static_cast<size_t>(k)], c.v[static_cast<size_t>(k)],
                rtol * max_abs(c.v[static_cast<size_t>(k)]), rtol);
    check_equal(g.idx[static_cast<size_t>(k)], c.idx[static_cast<size_t>(k)]);
  }
}

}  // namespace

TEST_CASE("learnable_mapping CUDA argmax and forward equal the CPU exactly, ties included") {
  DIFFLUT_REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::f64}) {
    Generator gen(1);
    const int64_t B = 5, F = 700, S = 333;
    const Tensor w = tied_weights(F, S, gen, dt);
    const Tensor x = Tensor::rand({B, F}, gen, dt);
    check_equal(learnable_mapping_argmax(w.to(Device::cuda)).to(Device::cpu),
                learnable_mapping_argmax(w));
    Graph gc, gg;
    Var oc = learnable_mapping(gc.input(x), gc.input(w));
    Var og = learnable_mapping(gg.input(x.to(Device::cuda)), gg.input(w.to(Device::cuda)));
    check_equal(og.value().to(Device::cpu), oc.value());
  }
}

TEST_CASE("learnable_mapping CUDA dW and dx match the CPU (binary and real x, several tau)") {
  DIFFLUT_REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::f64}) {
    for (bool binary : {true, false}) {
      for (double tau : {1e-3, 1e-2, 1.0}) {
        CAPTURE(dtype_name(dt));
        CAPTURE(binary);
        CAPTURE(tau);
        Generator gen(2);
        const int64_t B = 9, F = 150, S = 260;
        std::vector<double> wv = Tensor::rand({F, S}, gen, DType::f64).to_vector<double>();
        for (double& e : wv) e *= 100.0 * std::min(tau, 1e-2);
        const Tensor w = Tensor::from_vector(wv, {F, S}).to(dt);
        const Tensor x = binary ? binary_tensor({B, F}, gen, dt) : Tensor::rand({B, F}, gen, dt);
        const Tensor g = Tensor::randn({B, S}, gen, dt);
        const Grads c = run_standard(x, w, g, tau, Device::cpu);
        const Grads u = run_standard(x, w, g, tau, Device::cuda);
        const double tol = dt == DType::f32 ? 1e-5 : 1e-12;
        check_equal(u.out, c.out);
        check_close(u.dw, c.dw, tol * max_abs(c.dw), tol);
        check_close(u.dx, c.dx, tol * max_abs(c.dx), 10 * tol);
      }
    }
  }
}

TEST_CASE("learnable_mapping CUDA fused Adam matches the CPU fused Adam, B = 1, 7, 32, 100") {
  DIFFLUT_REQUIRE_GPU();
  for (int64_t B : {1, 7, 32, 100}) compare_fused(B, 300, 100, 3, true, Opt{});
}

TEST_CASE("learnable_mapping CUDA fused update: AdamW + clamp, L2, SGD, real x, huge batch, f64") {
  DIFFLUT_REQUIRE_GPU();
  SUBCASE("AdamW with a clamp") {
    Opt o;
    o.decoupled = true;
    o.wd = 0.1;
    o.lr = 0.2;
    o.lo = 0.0;
    o.hi = 1.0;
    compare_fused(13, 200, 70, 3, true, o);
  }
  SUBCASE("Adam with L2 weight decay") {
    Opt o;
    o.wd = 0.05;
    compare_fused(32, 200, 70, 3, true, o);
  }
  SUBCASE("SGD with momentum") {
    Opt o;
    o.kind = OptimizerStep::Kind::sgd;
    o.momentum = 0.9;
    o.wd = 1e-3;
    compare_fused(7, 200, 70, 3, true, o);
  }
  SUBCASE("plain SGD") {
    Opt o;
    o.kind = OptimizerStep::Kind::sgd;
    compare_fused(7, 200, 70, 2, true, o);
  }
  SUBCASE("non-binary x (dense fallback)") { compare_fused(10, 200, 70, 3, false, Opt{}); }
  SUBCASE("a batch too large for shared-memory tables") {
    compare_fused(900, 40, 50, 2, true, Opt{});
  }
  SUBCASE("f64") { compare_fused(32, 200, 70, 3, true, Opt{}, DType::f64); }
}

TEST_CASE("learnable_mapping CUDA fused update and backward are bit-identical across runs") {
  DIFFLUT_REQUIRE_GPU();
  const StepResult a = run_fused(33, 400, 300, 3, true, Opt{}, Device::cuda);
  const StepResult b = run_fused(33, 400, 300, 3, true, Opt{}, Device::cuda);
  for (size_t k = 0; k < a.w.size(); ++k) {
    check_equal(a.w[k], b.w[k]);
    check_equal(a.m[k], b.m[k]);
    check_equal(a.v[k], b.v[k]);
    check_equal(a.idx[k], b.idx[k]);
  }
  Generator gen(9);
  const Tensor w = learnable_mapping_init(300, 200, gen), x = Tensor::rand({6, 300}, gen);
  const Tensor g = Tensor::randn({6, 200}, gen);
  const Grads r1 = run_standard(x, w, g, 1e-2, Device::cuda);
  const Grads r2 = run_standard(x, w, g, 1e-2, Device::cuda);
  check_equal(r1.dw, r2.dw);
  check_equal(r1.dx, r2.dx);
}
