// Gradients of the built-in node types: float64 finite differences for every smooth node at
// interior inputs (input and parameter gradients), the exact input derivative of the probabilistic
// family at binary inputs against a naive scalar formula (no division by x), hybrid's surrogate
// gradients, and the regularisers.
#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "lut/node_ops.h"
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

Tensor init_params(const NodeType& t, int64_t N, int k, uint64_t seed) {
  Tensor p = Tensor::empty({N, t.num_params(k)}, DType::f64);
  Generator gen(seed);
  t.init(p, k, gen);
  return p;
}

struct Case {
  std::string name;
  NodeOptions opts;
  std::vector<int> ks;
};

std::vector<Case> smooth_cases() {
  NodeOptions d3;
  d3.degree = 3;
  NodeOptions deep;
  deep.depth = 4;
  deep.hidden_width = 5;
  deep.skip_interval = 1;
  NodeOptions shallow;
  shallow.depth = 1;
  NodeOptions cold;
  cold.temperature = 0.5;
  NodeOptions loud;
  loud.max_amplitude = 1.3;
  NodeOptions published;
  published.signed_amplitudes = true;
  // Every built-in type of the registry with default options, except those whose backward is not
  // the gradient of their forward (their gradients have their own tests below): hybrid,
  // dwn_stable and gradient_stabilized look up a table (not smooth in x), probabilistic_stable
  // rescales its input gradient ...
  const std::vector<std::string> surrogate = {"hybrid", "dwn_stable", "gradient_stabilized",
                                              "probabilistic_stable"};
  std::vector<Case> cases;
  for (const auto& t : builtin_node_types())
    if (std::find(surrogate.begin(), surrogate.end(), t->name()) == surrogate.end())
      cases.push_back({t->name(),
                       {},
                       t->name() == "difflogic" ? std::vector<int>{2} : std::vector<int>{1, 3, 6}});
  // ... and the options that change the math.
  cases.push_back({"polylut", d3, {2, 4}});
  cases.push_back({"neurallut", deep, {3}});
  cases.push_back({"neurallut", shallow, {4}});
  cases.push_back({"probabilistic", cold, {4}});
  cases.push_back({"warp", cold, {3}});
  cases.push_back({"fourier", loud, {3}});
  cases.push_back({"fourier", published, {3}});
  return cases;
}

// Naive input derivative of the multilinear extension of w at x: Σ_a w_a (2a_l − 1) Π_{j≠l} p_j(a_j).
double naive_ml_dx(const std::vector<double>& w, const double* x, int k, int l) {
  double s = 0;
  for (unsigned a = 0; a < (1u << k); ++a) {
    double p = ((a >> l) & 1) ? 1.0 : -1.0;
    for (int j = 0; j < k; ++j)
      if (j != l) p *= ((a >> j) & 1) ? x[j] : 1 - x[j];
    s += w[a] * p;
  }
  return s;
}

double naive_ml(const std::vector<double>& w, const double* x, int k) {
  double s = 0;
  for (unsigned a = 0; a < (1u << k); ++a) {
    double p = 1;
    for (int j = 0; j < k; ++j) p *= ((a >> j) & 1) ? x[j] : 1 - x[j];
    s += w[a] * p;
  }
  return s;
}

// One training forward and backward of `type` on x [B, N*k] and its parameters with the output seed
// [B, N]: the input and parameter gradients as f64 vectors.
std::pair<std::vector<double>, std::vector<double>> training_grads(const NodeType& type,
                                                                   const Tensor& x,
                                                                   const Tensor& params,
                                                                   const Tensor& seed, int k) {
  Graph g;
  Var vx = g.input(x, "x", true);
  Var vp = g.input(params, "theta", true);
  g.backward(type.apply(vx, vp, k, true), seed);
  return {g.grad(vx).to_vector<double>(), g.grad(vp).to_vector<double>()};
}

}  // namespace

