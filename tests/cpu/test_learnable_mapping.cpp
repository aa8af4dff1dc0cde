// Learnable mapping on the CPU: the hard-gather forward, dW and dx against naive f64 references (dense
// softmax), the fused gradient + optimizer + argmax update against the unfused path with a scalar
// reference optimizer, the argmax cache, accumulation, and determinism.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "autograd/graph.h"
#include "lut/learnable_mapping.h"
#include "tensor/parallel.h"
#include "tensor/random.h"
#include "test_util.h"

using namespace difflut;
using difflut::test::check_equal;

namespace {

std::vector<double> as_f64(const Tensor& t) { return t.to(DType::f64).to_vector<double>(); }

// Naive references, all in f64 from the given values.
std::vector<int32_t> ref_argmax(const std::vector<double>& w, int64_t F, int64_t S) {
  std::vector<int32_t> idx(static_cast<size_t>(S), 0);
  for (int64_t s = 0; s < S; ++s)
    for (int64_t i = 1; i < F; ++i)
      if (w[i * S + s] > w[idx[s] * S + s]) idx[s] = static_cast<int32_t>(i);
  return idx;
}

std::vector<double> ref_dw(const std::vector<double>& x, const std::vector<double>& g, int64_t B,
                           int64_t F, int64_t S) {
  std::vector<double> dw(static_cast<size_t>(F * S), 0.0);
  for (int64_t i = 0; i < F; ++i)
    for (int64_t s = 0; s < S; ++s) {
      double acc = 0.0;
      for (int64_t b = 0; b < B; ++b) acc += (2.0 * x[b * F + i] - 1.0) * g[b * S + s];
      dw[i * S + s] = acc;
    }
  return dw;
}

// dx = g softmax(W / tau)^T with the dense softmax over inputs (every row, no cutoff).
std::vector<double> ref_dx(const std::vector<double>& w, const std::vector<double>& g, int64_t B,
                           int64_t F, int64_t S, double tau) {
  std::vector<double> p(static_cast<size_t>(F * S));
  for (int64_t s = 0; s < S; ++s) {
    double mx = w[s];
    for (int64_t i = 1; i < F; ++i) mx = std::max(mx, w[i * S + s]);
    double z = 0.0;
    for (int64_t i = 0; i < F; ++i) z += std::exp((w[i * S + s] - mx) / tau);
    for (int64_t i = 0; i < F; ++i) p[i * S + s] = std::exp((w[i * S + s] - mx) / tau) / z;
  }
  std::vector<double> dx(static_cast<size_t>(B * F), 0.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < F; ++i) {
      double acc = 0.0;
      for (int64_t s = 0; s < S; ++s) acc += g[b * S + s] * p[i * S + s];
      dx[b * F + i] = acc;
    }
  return dx;
}

void check_close_vec(const std::vector<double>& a, const std::vector<double>& b, double atol,
                     double rtol, const std::string& what) {
  REQUIRE(a.size() == b.size());
  int bad = 0;
  double worst = 0.0;
  for (size_t k = 0; k < a.size(); ++k) {
    const double err = std::abs(a[k] - b[k]);
    if (!(err <= atol + rtol * std::abs(b[k]))) {
      ++bad;
      worst = std::max(worst, err);
    }
  }
  INFO(what << ": " << bad << " of " << a.size() << " outside tolerance, worst error " << worst);
  CHECK(bad == 0);
}

Tensor binary_tensor(const Shape& shape, Generator& gen, DType dtype) {
  Tensor u = Tensor::rand(shape, gen, DType::f64);
  std::vector<double> v = u.to_vector<double>();
  for (double& e : v) e = e < 0.5 ? 0.0 : 1.0;
  return Tensor::from_vector(v, shape).to(dtype);
}

// Values on a 2^-12 grid in [-1, 1): sums of up to 2^11 of them are exact in f32, so any summation
// order gives the same dW and fused vs unfused differ only in the optimizer arithmetic.
Tensor grid_tensor(const Shape& shape, Generator& gen, DType dtype) {
  std::vector<double> v = Tensor::rand(shape, gen, DType::f64).to_vector<double>();
  for (double& e : v) e = std::floor((2.0 * e - 1.0) * 4096.0) / 4096.0;
  return Tensor::from_vector(v, shape).to(dtype);
}

struct StandardResult {
  Tensor out, dw, dx;
};

// Forward + backward through the engine with an ordinary parameter (dense dW).
StandardResult run_standard(const Tensor& x, const Tensor& w, const Tensor& g, double tau,
                            bool want_dx, std::shared_ptr<LearnableMappingState> state = nullptr) {
  Graph graph;
  Parameter p;
  p.name = "W";
  p.value = w;
  Var xv = graph.input(x, "x", want_dx);
  Var wv = graph.param(p);
  Var out = learnable_mapping(xv, wv, state, tau);
  graph.backward(out, g);
  StandardResult r;
  r.out = out.value().clone();
  r.dw = p.grad.clone();
  if (want_dx) r.dx = graph.grad(xv).clone();
  return r;
}

// Scalar reference optimizer (PyTorch's Adam / AdamW / SGD rules) in f64 on the stored values.
void ref_step(std::vector<double>& w, std::vector<double>& m, std::vector<double>& v,
              const std::vector<double>& grad, const OptimizerStep& st, double lo, double hi) {
  const double t = static_cast<double>(st.step);
  for (size_t k = 0; k < w.size(); ++k) {
    double x = w[k];
    double gk = grad[k];
    if (st.kind == OptimizerStep::Kind::adam) {
      if (st.decoupled_weight_decay) {
        x *= 1.0 - st.lr * st.weight_decay;
      } else {
        gk += st.weight_decay * x;
      }
      m[k] = st.beta1 * m[k] + (1.0 - st.beta1) * gk;
      v[k] = st.beta2 * v[k] + (1.0 - st.beta2) * gk * gk;
      const double mhat = m[k] / (1.0 - std::pow(st.beta1, t));
      const double vhat = v[k] / (1.0 - std::pow(st.beta2, t));
      x -= st.lr * mhat / (std::sqrt(vhat) + st.eps);
    } else {
      gk += st.weight_decay * x;
      if (st.momentum != 0.0) {
        m[k] = st.momentum * m[k] + gk;
        gk = m[k];
      }
      x -= st.lr * gk;
    }
    w[k] = std::min(std::max(x, lo), hi);
  }
}

// Rounds to f32 like the stored tensors.
void round_f32(std::vector<double>& v) {
  for (double& e : v) e = static_cast<double>(static_cast<float>(e));
}

struct FusedCase {
  OptimizerStep::Kind kind = OptimizerStep::Kind::adam;
  double lr = 1e-2, weight_decay = 0.0, momentum = 0.0;
  bool decoupled = false;
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  bool binary = true;
  bool grid = true;  // exact-sum gradients (see grid_tensor)
};

// Runs `steps` fused optimizer steps through the engine and the same steps unfused (standard dW +
// the scalar reference optimizer), comparing W, the moments and the argmax after each step.
void compare_fused_with_reference(int64_t B, int64_t F, int64_t S, const FusedCase& fc, int steps,
                                  double rtol) {
  CAPTURE(B);
  CAPTURE(F);
  CAPTURE(S);
  Generator gen(100 + static_cast<uint64_t>(B));
  const Tensor w0 = learnable_mapping_init(F, S, gen);
  auto state = make_learnable_mapping_state();
  Parameter p;
  p.name = "W";
  p.value = w0.clone();
  p.clamp_min = fc.lo;
  p.clamp_max = fc.hi;
  p.custom_update = make_learnable_mapping_update(state);
  Tensor m = Tensor::zeros({F, S}), v = Tensor::zeros({F, S});

  std::vector<double> rw = as_f64(w0), rm(rw.size(), 0.0), rv(rw.size(), 0.0);
  for (int step = 1; step <= steps; ++step) {
    CAPTURE(step);
    const Tensor x =
        fc.binary ? binary_tensor({B, F}, gen, DType::f32) : Tensor::rand({B, F}, gen, DType::f32);
    const Tensor g =
        fc.grid ? grid_tensor({B, S}, gen, DType::f32) : Tensor::randn({B, S}, gen, DType::f32);
    // Unfused: the op's dense dW on the reference weights (rounded to f32 like storage).
    std::vector<float> rw32(rw.begin(), rw.end());
    StandardResult sr =
        run_standard(x, Tensor::from_vector(rw32, {F, S}), g, kLearnableMappingDefaultTau, false);

    // Fused: forward and backward through the engine, then the parameter's own update.
    {
      Graph graph;
      Var xv = graph.input(x, "x");
      Var wv = graph.param(p);
      Var out = learnable_mapping(xv, wv, state, kLearnableMappingDefaultTau);
      check_equal(out.value(), sr.out);  // same W (up to rounding) -> same mapping
      graph.backward(out, g);
      CHECK(!p.grad.defined());  // the fused path never materialises dW
      REQUIRE(state->stash.size() == 1);
    }
    OptimizerStep st;
    st.kind = fc.kind;
    st.lr = fc.lr;
    st.weight_decay = fc.weight_decay;
    st.decoupled_weight_decay = fc.decoupled;
    st.momentum = fc.momentum;
    st.step = step;
    st.state[0] = &m;
    st.state[1] = &v;
    p.custom_update(p, st);
    CHECK(state->stash.empty());
    CHECK(state->argmax_fresh);

    ref_step(rw, rm, rv, as_f64(sr.dw), st, fc.lo, fc.hi);
    round_f32(rw);
    round_f32(rm);
    round_f32(rv);
    double scale_w = 0.0, scale_m = 0.0, scale_v = 0.0;
    for (size_t k = 0; k < rm.size(); ++k) {
      scale_w = std::max(scale_w, std::abs(rw[k]));
      scale_m = std::max(scale_m, std::abs(rm[k]));
      scale_v = std::max(scale_v, std::abs(rv[k]));
    }
    // Relative to each tensor's scale: an element near zero (W at a clamp bound, a moment that
    // cancels) is compared with the tensor's largest magnitude, not its own.
    check_close_vec(as_f64(p.value), rw, rtol * scale_w, rtol, "W");
    if (fc.kind == OptimizerStep::Kind::adam || fc.momentum != 0.0)
      check_close_vec(as_f64(m), rm, rtol * scale_m, rtol, "first moment / velocity");
    if (fc.kind == OptimizerStep::Kind::adam)
      check_close_vec(as_f64(v), rv, rtol * scale_v, rtol, "second moment");
    // The fused pass's argmax is that of its own updated W, and equals the reference's.
    const std::vector<int32_t> ia = state->argmax.to_vector<int32_t>();
    CHECK(ia == ref_argmax(as_f64(p.value), F, S));
    CHECK(ia == ref_argmax(rw, F, S));
  }
}

}  // namespace

