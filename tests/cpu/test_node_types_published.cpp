// The node types added from the public DiffLUT (fourier, warp, dwn_stable, probabilistic_stable,
// gradient_stabilized): soft forward against the published formulas written naively, truth tables
// against the published eval rules, the published initialisations, and warp as a multilinear node
// (equal to unbound_probabilistic on the Walsh transform of its coefficients). Their gradients:
// tests/gradcheck/test_node_types_grad.cpp.
#include <algorithm>
#include <cmath>
#include <vector>

#include "autograd/graph.h"
#include "lut/node_registry.h"
#include "lut/nodes/node_types.h"
#include "test_util.h"

using namespace difflut;

namespace {

double sig(double z) { return 1.0 / (1.0 + std::exp(-z)); }

Tensor uniform(const Shape& shape, Generator& gen, double lo, double hi) {
  std::vector<double> v = Tensor::rand(shape, gen, DType::f64).to_vector<double>();
  for (double& e : v) e = lo + (hi - lo) * e;
  return Tensor::from_vector(v, shape);
}

std::vector<double> run(const NodeType& t, const Tensor& x, const Tensor& p, int k, bool training) {
  Graph g;
  return t.apply(g.input(x), g.input(p), k, training).value().to_vector<double>();
}

// Unclamped fourier sum b + Σ_f a_f / (Σ a + 1e-8) cos(π Σ_{l ∈ f} x_l + φ_f).
double fourier_raw(const double* x, const double* p, int k, double A, bool signed_sum = false) {
  const unsigned F = 1u << k;
  double S = 0, y = p[2 * F];
  for (unsigned f = 0; f < F; ++f) S += signed_sum ? p[f] : std::abs(p[f]);
  for (unsigned f = 0; f < F; ++f) {
    double dot = 0;
    for (int l = 0; l < k; ++l) dot += ((f >> l) & 1u) ? x[l] : 0.0;
    y += A * p[f] / (S + 1e-8) * std::cos(M_PI * dot + p[F + f]);
  }
  return y;
}

// Σ_S c_S Π_{l ∈ S} (2x_l − 1).
double walsh_sum(const double* x, const double* c, int k) {
  double z = 0;
  for (unsigned S = 0; S < (1u << k); ++S) {
    double m = c[S];
    for (int l = 0; l < k; ++l)
      if ((S >> l) & 1u) m *= 2 * x[l] - 1;
    z += m;
  }
  return z;
}

std::vector<double> bits_of(unsigned a, int k) {
  std::vector<double> b(static_cast<size_t>(k));
  for (int l = 0; l < k; ++l) b[static_cast<size_t>(l)] = double((a >> l) & 1u);
  return b;
}

Tensor init_params(const NodeType& t, int64_t N, int k, uint64_t seed) {
  Tensor p = Tensor::empty({N, t.num_params(k)}, DType::f64);
  Generator gen(seed);
  t.init(p, k, gen);
  return p;
}

}  // namespace

TEST_CASE("fourier: parameter count 2·2^k + 1, published initialisation, soft forward and eval") {
  NodeOptions unit, published;
  unit.max_amplitude = 1.0;
  published.max_amplitude = 0.5;
  // The registered type has the default A = 8, the published node A = ½; A = 1 is what
  // checkpoints written before the option existed trained with.
  for (const auto& [t, A] : {std::pair{find_node_type("fourier"), 8.0},
                             std::pair{make_node_type("fourier", published), 0.5},
                             std::pair{make_node_type("fourier", unit), 1.0}})
    for (int k : {1, 3, 6}) {
      CAPTURE(k);
      CAPTURE(A);
      const int64_t N = 4, B = 9, F = int64_t{1} << k;
      REQUIRE(t->num_params(k) == 2 * F + 1);
      const Tensor p = init_params(*t, N, k, 3 + k);
      const auto pv = p.to_vector<double>();
      for (int64_t j = 0; j < N; ++j) {
        const double* pj = pv.data() + j * (2 * F + 1);
        for (int64_t f = 0; f < F; ++f) {
          CHECK((pj[f] >= 0 && pj[f] < 0.1));
          CHECK((pj[F + f] >= -M_PI && pj[F + f] <= M_PI));
        }
        CHECK(pj[2 * F] == 0.5);
      }
      Generator gen(k);
      const Tensor x = uniform({B, N * k}, gen, 0, 1);
      const auto xv = x.to_vector<double>();
      const auto y = run(*t, x, p, k, true);
      for (int64_t b = 0; b < B; ++b)
        for (int64_t j = 0; j < N; ++j) {
          const double want = std::clamp(
              fourier_raw(xv.data() + (b * N + j) * k, pv.data() + j * (2 * F + 1), k, A), 0.0,
              1.0);
          CHECK(y[static_cast<size_t>(b * N + j)] == doctest::Approx(want).epsilon(1e-12));
        }
      // Eval: the unclamped sum at the address's bits against ½.
      const auto tt = t->truth_table(p, k).to_vector<uint8_t>();
      for (int64_t j = 0; j < N; ++j)
        for (unsigned a = 0; a < F; ++a) {
          const auto bits = bits_of(a, k);
          const double v = fourier_raw(bits.data(), pv.data() + j * (2 * F + 1), k, A);
          if (std::abs(v - 0.5) > 1e-9) CHECK(tt[static_cast<size_t>(j * F + a)] == (v >= 0.5));
        }
    }
}