TEST_CASE("every smooth node type passes f64 gradcheck in x (interior inputs) and params") {
  for (const Case& cs : smooth_cases()) {
    auto t = make_node_type(cs.name, cs.opts);
    for (int k : cs.ks) {
      CAPTURE(cs.name);
      CAPTURE(k);
      const int64_t B = 3, N = 2;
      Generator gen(100 + k);
      const Tensor x = uniform({B, N * k}, gen, 0.1, 0.9);
      Tensor p = init_params(*t, N, k, 7 + k);
      if (cs.name == "linear_lut" || cs.name == "polylut") p = uniform(p.shape(), gen, -1, 1);
      GradcheckResult r = gradcheck(
          [&](Graph&, const std::vector<Var>& v) { return t->apply(v[0], v[1], k, true); }, {x, p});
      CHECK_MESSAGE(r.ok, r.report);
    }
  }
}

TEST_CASE(
    "probabilistic family: exact input derivative at binary and mixed inputs equals the naive "
    "formula (never divides by x)") {
  const int k = 4;
  const int64_t N = 3;
  Generator gen(21);
  // Rows: all-binary addresses, then rows mixing binary entries with interior ones.
  std::vector<double> xv;
  for (unsigned a = 0; a < 16; ++a)
    for (int64_t j = 0; j < N; ++j)
      for (int l = 0; l < k; ++l) xv.push_back(double(((a + static_cast<unsigned>(j)) >> l) & 1));
  const std::vector<double> mixed = uniform({4, N * k}, gen, 0, 1).to_vector<double>();
  for (size_t i = 0; i < mixed.size(); ++i) xv.push_back(i % 3 == 0 ? double(i % 2) : mixed[i]);
  const int64_t B = static_cast<int64_t>(xv.size()) / (N * k);
  const Tensor x = Tensor::from_vector(xv, {B, N * k});
  const Tensor theta = uniform({N, 16}, gen, -2, 2);
  const auto th = theta.to_vector<double>();
  const Tensor seed = uniform({B, N}, gen, -1, 1);
  const auto sv = seed.to_vector<double>();
  for (const char* name : {"probabilistic", "unbound_probabilistic", "hybrid"}) {
    CAPTURE(name);
    auto t = find_node_type(name);
    const auto [gx, gp] = training_grads(*t, x, theta, seed, k);
    std::vector<double> want_gp(gp.size(), 0.0);
    bool ok = true;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < N; ++j) {
        const double* xi = xv.data() + (b * N + j) * k;
        std::vector<double> w(16);
        for (int a = 0; a < 16; ++a) {
          const double th_a = th[static_cast<size_t>(j * 16 + a)];
          w[static_cast<size_t>(a)] =
              std::string(name) == "unbound_probabilistic" ? th_a : sig(th_a);
        }
        double scale = 1;  // unbound: chain through the output sigmoid
        if (std::string(name) == "unbound_probabilistic") {
          const double y = sig(naive_ml(w, xi, k));
          scale = y * (1 - y);
        }
        const double gv = sv[static_cast<size_t>(b * N + j)] * scale;
        for (int l = 0; l < k; ++l) {
          const double want = gv * naive_ml_dx(w, xi, k, l);
          const double got = gx[static_cast<size_t>((b * N + j) * k + l)];
          ok &= std::isfinite(got) && std::abs(got - want) <= 1e-12 * (1 + std::abs(want));
        }
        for (unsigned a = 0; a < 16; ++a) {
          double pr = 1;
          for (int l = 0; l < k; ++l) pr *= ((a >> l) & 1) ? xi[l] : 1 - xi[l];
          const double dw = std::string(name) == "unbound_probabilistic" ? 1.0 : w[a] * (1 - w[a]);
          want_gp[static_cast<size_t>(j * 16 + a)] += gv * pr * dw;
        }
      }
    CHECK(ok);
    for (size_t i = 0; i < gp.size(); ++i)
      CHECK(gp[i] == doctest::Approx(want_gp[i]).epsilon(1e-11).scale(1));
  }
}

TEST_CASE(
    "probabilistic input derivative at a binary corner is the difference of the two "
    "neighbouring table values") {
  // At x = bits(a), d/dx_l Σ_a' w_a' Pr(a'|x) = w(a with bit l = 1) − w(a with bit l = 0).
  const int k = 3;
  Generator gen(22);
  const Tensor theta = uniform({1, 8}, gen, -2, 2);
  const auto th = theta.to_vector<double>();
  auto t = find_node_type("probabilistic");
  for (unsigned a = 0; a < 8; ++a) {
    std::vector<double> xv(k);
    for (int l = 0; l < k; ++l) xv[static_cast<size_t>(l)] = double((a >> l) & 1);
    Graph g;
    Var vx = g.input(Tensor::from_vector(xv, {1, k}), "x", true);
    g.backward(t->apply(vx, g.input(theta), k, true), Tensor::ones({1, 1}, DType::f64));
    const auto gx = g.grad(vx).to_vector<double>();
    for (int l = 0; l < k; ++l)
      CHECK(gx[static_cast<size_t>(l)] ==
            doctest::Approx(sig(th[a | (1u << l)]) - sig(th[a & ~(1u << l)])).epsilon(1e-15));
  }
}