TEST_CASE("learnable_mapping forward gathers x at the column argmax, first index on ties") {
  // W [3, 4]: column 0 max at row 2; column 1 tie rows 0 and 2 -> 0; column 2 all equal -> 0;
  // column 3 tie rows 1 and 2 -> 1.
  const Tensor w = Tensor::from_vector<float>({0.1f, 0.9f, 0.5f, 0.2f,   //
                                               0.3f, 0.4f, 0.5f, 0.8f,   //
                                               0.7f, 0.9f, 0.5f, 0.8f},  //
                                              {3, 4});
  const Tensor x = Tensor::from_vector<float>({10, 20, 30,  //
                                               40, 50, 60},
                                              {2, 3});
  CHECK(learnable_mapping_argmax(w).to_vector<int32_t>() == std::vector<int32_t>{2, 0, 0, 1});
  Graph graph;
  Var out = learnable_mapping(graph.input(x), graph.input(w));
  CHECK(out.value().to_vector<float>() == std::vector<float>{30, 10, 10, 20, 60, 40, 40, 50});

  Generator gen(7);
  const int64_t B = 5, F = 300, S = 777;  // S spans several argmax blocks, not a multiple of them
  const Tensor wr = Tensor::rand({F, S}, gen, DType::f64);
  const Tensor xr = Tensor::rand({B, F}, gen, DType::f64);
  const std::vector<int32_t> idx = ref_argmax(wr.to_vector<double>(), F, S);
  CHECK(learnable_mapping_argmax(wr).to_vector<int32_t>() == idx);
  Var o2 = learnable_mapping(graph.input(xr), graph.input(wr));
  const std::vector<double> xv = xr.to_vector<double>(), ov = o2.value().to_vector<double>();
  bool same = true;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t s = 0; s < S; ++s) same = same && ov[b * S + s] == xv[b * F + idx[s]];
  CHECK(same);
}