TEST_CASE(
    "fourier: amplitudes of both signs normalised by Σ |a| (bounded) by default, by Σ a with "
    "signed_amplitudes (the published code)") {
  const int k = 2;
  // Σ a = 0.1, Σ |a| = 1.1: the published normalisation multiplies every amplitude by 10.
  const std::vector<double> pv = {0.6, -0.5, 0.0, 0.0, 0.3, -1.2, 0.0, 0.0, 0.5};
  const Tensor p = Tensor::from_vector(pv, {1, 9});
  const Tensor x = Tensor::from_vector(std::vector<double>{0.25, 0.6}, {1, 2});
  const auto xv = x.to_vector<double>();
  for (bool signed_sum : {false, true}) {
    CAPTURE(signed_sum);
    NodeOptions o;
    o.signed_amplitudes = signed_sum;
    o.max_amplitude = 0.5;
    auto t = make_node_type("fourier", o);
    const double want = std::clamp(fourier_raw(xv.data(), pv.data(), k, 0.5, signed_sum), 0.0, 1.0);
    CHECK(run(*t, x, p, k, true)[0] == doctest::Approx(want).epsilon(1e-12));
    const auto tt = t->truth_table(p, k).to_vector<uint8_t>();
    for (unsigned a = 0; a < 4; ++a) {
      const auto bits = bits_of(a, k);
      CHECK(tt[a] == (fourier_raw(bits.data(), pv.data(), k, 0.5, signed_sum) >= 0.5));
    }
  }
}

TEST_CASE("fourier's output is clamped to [0, 1] and its gradient is 0 where the clamp holds") {
  auto t = find_node_type("fourier");
  const int k = 2;
  // One frequency carries everything: a = (1, 0, 0, 0), φ_0 = 0, b = 0.9 -> raw = 0.9 + A > 1.
  const Tensor p = Tensor::from_vector(std::vector<double>{1, 0, 0, 0, 0, 0, 0, 0, 0.9}, {1, 9});
  const Tensor x = Tensor::from_vector(std::vector<double>{0.3, 0.7}, {1, 2});
  CHECK(run(*t, x, p, k, true)[0] == 1.0);
  Graph g;
  Var vx = g.input(x, "x", true);
  Var vp = g.input(p, "p", true);
  g.backward(t->apply(vx, vp, k, true), Tensor::ones({1, 1}, DType::f64));
  for (double v : g.grad(vx).to_vector<double>()) CHECK(v == 0.0);
  for (double v : g.grad(vp).to_vector<double>()) CHECK(v == 0.0);
}