TEST_CASE("hybrid's parameter gradient is exact at binary inputs (gradcheck in params)") {
  auto t = find_node_type("hybrid");
  for (int k : {1, 3, 6}) {
    CAPTURE(k);
    const int64_t B = 5, N = 2;
    Generator gen(30 + k);
    std::vector<double> xv = Tensor::rand({B, N * k}, gen, DType::f64).to_vector<double>();
    for (double& v : xv) v = v < 0.5 ? 0.0 : 1.0;
    const Tensor x = Tensor::from_vector(xv, {B, N * k});
    const Tensor p = uniform({N, int64_t{1} << k}, gen, -1, 1);
    GradcheckOptions o;
    o.check_inputs = {1};
    GradcheckResult r =
        gradcheck([&](Graph&, const std::vector<Var>& v) { return t->apply(v[0], v[1], k, true); },
                  {x, p}, o);
    CHECK_MESSAGE(r.ok, r.report);
  }
}

TEST_CASE(
    "dwn_stable: parameter gradient is 1.25 times the exact one at binary inputs; input "
    "gradient is the 1/(H + 1)-weighted EFD of the sigmoid table") {
  auto t = find_node_type("dwn_stable");
  const double scale = 1.25;
  for (int k : {1, 3, 6}) {
    CAPTURE(k);
    const int64_t B = 7, N = 3, K = int64_t{1} << k;
    Generator gen(60 + k);
    const Tensor x = uniform({B, N * k}, gen, 0, 1);  // soft inputs: the address binarises them
    const auto xv = x.to_vector<double>();
    const Tensor theta = uniform({N, K}, gen, -2, 2);
    const auto th = theta.to_vector<double>();
    const Tensor seed = uniform({B, N}, gen, -1, 1);
    const auto sv = seed.to_vector<double>();
    const auto [gx, gp] = training_grads(*t, x, theta, seed, k);
    std::vector<double> want_gp(gp.size(), 0.0);
    bool ok = true;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < N; ++j) {
        const double* xi = xv.data() + (b * N + j) * k;
        unsigned addr = 0;
        for (int l = 0; l < k; ++l) addr |= (xi[l] >= 0.5 ? 1u : 0u) << l;
        const double gv = scale * sv[static_cast<size_t>(b * N + j)];
        const double q = sig(th[static_cast<size_t>(j * K + addr)]);
        want_gp[static_cast<size_t>(j * K + addr)] += gv * q * (1 - q);
        for (int l = 0; l < k; ++l) {
          double want = 0;
          for (unsigned a = 0; a < K; ++a) {
            const int h = __builtin_popcount((a ^ addr) & ~(1u << l));
            want +=
                (((a >> l) & 1) ? 1.0 : -1.0) * sig(th[static_cast<size_t>(j * K + a)]) / (h + 1);
          }
          want *= gv;
          const double got = gx[static_cast<size_t>((b * N + j) * k + l)];
          ok &= std::abs(got - want) <= 1e-12 * (1 + std::abs(want));
        }
      }
    CHECK(ok);
    for (size_t i = 0; i < gp.size(); ++i)
      CHECK(gp[i] == doctest::Approx(want_gp[i]).epsilon(1e-12).scale(1));
  }
}