TEST_CASE("learnable_mapping rejects bad shapes, dtypes and tau") {
  Graph graph;
  Var x = graph.input(Tensor::zeros({2, 3}));
  CHECK_THROWS_WITH_AS(learnable_mapping(x, graph.input(Tensor::zeros({4, 5}))),
                       doctest::Contains("learnable_mapping"), Error);
  CHECK_THROWS_AS(learnable_mapping(x, graph.input(Tensor::zeros({3, 5}, DType::f64))), Error);
  CHECK_THROWS_AS(learnable_mapping(x, graph.input(Tensor::zeros({3, 5})), nullptr, 0.0), Error);
  CHECK_THROWS_AS(learnable_mapping(x, graph.input(Tensor::zeros({3}))), Error);
}

TEST_CASE("learnable_mapping dW and dx match the naive dense-softmax reference (f64 and f32)") {
  for (DType dt : {DType::f64, DType::f32}) {
    for (bool binary : {true, false}) {
      for (double tau : {1e-3, 1e-2, 1.0}) {
        CAPTURE(dtype_name(dt));
        CAPTURE(binary);
        CAPTURE(tau);
        Generator gen(11);
        const int64_t B = 6, F = 40, S = 150;
        // Scores spread over ~100 tau so columns have both near-max rows and rows far beyond the
        // cutoff.
        Tensor w = Tensor::rand({F, S}, gen, DType::f64);
        std::vector<double> wv = w.to_vector<double>();
        for (double& e : wv) e *= 100.0 * std::min(tau, 1e-2);
        w = Tensor::from_vector(wv, {F, S}).to(dt);
        const Tensor x = binary ? binary_tensor({B, F}, gen, dt) : Tensor::rand({B, F}, gen, dt);
        const Tensor g = Tensor::randn({B, S}, gen, dt);
        StandardResult r = run_standard(x, w, g, tau, true);
        const auto xs = as_f64(x), gs = as_f64(g), ws = as_f64(w);
        const bool f64 = dt == DType::f64;
        check_close_vec(as_f64(r.dw), ref_dw(xs, gs, B, F, S), f64 ? 1e-12 : 1e-5,
                        f64 ? 1e-12 : 1e-5, "dW");
        check_close_vec(as_f64(r.dx), ref_dx(ws, gs, B, F, S, tau), f64 ? 1e-13 : 1e-5,
                        f64 ? 1e-12 : 1e-4, "dx");
      }
    }
  }
}