TEST_CASE(
    "warp: σ of the Walsh sum over signed inputs; eval its sign at the bits; equal to "
    "unbound_probabilistic on the Walsh-transformed table") {
  NodeOptions cold;
  cold.temperature = 0.7;
  auto t = make_node_type("warp", cold);
  auto unbound = find_node_type("unbound_probabilistic");
  for (int k : {1, 3, 6}) {
    CAPTURE(k);
    const int64_t N = 3, B = 7, K = int64_t{1} << k;
    REQUIRE(t->num_params(k) == K);
    Generator gen(40 + k);
    const Tensor c = uniform({N, K}, gen, -1, 1);
    const auto cv = c.to_vector<double>();
    const Tensor x = uniform({B, N * k}, gen, 0, 1);
    const auto xv = x.to_vector<double>();
    const auto y = run(*t, x, c, k, true);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < N; ++j) {
        const double want = sig(walsh_sum(xv.data() + (b * N + j) * k, cv.data() + j * K, k) / 0.7);
        CHECK(y[static_cast<size_t>(b * N + j)] == doctest::Approx(want).epsilon(1e-12));
      }
    // Corner values w_a = Walsh sum at bits(a), divided by T, make unbound_probabilistic the same node.
    std::vector<double> w(static_cast<size_t>(N * K));
    for (int64_t j = 0; j < N; ++j)
      for (unsigned a = 0; a < K; ++a) {
        const auto bits = bits_of(a, k);
        w[static_cast<size_t>(j * K + a)] = walsh_sum(bits.data(), cv.data() + j * K, k);
      }
    std::vector<double> w_t = w;
    for (double& v : w_t) v /= 0.7;
    const auto yu = run(*unbound, x, Tensor::from_vector(w_t, {N, K}), k, true);
    for (size_t i = 0; i < y.size(); ++i) CHECK(y[i] == doctest::Approx(yu[i]).epsilon(1e-12));
    const auto tt = t->truth_table(c, k).to_vector<uint8_t>();
    for (size_t i = 0; i < w.size(); ++i)
      if (std::abs(w[i]) > 1e-12) CHECK(tt[i] == (w[i] >= 0));
  }
  CHECK_THROWS_WITH_AS(make_node_type("warp",
                                      [] {
                                        NodeOptions o;
                                        o.temperature = 0;
                                        return o;
                                      }()),
                       doctest::Contains("warp: expected temperature > 0, found 0"), Error);
}

TEST_CASE("dwn_stable: forward σ(θ) at the binarised address, eval the sign of θ there") {
  auto t = find_node_type("dwn_stable");
  const int k = 4;
  const int64_t N = 3, B = 11, K = 16;
  Generator gen(77);
  const Tensor theta = uniform({N, K}, gen, -2, 2);
  const auto th = theta.to_vector<double>();
  const Tensor x = uniform({B, N * k}, gen, 0, 1);
  const auto xv = x.to_vector<double>();
  const auto y = run(*t, x, theta, k, true);
  const auto ye = run(*t, x, theta, k, false);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < N; ++j) {
      unsigned a = 0;
      for (int l = 0; l < k; ++l)
        a |= (xv[static_cast<size_t>((b * N + j) * k + l)] >= 0.5 ? 1u : 0u) << l;
      const double v = th[static_cast<size_t>(j * K + a)];
      CHECK(y[static_cast<size_t>(b * N + j)] == doctest::Approx(sig(v)).epsilon(1e-14));
      CHECK(ye[static_cast<size_t>(b * N + j)] == (v >= 0 ? 1.0 : 0.0));
    }
}

TEST_CASE(
    "probabilistic_stable and gradient_stabilized: forwards and truth tables are those of "
    "probabilistic (T = 1) and hybrid; published initialisations") {
  const int k = 5;
  const int64_t N = 4, B = 13, K = 32;
  Generator gen(5);
  const Tensor theta = uniform({N, K}, gen, -2, 2);
  const Tensor x = uniform({B, N * k}, gen, 0, 1);
  const std::pair<const char*, const char*> pairs[] = {{"probabilistic_stable", "probabilistic"},
                                                       {"gradient_stabilized", "hybrid"}};
  for (const auto& [name, twin] : pairs) {
    CAPTURE(name);
    auto t = find_node_type(name);
    auto u = find_node_type(twin);
    REQUIRE(t->num_params(k) == K);
    const auto y = run(*t, x, theta, k, true), yu = run(*u, x, theta, k, true);
    for (size_t i = 0; i < y.size(); ++i) CHECK(y[i] == doctest::Approx(yu[i]).epsilon(1e-14));
    CHECK(run(*t, x, theta, k, false) == run(*u, x, theta, k, false));
    CHECK(t->truth_table(theta, k).to_vector<uint8_t>() ==
          u->truth_table(theta, k).to_vector<uint8_t>());
  }
  // θ ~ N(0, 2/(2^k + 1)) and N(0, 0.05²): the sample standard deviations of 4000 · 32 draws.
  auto sd = [](const Tensor& p) {
    const auto v = p.to_vector<double>();
    double m = 0, s = 0;
    for (double e : v) m += e;
    m /= static_cast<double>(v.size());
    for (double e : v) s += (e - m) * (e - m);
    return std::sqrt(s / static_cast<double>(v.size()));
  };
  CHECK(sd(init_params(*find_node_type("probabilistic_stable"), 4000, k, 1)) ==
        doctest::Approx(std::sqrt(2.0 / 33)).epsilon(0.01));
  CHECK(sd(init_params(*find_node_type("gradient_stabilized"), 4000, k, 2)) ==
        doctest::Approx(0.05).epsilon(0.01));
}