TEST_CASE(
    "probabilistic_stable: exact parameter gradient (gradcheck), input gradient the exact one "
    "rescaled to ln(1 + k)·|g| in L1 norm, the scale clamped to [0.1, 10]") {
  auto t = find_node_type("probabilistic_stable");
  for (int k : {1, 3, 6}) {
    CAPTURE(k);
    const int64_t B = 5, N = 3, K = int64_t{1} << k;
    Generator gen(80 + k);
    Tensor x = uniform({B, N * k}, gen, 0.05, 0.95);
    std::vector<double> xv = x.to_vector<double>();
    for (size_t i = 0; i < xv.size(); i += 5) xv[i] = double(i % 2);  // some binary inputs
    x = Tensor::from_vector(xv, {B, N * k});
    const Tensor theta = init_params(*t, N, k, 90 + k);
    const auto th = theta.to_vector<double>();
    // Output gradients: a tiny one (its scale is clamped to 0.1) and a zero one among random ones.
    std::vector<double> sv = uniform({B, N}, gen, -1, 1).to_vector<double>();
    sv[0] = 1e-9;
    sv[1] = 0.0;
    const Tensor seed = Tensor::from_vector(sv, {B, N});
    GradcheckResult r =
        gradcheck([&](Graph&, const std::vector<Var>& v) { return t->apply(v[0], v[1], k, true); },
                  {x, theta}, {.check_inputs = {1}});
    CHECK_MESSAGE(r.ok, r.report);
    Graph g;
    Var vx = g.input(x, "x", true);
    Var vp = g.input(theta, "theta", false);
    g.backward(t->apply(vx, vp, k, true), seed);
    const auto gx = g.grad(vx).to_vector<double>();
    bool ok = true;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < N; ++j) {
        std::vector<double> w(static_cast<size_t>(K));
        for (int64_t a = 0; a < K; ++a)
          w[static_cast<size_t>(a)] = sig(th[static_cast<size_t>(j * K + a)]);
        const double* xi = xv.data() + (b * N + j) * k;
        const double gj = sv[static_cast<size_t>(b * N + j)];
        std::vector<double> raw(static_cast<size_t>(k));
        double l1 = 0;
        for (int l = 0; l < k; ++l) {
          raw[static_cast<size_t>(l)] = gj * naive_ml_dx(w, xi, k, l);
          l1 += std::abs(raw[static_cast<size_t>(l)]);
        }
        const double scale = std::clamp(std::log(1.0 + k) * std::abs(gj) / (l1 + 1e-6), 0.1, 10.0);
        for (int l = 0; l < k; ++l) {
          const double want = scale * raw[static_cast<size_t>(l)];
          const double got = gx[static_cast<size_t>((b * N + j) * k + l)];
          ok &= std::abs(got - want) <= 1e-12 * (1 + std::abs(want));
        }
      }
    CHECK(ok);
  }
}

TEST_CASE(
    "gradient_stabilized: parameter gradient exact at binary inputs; input gradient "
    "±g·clamp(1 − 2|x − ½|, 0, 1)·(max σ(θ) − min σ(θ))") {
  auto t = find_node_type("gradient_stabilized");
  for (int k : {1, 3, 6}) {
    CAPTURE(k);
    const int64_t B = 7, N = 3, K = int64_t{1} << k;
    Generator gen(70 + k);
    Tensor x = uniform({B, N * k}, gen, 0, 1);
    std::vector<double> xv = x.to_vector<double>();
    xv[0] = 0.5;  // the threshold itself counts as 1 (positive sign, full magnitude)
    if (xv.size() > 1) xv[1] = 0.0;
    x = Tensor::from_vector(xv, {B, N * k});
    const Tensor theta = uniform({N, K}, gen, -2, 2);
    const auto th = theta.to_vector<double>();
    const Tensor seed = uniform({B, N}, gen, -1, 1);
    const auto sv = seed.to_vector<double>();
    const auto [gx, gp] = training_grads(*t, x, theta, seed, k);
    std::vector<double> want_gp(gp.size(), 0.0);
    bool ok = true;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < N; ++j) {
        double lo = 1, hi = 0;
        for (int64_t a = 0; a < K; ++a) {
          lo = std::min(lo, sig(th[static_cast<size_t>(j * K + a)]));
          hi = std::max(hi, sig(th[static_cast<size_t>(j * K + a)]));
        }
        const double* xi = xv.data() + (b * N + j) * k;
        const double gj = sv[static_cast<size_t>(b * N + j)];
        unsigned addr = 0;
        for (int l = 0; l < k; ++l) addr |= (xi[l] >= 0.5 ? 1u : 0u) << l;
        const double q = sig(th[static_cast<size_t>(j * K + addr)]);
        want_gp[static_cast<size_t>(j * K + addr)] += gj * q * (1 - q);
        for (int l = 0; l < k; ++l) {
          const double near = std::clamp(1 - 2 * std::abs(xi[l] - 0.5), 0.0, 1.0);
          const double want = (xi[l] >= 0.5 ? 1.0 : -1.0) * gj * near * (hi - lo);
          const double got = gx[static_cast<size_t>((b * N + j) * k + l)];
          ok &= std::abs(got - want) <= 1e-12 * (1 + std::abs(want));
        }
      }
    CHECK(ok);
    for (size_t i = 0; i < gp.size(); ++i)
      CHECK(gp[i] == doctest::Approx(want_gp[i]).epsilon(1e-12).scale(1));
  }
}