TEST_CASE("learnable_mapping sparse softmax loses nothing measurable against the dense formula") {
  // Rows exactly at, just inside and just beyond the cutoff, plus a far tail: the dropped rows
  // weigh e^-40 (f32) / e^-60 (f64) of the max, far below one ulp of the column's mass.
  for (DType dt : {DType::f64, DType::f32}) {
    CAPTURE(dtype_name(dt));
    const double tau = 1e-3;
    const int64_t B = 3, F = 64, S = 5;
    std::vector<double> wv(static_cast<size_t>(F * S));
    Generator gen(5);
    std::vector<double> u = Tensor::rand({F, S}, gen, DType::f64).to_vector<double>();
    for (int64_t i = 0; i < F; ++i)
      for (int64_t s = 0; s < S; ++s)
        wv[i * S + s] = 1.0 - tau * (static_cast<double>(i) + u[i * S + s]);  // gaps ~ tau
    const Tensor w = Tensor::from_vector(wv, {F, S}).to(dt);
    const Tensor x = binary_tensor({B, F}, gen, dt);
    const Tensor g = Tensor::randn({B, S}, gen, dt);
    StandardResult r = run_standard(x, w, g, tau, true);
    double gmax = 0.0;
    for (double e : as_f64(g)) gmax = std::max(gmax, std::abs(e));
    const double tol = (dt == DType::f64 ? 1e-15 : 1e-6) * gmax;
    check_close_vec(as_f64(r.dx), ref_dx(as_f64(w), as_f64(g), B, F, S, tau), tol, 0.0, "dx");
  }
}

TEST_CASE("learnable_mapping backward twice without zeroing gives exactly twice the gradients") {
  Generator gen(3);
  const int64_t B = 9, F = 20, S = 33;
  const Tensor x = Tensor::rand({B, F}, gen), w = learnable_mapping_init(F, S, gen);
  const Tensor g = Tensor::randn({B, S}, gen);
  Graph graph;
  Parameter p;
  p.value = w;
  Var xv = graph.input(x, "x", true);
  Var out = learnable_mapping(xv, graph.param(p), nullptr, 1e-2);
  graph.backward(out, g);
  const std::vector<float> dw1 = p.grad.to_vector<float>();
  const std::vector<float> dx1 = graph.grad(xv).to_vector<float>();
  graph.backward(out, g);
  const std::vector<float> dw2 = p.grad.to_vector<float>();
  bool doubled = true;
  for (size_t k = 0; k < dw1.size(); ++k) doubled = doubled && dw2[k] == 2.0f * dw1[k];
  CHECK(doubled);
  // Input gradients are fresh per backward; the parameter's is the accumulating one.
  CHECK(graph.grad(xv).to_vector<float>() == dx1);
}