TEST_CASE("regularisers pass gradcheck for every node type, functional and spectral") {
  std::vector<std::string> types = {"dwn"};
  for (const auto& t : builtin_node_types()) types.push_back(t->name());
  for (const auto& name : types) {
    auto t = find_node_type(name);
    for (int k : name == "difflogic" ? std::vector<int>{2} : std::vector<int>{1, 3, 5}) {
      for (LutRegularizer kind : {LutRegularizer::functional, LutRegularizer::spectral}) {
        CAPTURE(name);
        CAPTURE(k);
        CAPTURE(static_cast<int>(kind));
        Tensor p = init_params(*t, 3, k, 40 + k);
        GradcheckResult r = gradcheck(
            [&](Graph&, const std::vector<Var>& v) {
              return node_regularizer(v[0], *t, k, kind, 0.7);
            },
            {p});
        CHECK_MESSAGE(r.ok, r.report);
      }
    }
  }
}

TEST_CASE("lut_regularizer passes gradcheck on arbitrary corner values, k = 1..6") {
  for (int k = 1; k <= 6; ++k) {
    for (LutRegularizer kind : {LutRegularizer::functional, LutRegularizer::spectral}) {
      CAPTURE(k);
      Generator gen(50 + k);
      const Tensor F = uniform({int64_t{1} << k, 3}, gen, -1, 1);
      GradcheckResult r = gradcheck(
          [&](Graph&, const std::vector<Var>& v) { return lut_regularizer(v[0], k, kind); }, {F});
      CHECK_MESSAGE(r.ok, r.report);
    }
  }
}

namespace {
// Signs mixed (the published code's Σ a then differs from Σ |a|), magnitudes away from 0 (|a| has
// a kink there) and A small enough that the clamp never holds. A static table and one helper call
// per normalisation: with the whole body in the test case, its initializer-list temporary on
// ASan's fake stack (detect_stack_use_after_return=1) read from a wild address under GCC 12 in
// the sanitizer build, while the same test passed alone and without the fake stack.
constexpr double kFourierAmps[8] = {0.9, -0.3, 0.5, -0.2, 0.7, 0.4, -0.6, 0.8};

void check_fourier_gradcheck(bool signed_sum) {
  NodeOptions o;
  o.signed_amplitudes = signed_sum;
  o.max_amplitude = 0.2;
  auto t = make_node_type("fourier", o);
  const int k = 3, F = 8;
  const int64_t B = 3, N = 2;
  Generator gen(31);
  const Tensor x = uniform({B, N * k}, gen, 0.1, 0.9);
  std::vector<double> pv(static_cast<size_t>(N * (2 * F + 1)));
  for (int64_t j = 0; j < N; ++j) {
    double* pj = pv.data() + j * (2 * F + 1);
    for (int f = 0; f < F; ++f) {
      pj[f] = kFourierAmps[(f + j) % F];
      pj[F + f] = 0.7 * f - 2.5 + 0.3 * static_cast<double>(j);
    }
    pj[2 * F] = 0.5;
  }
  const Tensor p = Tensor::from_vector(pv, {N, 2 * F + 1});
  GradcheckResult r = gradcheck(
      [&](Graph&, const std::vector<Var>& v) { return t->apply(v[0], v[1], k, true); }, {x, p});
  CHECK_MESSAGE(r.ok, r.report);
}
}  // namespace

TEST_CASE("fourier with amplitudes of both signs passes f64 gradcheck under either normalisation") {
  SUBCASE("normalised by the sum of |a|") { check_fourier_gradcheck(false); }
  SUBCASE("normalised by the sum of a (the published code)") { check_fourier_gradcheck(true); }
}