TEST_CASE(
    "learnable_mapping forward reuses the argmax only while the fused update vouches for it") {
  Generator gen(21);
  const int64_t B = 4, F = 10, S = 12;
  auto state = make_learnable_mapping_state();
  Parameter p;
  p.value = learnable_mapping_init(F, S, gen);
  const Tensor x = Tensor::rand({B, F}, gen);
  {
    Graph graph;
    learnable_mapping(graph.input(x), graph.param(p), state);
    CHECK(!state->argmax_fresh);  // a forward alone never vouches for later values of W
  }
  // Change W in place (like an ordinary optimizer would): the next forward must see it.
  Tensor w2 = Tensor::rand({F, S}, gen);
  p.value.copy_(w2);
  Graph graph;
  Var out = learnable_mapping(graph.input(x), graph.param(p), state);
  CHECK(state->argmax.to_vector<int32_t>() == ref_argmax(as_f64(w2), F, S));
  (void)out;

  // After a fused step the cached argmax is fresh and equals the argmax of the new W.
  p.custom_update = make_learnable_mapping_update(state);
  Tensor m = Tensor::zeros({F, S}), v = Tensor::zeros({F, S});
  OptimizerStep st;
  st.lr = 0.05;
  st.step = 1;
  st.state[0] = &m;
  st.state[1] = &v;
  p.custom_update(p, st);  // no stash: a zero-gradient step
  CHECK(state->argmax_fresh);
  CHECK(state->argmax.to_vector<int32_t>() == ref_argmax(as_f64(p.value), F, S));
  state->invalidate();
  CHECK(!state->argmax_fresh);
}

// B picks the table layout: one chunk of B samples (B <= 8), chunks of 6 (C = 6, 9, 11 chunks at
// B = 32, 50, 64, the last one partial), or the GEMM product (B > 64).
TEST_CASE("learnable_mapping fused Adam equals standard dW + reference Adam, B = 1 to 100") {
  for (int64_t B : {1, 7, 8, 32, 50, 64, 100})
    compare_fused_with_reference(B, 37, 50, FusedCase{}, 4, 1e-6);
}

TEST_CASE("learnable_mapping fused update: wide columns, AdamW, L2, clamp, SGD, non-binary x") {
  SUBCASE("more columns than one block, arbitrary f32 gradients") {
    FusedCase fc;
    fc.grid = false;
    compare_fused_with_reference(13, 29, 2500, fc, 3, 2e-6);
  }
  SUBCASE("AdamW with a clamp") {
    FusedCase fc;
    fc.decoupled = true;
    fc.weight_decay = 0.1;
    fc.lr = 0.2;
    fc.lo = 0.0;
    fc.hi = 1.0;
    compare_fused_with_reference(7, 23, 40, fc, 4, 1e-6);
  }
  SUBCASE("Adam with L2 weight decay") {
    FusedCase fc;
    fc.weight_decay = 0.05;
    compare_fused_with_reference(32, 23, 40, fc, 3, 1e-6);
  }
  SUBCASE("SGD with momentum and weight decay") {
    FusedCase fc;
    fc.kind = OptimizerStep::Kind::sgd;
    fc.lr = 0.01;
    fc.momentum = 0.9;
    fc.weight_decay = 1e-3;
    compare_fused_with_reference(7, 23, 40, fc, 3, 1e-6);
  }
  SUBCASE("plain SGD") {
    FusedCase fc;
    fc.kind = OptimizerStep::Kind::sgd;
    fc.lr = 0.01;
    compare_fused_with_reference(100, 23, 40, fc, 2, 1e-6);
  }
  SUBCASE("non-binary x takes the exact dense fallback") {
    FusedCase fc;
    fc.binary = false;
    fc.grid = false;
    compare_fused_with_reference(10, 23, 40, fc, 3, 2e-6);
  }
}

TEST_CASE("learnable_mapping fused update accumulates two backward passes before a step") {
  Generator gen(31);
  const int64_t B = 5, F = 16, S = 24;
  const Tensor w0 = learnable_mapping_init(F, S, gen);
  const Tensor x1 = binary_tensor({B, F}, gen, DType::f32),
               x2 = binary_tensor({B, F}, gen, DType::f32);
  const Tensor g1 = grid_tensor({B, S}, gen, DType::f32), g2 = grid_tensor({B, S}, gen, DType::f32);
  auto state = make_learnable_mapping_state();
  Parameter p;
  p.value = w0.clone();
  p.custom_update = make_learnable_mapping_update(state);
  for (int k = 0; k < 2; ++k) {
    Graph graph;
    Var out = learnable_mapping(graph.input(k == 0 ? x1 : x2), graph.param(p), state);
    graph.backward(out, k == 0 ? g1 : g2);
  }
  CHECK(state->stash.size() == 2);
  Tensor m = Tensor::zeros({F, S}), v = Tensor::zeros({F, S});
  OptimizerStep st;
  st.lr = 1e-2;
  st.step = 1;
  st.state[0] = &m;
  st.state[1] = &v;
  p.custom_update(p, st);

  std::vector<double> dw = as_f64(run_standard(x1, w0, g1, 1e-3, false).dw);
  const std::vector<double> dw2 = as_f64(run_standard(x2, w0, g2, 1e-3, false).dw);
  for (size_t k = 0; k < dw.size(); ++k) dw[k] += dw2[k];
  std::vector<double> rw = as_f64(w0), rm(rw.size(), 0.0), rv(rw.size(), 0.0);
  ref_step(rw, rm, rv, dw, st, -INFINITY, INFINITY);
  check_close_vec(as_f64(p.value), rw, 1e-7, 1e-6, "W");
  check_close_vec(as_f64(m), rm, 1e-9, 1e-6, "m");
}

TEST_CASE("learnable_mapping fused path without a state is a clear error") {
  Generator gen(1);
  Parameter p;
  p.value = learnable_mapping_init(4, 6, gen);
  p.custom_update = [](Parameter&, const OptimizerStep&) {};
  Graph graph;
  Var out = learnable_mapping(graph.input(Tensor::zeros({2, 4})), graph.param(p));
  CHECK_THROWS_WITH_AS(graph.backward(out, Tensor::ones({2, 6})),
                       doctest::Contains("LearnableMappingState"), Error);
}

TEST_CASE("learnable_mapping fused update and backward are bit-identical across runs and threads") {
  const int64_t B = 19, F = 41, S = 2100;
  auto run = [&](int threads) {
    set_num_threads(threads);
    Generator gen(77);
    auto state = make_learnable_mapping_state();
    Parameter p;
    p.value = learnable_mapping_init(F, S, gen);
    p.custom_update = make_learnable_mapping_update(state);
    Tensor m = Tensor::zeros({F, S}), v = Tensor::zeros({F, S});
    std::vector<Tensor> outs;
    for (int step = 1; step <= 3; ++step) {
      const Tensor x = binary_tensor({B, F}, gen, DType::f32);
      const Tensor g = Tensor::randn({B, S}, gen);
      Graph graph;
      Var xv = graph.input(x, "x", true);
      Var out = learnable_mapping(xv, graph.param(p), state, 1e-2);
      graph.backward(out, g);
      outs.push_back(graph.grad(xv).clone());
      OptimizerStep st;
      st.lr = 1e-2;
      st.step = step;
      st.state[0] = &m;
      st.state[1] = &v;
      p.custom_update(p, st);
    }
    // Non-binary x through the standard path too.
    const Tensor xr = Tensor::rand({B, F}, gen), gr = Tensor::randn({B, S}, gen);
    StandardResult sr = run_standard(xr, p.value, gr, 1e-2, true);
    outs.push_back(p.value.clone());
    outs.push_back(m.clone());
    outs.push_back(v.clone());
    outs.push_back(state->argmax.clone());
    outs.push_back(sr.dw);
    outs.push_back(sr.dx);
    return outs;
  };
  const int saved = num_threads();
  const std::vector<Tensor> a = run(saved), b = run(saved), c = run(1);
  set_num_threads(saved);
  REQUIRE(a.size() == b.size());
  for (size_t k = 0; k < a.size(); ++k) {
    CAPTURE(k);
    check_equal(a[k], b[k]);
    check_equal(a[k], c[k]);
  }
}
