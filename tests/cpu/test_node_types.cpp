// The built-in node types (linear_lut, polylut, neurallut, probabilistic, unbound_probabilistic,
// hybrid, difflogic): registration and options, soft forward against naive scalar formulas, eval =
// truth table on all 2^k inputs, errors, regularisers, and node types mixed in one graph.
#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <vector>

#include "autograd/graph.h"
#include "autograd/ops.h"
#include "lut/node_ops.h"
#include "lut/node_registry.h"
#include "lut/nodes/node_kernels.h"
#include "lut/nodes/node_types.h"
#include "test_util.h"

using namespace difflut;

namespace {

// Every built-in type of the node list (lut/nodes/node_list.h), as the registry holds them.
const std::vector<std::string> kTypes = [] {
  std::vector<std::string> v;
  for (const auto& t : builtin_node_types()) v.push_back(t->name());
  return v;
}();

double sig(double z) { return 1.0 / (1.0 + std::exp(-z)); }

Tensor uniform(const Shape& shape, Generator& gen, double lo, double hi) {
  std::vector<double> v = Tensor::rand(shape, gen, DType::f64).to_vector<double>();
  for (double& e : v) e = lo + (hi - lo) * e;
  return Tensor::from_vector(v, shape);
}

// Rows enumerating every address: row a feeds the bits of a to every one of N nodes.
Tensor all_addresses(int k, int64_t N) {
  const int64_t K = int64_t{1} << k;
  std::vector<double> x(static_cast<size_t>(K * N * k));
  for (int64_t a = 0; a < K; ++a)
    for (int64_t j = 0; j < N; ++j)
      for (int l = 0; l < k; ++l)
        x[static_cast<size_t>((a * N + j) * k + l)] = double((a >> l) & 1);
  return Tensor::from_vector(x, {K, N * k});
}

Tensor init_params(const NodeType& t, int64_t N, int k, uint64_t seed) {
  Tensor p = Tensor::empty({N, t.num_params(k)}, DType::f64);
  Generator gen(seed);
  t.init(p, k, gen);
  return p;
}

Tensor run(const NodeType& t, const Tensor& x, const Tensor& p, int k, bool training) {
  Graph g;
  return t.apply(g.input(x), g.input(p), k, training).value();
}

std::vector<int> ks_for(const std::string& type) {
  if (type == "difflogic") return {2};
  return {1, 2, 3, 6};
}

// Pr(a | x) = Π_j p_j(a_j).
double prob(unsigned a, const double* x, int k) {
  double p = 1;
  for (int j = 0; j < k; ++j) p *= ((a >> j) & 1) ? x[j] : 1 - x[j];
  return p;
}

}  // namespace

TEST_CASE("every DiffLUT node type is a registered built-in, in the documented order") {
  const auto names = registered_node_types();
  REQUIRE(names.size() >= 8);
  const std::vector<std::string> expect = {"dwn",       "linear_lut",    "polylut",
                                           "neurallut", "probabilistic", "unbound_probabilistic",
                                           "hybrid",    "difflogic"};
  CHECK(std::vector<std::string>(names.begin(), names.begin() + 8) == expect);
  REQUIRE(names.size() >= kTypes.size() + 1);
  CHECK(std::vector<std::string>(names.begin() + 1, names.begin() + 1 + kTypes.size()) == kTypes);
  for (const auto& n : kTypes) CHECK(find_node_type(n)->name() == n);
  // Each built-in type runs its own op, registered under the list's op name.
  for (int i = 0; i < nodes::kNumNodeKinds; ++i) {
    const auto kind = static_cast<nodes::NodeKind>(i);
    CHECK(std::string(op_name(nodes::builtin_node_op(kind))) == nodes::node_op_name(kind));
    CHECK(nodes::node_kind_of(nodes::builtin_node_op(kind)) == kind);
  }
  CHECK_THROWS_WITH_AS(unregister_node_type("probabilistic"), doctest::Contains("built-in"), Error);
  CHECK_THROWS_WITH_AS(make_node_type("polylutt", {}, "model.params.node_type"),
                       doctest::Contains("model.params.node_type='polylutt' is not a registered "
                                         "node type (known: dwn, linear_lut, polylut"),
                       Error);
}

TEST_CASE("parameter counts follow the options: polylut C(k+D, D), neurallut layer sizes") {
  CHECK(find_node_type("linear_lut")->num_params(6) == 7);
  CHECK(find_node_type("probabilistic")->num_params(6) == 64);
  CHECK(find_node_type("unbound_probabilistic")->num_params(4) == 16);
  CHECK(find_node_type("hybrid")->num_params(6) == 64);
  CHECK(find_node_type("difflogic")->num_params(2) == 16);
  CHECK(find_node_type("polylut")->num_params(6) == 28);  // default D = 2
  NodeOptions o;
  o.degree = 3;
  CHECK(make_node_type("polylut", o)->num_params(6) == 84);
  o.degree = 1;
  CHECK(make_node_type("polylut", o)->num_params(4) == 5);
  // Default neurallut (width 8, depth 2, skip 2: no skip layer): 6*8 + 8 + 8 + 1.
  CHECK(find_node_type("neurallut")->num_params(6) == 65);
  NodeOptions n;
  n.depth = 3;  // layer 2 gets a skip connection 6 -> 1
  CHECK(make_node_type("neurallut", n)->num_params(6) ==
        (6 * 8 + 8) + (8 * 8 + 8) + (8 + 1) + (6 + 1));
  n.skip_interval = 0;
  CHECK(make_node_type("neurallut", n)->num_params(6) == (6 * 8 + 8) + (8 * 8 + 8) + (8 + 1));
  n.depth = 1;
  n.hidden_width = 16;
  CHECK(make_node_type("neurallut", n)->num_params(5) == 6);
  // Options are per instance: the registered default is untouched.
  CHECK(find_node_type("polylut")->num_params(6) == 28);
  // Types without options come back as the registered instance.
  CHECK(make_node_type("hybrid", o) == find_node_type("hybrid"));
}

TEST_CASE("polylut's monomial table lists every exponent vector of degree <= D exactly once") {
  for (int k : {1, 3, 6}) {
    for (int D : {1, 2, 3}) {
      CAPTURE(k);
      CAPTURE(D);
      const Tensor t = nodes::polylut_term_table(k, D);
      const auto v = t.to_vector<int32_t>();
      const int64_t M = t.size(0);
      std::vector<std::vector<int>> exps(static_cast<size_t>(M),
                                         std::vector<int>(static_cast<size_t>(k), 0));
      for (int64_t m = 1; m < M; ++m) {
        REQUIRE(v[static_cast<size_t>(2 * m)] < m);
        exps[static_cast<size_t>(m)] = exps[static_cast<size_t>(v[static_cast<size_t>(2 * m)])];
        ++exps[static_cast<size_t>(m)][static_cast<size_t>(v[static_cast<size_t>(2 * m + 1)])];
      }
      std::sort(exps.begin(), exps.end());
      CHECK(std::adjacent_find(exps.begin(), exps.end()) == exps.end());
      int64_t count = 0;  // exponent vectors with sum <= D, enumerated directly
      std::function<void(int, int)> rec = [&](int l, int left) {
        if (l == k) {
          ++count;
          return;
        }
        for (int e = 0; e <= left; ++e) rec(l + 1, left - e);
      };
      rec(0, D);
      CHECK(M == count);
      for (const auto& e : exps) {
        int s = 0;
        for (int x : e) s += x;
        CHECK(s <= D);
      }
    }
  }
}

TEST_CASE("option and k errors name the node type and the value") {
  NodeOptions o;
  o.degree = 0;
  CHECK_THROWS_WITH_AS(make_node_type("polylut", o),
                       doctest::Contains("polylut: expected degree >= 1, found 0"), Error);
  o = {};
  o.hidden_width = 33;
  CHECK_THROWS_WITH_AS(make_node_type("neurallut", o),
                       doctest::Contains("hidden_width in [1, 32], found 33"), Error);
  o = {};
  o.depth = 0;
  CHECK_THROWS_WITH_AS(make_node_type("neurallut", o), doctest::Contains("depth"), Error);
  o = {};
  o.temperature = 0;
  CHECK_THROWS_WITH_AS(make_node_type("probabilistic", o), doctest::Contains("temperature > 0"),
                       Error);
  o = {};
  o.max_amplitude = -0.5;
  CHECK_THROWS_WITH_AS(make_node_type("fourier", o),
                       doctest::Contains("fourier: expected max_amplitude > 0, found -0.5"), Error);
  CHECK_THROWS_WITH_AS(
      find_node_type("difflogic")->num_params(6),
      doctest::Contains("difflogic: difflogic nodes are 2-input logic gates: expected k = 2"),
      Error);
  CHECK_THROWS_WITH_AS(find_node_type("difflogic")->num_params(6), doctest::Contains("found k = 6"),
                       Error);
  o = {};
  o.degree = 4;
  CHECK_THROWS_WITH_AS(make_node_type("polylut", o)->num_params(8), doctest::Contains("495"),
                       Error);
  // The op checks shapes: params of the wrong width.
  Graph g;
  Var x = g.input(Tensor::zeros({2, 12}, DType::f64));
  Var p = g.input(Tensor::zeros({2, 63}, DType::f64));
  CHECK_THROWS_WITH_AS(
      probabilistic_lut(x, p, 6, 1.0, true),
      doctest::Contains("probabilistic_lut: expected params [N, 64] for k = 6, found [2, 63]"),
      Error);
  Var x2 = g.input(Tensor::zeros({2, 12}, DType::f64));
  Var p2 = g.input(Tensor::zeros({2, 16}, DType::f64));
  CHECK_THROWS_WITH_AS(find_node_type("difflogic")->apply(x2, p2, 6, true),
                       doctest::Contains("expected k = 2"), Error);
  CHECK_THROWS_WITH_AS(linear_lut(x, g.input(Tensor::zeros({3, 7}, DType::f64)), 6, true),
                       doctest::Contains("linear_lut: expected x [B, N*k] = [B, 18]"), Error);
}

TEST_CASE("truth table equals the eval forward on all 2^k inputs; eval outputs are bits") {
  for (const auto& name : kTypes) {
    auto t = find_node_type(name);
    for (int k : ks_for(name)) {
      CAPTURE(name);
      CAPTURE(k);
      const int64_t N = 5, K = int64_t{1} << k;
      const Tensor p = init_params(*t, N, k, 10 + k);
      const Tensor x = all_addresses(k, N);
      const Tensor tt = t->truth_table(p, k);
      REQUIRE(tt.shape() == Shape({N, K}));
      const auto ttv = tt.to_vector<uint8_t>();
      const auto y = run(*t, x, p, k, false).to_vector<double>();
      Tensor host_y = Tensor::empty({K, N}, DType::f64);
      t->forward_eval(x, p, k, host_y);
      const auto hy = host_y.to_vector<double>();
      bool ok = true;
      for (int64_t a = 0; a < K; ++a)
        for (int64_t j = 0; j < N; ++j) {
          const double e = ttv[static_cast<size_t>(j * K + a)];
          ok &= y[static_cast<size_t>(a * N + j)] == e && hy[static_cast<size_t>(a * N + j)] == e;
        }
      CHECK(ok);
      // Soft inputs are binarised at 0.5: 0.5 reads as 1, 0.4999 as 0.
      std::vector<double> xs = x.to_vector<double>();
      for (double& v : xs) v = v > 0.5 ? 0.5 + 0.3 * v : 0.4999;
      const auto ys = run(*t, Tensor::from_vector(xs, x.shape()), p, k, false).to_vector<double>();
      CHECK(ys == y);
    }
  }
}

TEST_CASE(
    "eval functions: linear and polylut threshold the logit at 0; the probabilistic family "
    "uses the sign of theta at the address") {
  const int k = 3, N = 4;
  Generator gen(5);
  {
    const Tensor p = uniform({N, k + 1}, gen, -1, 1);
    const auto tt = find_node_type("linear_lut")->truth_table(p, k).to_vector<uint8_t>();
    const auto pv = p.to_vector<double>();
    for (int j = 0; j < N; ++j)
      for (unsigned a = 0; a < 8; ++a) {
        double z = pv[static_cast<size_t>(j * 4 + 3)];
        for (int l = 0; l < k; ++l) z += ((a >> l) & 1) ? pv[static_cast<size_t>(j * 4 + l)] : 0.0;
        CHECK(tt[static_cast<size_t>(j * 8 + a)] == (z >= 0 ? 1 : 0));
      }
  }
  for (const char* name : {"probabilistic", "unbound_probabilistic", "hybrid"}) {
    const Tensor p = uniform({N, 8}, gen, -1, 1);
    const auto tt = find_node_type(name)->truth_table(p, k).to_vector<uint8_t>();
    const auto pv = p.to_vector<double>();
    for (size_t i = 0; i < pv.size(); ++i) CHECK(tt[i] == (pv[i] >= 0 ? 1 : 0));
  }
}

TEST_CASE("linear_lut and polylut soft forward equal naive formulas") {
  const int k = 4, N = 3, B = 5;
  Generator gen(7);
  const Tensor x = uniform({B, N * k}, gen, 0, 1);
  const auto xv = x.to_vector<double>();
  {
    const Tensor p = uniform({N, k + 1}, gen, -1, 1);
    const auto pv = p.to_vector<double>();
    const auto y = run(*find_node_type("linear_lut"), x, p, k, true).to_vector<double>();
    for (int b = 0; b < B; ++b)
      for (int j = 0; j < N; ++j) {
        double z = pv[static_cast<size_t>(j * (k + 1) + k)];
        for (int l = 0; l < k; ++l)
          z += pv[static_cast<size_t>(j * (k + 1) + l)] *
               xv[static_cast<size_t>((b * N + j) * k + l)];
        CHECK(y[static_cast<size_t>(b * N + j)] == doctest::Approx(sig(z)).epsilon(1e-12));
      }
  }
  for (int D : {1, 2, 3}) {
    NodeOptions o;
    o.degree = D;
    auto t = make_node_type("polylut", o);
    const Tensor p = uniform({N, t->num_params(k)}, gen, -1, 1);
    const auto pv = p.to_vector<double>();
    const auto table = nodes::polylut_term_table(k, D).to_vector<int32_t>();
    const int M = static_cast<int>(t->num_params(k));
    // Exponents of every term from the table, then Σ_m w_m Π_l x_l^e_ml with std::pow.
    std::vector<std::vector<int>> e(static_cast<size_t>(M), std::vector<int>(k, 0));
    for (int m = 1; m < M; ++m) {
      e[static_cast<size_t>(m)] = e[static_cast<size_t>(table[static_cast<size_t>(2 * m)])];
      ++e[static_cast<size_t>(m)][static_cast<size_t>(table[static_cast<size_t>(2 * m + 1)])];
    }
    const auto y = run(*t, x, p, k, true).to_vector<double>();
    for (int b = 0; b < B; ++b)
      for (int j = 0; j < N; ++j) {
        double z = 0;
        for (int m = 0; m < M; ++m) {
          double mono = 1;
          for (int l = 0; l < k; ++l)
            mono *= std::pow(xv[static_cast<size_t>((b * N + j) * k + l)],
                             e[static_cast<size_t>(m)][static_cast<size_t>(l)]);
          z += pv[static_cast<size_t>(j * M + m)] * mono;
        }
        CHECK(y[static_cast<size_t>(b * N + j)] == doctest::Approx(sig(z)).epsilon(1e-12));
      }
  }
}

TEST_CASE("neurallut soft forward equals a naive MLP with the documented parameter layout") {
  const int k = 3, N = 2, B = 4;
  Generator gen(8);
  const Tensor x = uniform({B, N * k}, gen, 0, 1);
  const auto xv = x.to_vector<double>();
  for (auto [width, depth, skip] :
       std::vector<std::tuple<int, int, int>>{{4, 2, 2}, {3, 3, 2}, {5, 4, 1}, {2, 1, 0}}) {
    CAPTURE(width);
    CAPTURE(depth);
    CAPTURE(skip);
    NodeOptions o;
    o.hidden_width = width;
    o.depth = depth;
    o.skip_interval = skip;
    auto t = make_node_type("neurallut", o);
    const int64_t P = t->num_params(k);
    const Tensor p = init_params(*t, N, k, 3);
    const auto pv = p.to_vector<double>();
    const auto y = run(*t, x, p, k, true).to_vector<double>();
    for (int b = 0; b < B; ++b)
      for (int j = 0; j < N; ++j) {
        const double* w = pv.data() + j * P;
        const double* xi = xv.data() + (b * N + j) * k;
        std::vector<double> h(xi, xi + k);
        size_t off = 0;
        for (int i = 0; i < depth; ++i) {
          const int in = static_cast<int>(h.size()), out = i == depth - 1 ? 1 : width;
          std::vector<double> z(static_cast<size_t>(out));
          for (int u = 0; u < out; ++u) {
            z[static_cast<size_t>(u)] = w[off + static_cast<size_t>(out * in + u)];
            for (int v = 0; v < in; ++v)
              z[static_cast<size_t>(u)] +=
                  w[off + static_cast<size_t>(u * in + v)] * h[static_cast<size_t>(v)];
          }
          off += static_cast<size_t>(out * in + out);
          if (skip > 0 && i > 0 && i % skip == 0) {
            for (int u = 0; u < out; ++u) {
              z[static_cast<size_t>(u)] += w[off + static_cast<size_t>(out * k + u)];
              for (int l = 0; l < k; ++l)
                z[static_cast<size_t>(u)] += w[off + static_cast<size_t>(u * k + l)] * xi[l];
            }
            off += static_cast<size_t>(out * k + out);
          }
          if (i < depth - 1)
            for (double& v : z) v = std::max(v, 0.0);
          h = z;
        }
        CHECK(off == static_cast<size_t>(P));
        CHECK(y[static_cast<size_t>(b * N + j)] == doctest::Approx(sig(h[0])).epsilon(1e-12));
      }
  }
}

TEST_CASE("probabilistic, unbound_probabilistic and hybrid soft forward equal naive formulas") {
  const int k = 3, N = 3, B = 6;
  Generator gen(9);
  Tensor x = uniform({B, N * k}, gen, 0, 1);
  std::vector<double> xv = x.to_vector<double>();
  xv[0] = 0.0;  // binary and edge values too
  xv[1] = 1.0;
  xv[4] = 0.5;
  x = Tensor::from_vector(xv, x.shape());
  const Tensor p = uniform({N, 8}, gen, -2, 2);
  const auto pv = p.to_vector<double>();
  for (double T : {1.0, 0.5, 3.0}) {
    NodeOptions o;
    o.temperature = T;
    const auto y = run(*make_node_type("probabilistic", o), x, p, k, true).to_vector<double>();
    for (int i = 0; i < B * N; ++i) {
      const int j = i % N;
      double e = 0;
      for (unsigned a = 0; a < 8; ++a)
        e += sig(pv[static_cast<size_t>(j * 8 + a)] / T) *
             prob(a, &xv[static_cast<size_t>(i * k)], k);
      CHECK(y[static_cast<size_t>(i)] == doctest::Approx(e).epsilon(1e-12));
    }
  }
  const auto yu = run(*find_node_type("unbound_probabilistic"), x, p, k, true).to_vector<double>();
  const auto yh = run(*find_node_type("hybrid"), x, p, k, true).to_vector<double>();
  for (int i = 0; i < B * N; ++i) {
    const int j = i % N;
    double z = 0;
    unsigned addr = 0;
    for (unsigned a = 0; a < 8; ++a)
      z += pv[static_cast<size_t>(j * 8 + a)] * prob(a, &xv[static_cast<size_t>(i * k)], k);
    for (int l = 0; l < k; ++l) addr |= (xv[static_cast<size_t>(i * k + l)] >= 0.5 ? 1u : 0u) << l;
    CHECK(yu[static_cast<size_t>(i)] == doctest::Approx(sig(z)).epsilon(1e-12));
    CHECK(yh[static_cast<size_t>(i)] ==
          doctest::Approx(sig(pv[static_cast<size_t>(j * 8 + addr)])).epsilon(1e-14));
  }
}

TEST_CASE("difflogic mixes Petersen's 16 relaxed gates by softmax; eval is the argmax gate") {
  using Gate = std::function<double(double, double)>;
  const std::vector<Gate> gates = {
      [](double, double) { return 0.0; },
      [](double a, double b) { return a * b; },
      [](double a, double b) { return a - a * b; },
      [](double a, double) { return a; },
      [](double a, double b) { return b - a * b; },
      [](double, double b) { return b; },
      [](double a, double b) { return a + b - 2 * a * b; },
      [](double a, double b) { return a + b - a * b; },
      [](double a, double b) { return 1 - (a + b - a * b); },
      [](double a, double b) { return 1 - (a + b - 2 * a * b); },
      [](double, double b) { return 1 - b; },
      [](double a, double b) { return 1 - b + a * b; },
      [](double a, double) { return 1 - a; },
      [](double a, double b) { return 1 - a + a * b; },
      [](double a, double b) { return 1 - a * b; },
      [](double, double) { return 1.0; },
  };
  auto t = find_node_type("difflogic");
  Generator gen(11);
  const int N = 16, B = 7;
  const Tensor x = uniform({B, N * 2}, gen, 0, 1);
  const auto xv = x.to_vector<double>();
  // Node i: a random mixture, with gate i strongly preferred (so eval must be gate i).
  Tensor p = uniform({N, 16}, gen, -1, 1);
  std::vector<double> pv = p.to_vector<double>();
  for (int i = 0; i < N; ++i) pv[static_cast<size_t>(i * 16 + i)] = 3.0;
  p = Tensor::from_vector(pv, p.shape());
  const auto y = run(*t, x, p, 2, true).to_vector<double>();
  for (int b = 0; b < B; ++b)
    for (int j = 0; j < N; ++j) {
      const double a = xv[static_cast<size_t>((b * N + j) * 2)],
                   bb = xv[static_cast<size_t>((b * N + j) * 2 + 1)];
      double mx = -1e300, sum = 0, e = 0;
      for (int i = 0; i < 16; ++i) mx = std::max(mx, pv[static_cast<size_t>(j * 16 + i)]);
      for (int i = 0; i < 16; ++i) sum += std::exp(pv[static_cast<size_t>(j * 16 + i)] - mx);
      for (int i = 0; i < 16; ++i)
        e += std::exp(pv[static_cast<size_t>(j * 16 + i)] - mx) / sum *
             gates[static_cast<size_t>(i)](a, bb);
      CHECK(y[static_cast<size_t>(b * N + j)] == doctest::Approx(e).epsilon(1e-12));
    }
  const auto tt = t->truth_table(p, 2).to_vector<uint8_t>();
  for (int j = 0; j < N; ++j)
    for (int addr = 0; addr < 4; ++addr)
      CHECK(tt[static_cast<size_t>(j * 4 + addr)] ==
            gates[static_cast<size_t>(j)](addr & 1, addr >> 1));
}

TEST_CASE("the probabilistic temperature sharpens the node: T -> 0 approaches the hard table") {
  const int k = 2;
  Tensor p = Tensor::from_vector(std::vector<double>{0.3, -0.2, 0.1, -0.4}, {1, 4});
  Tensor x = Tensor::from_vector(std::vector<double>{1.0, 0.0}, {1, 2});  // address 1
  NodeOptions o;
  o.temperature = 1e-3;
  CHECK(run(*make_node_type("probabilistic", o), x, p, k, true).item<double>() ==
        doctest::Approx(0.0).epsilon(1e-12));
  o.temperature = 1.0;
  CHECK(run(*make_node_type("probabilistic", o), x, p, k, true).item<double>() ==
        doctest::Approx(sig(-0.2)));
}

TEST_CASE(
    "regularisers: functional is the mean squared bit-flip change, spectral the degree-weighted "
    "Walsh spectrum, and spectral = k/4 * functional") {
  Generator gen(12);
  for (const auto& name : kTypes) {
    for (int k : ks_for(name)) {
      CAPTURE(name);
      CAPTURE(k);
      auto t = find_node_type(name);
      const int64_t N = 3, K = int64_t{1} << k;
      const Tensor p = init_params(*t, N, k, 20 + k);
      Graph g;
      Var vp = g.input(p);
      const Tensor F = t->corner_values(vp, k).value();
      REQUIRE(F.shape() == Shape({K, N}));
      // Corner values are the soft forward at the corners.
      const Tensor soft = run(*t, all_addresses(k, N), p, k, true);
      test::check_close(F, soft, 0, 0);
      const auto fv = F.to_vector<double>();
      double func = 0, spec = 0;
      for (int64_t j = 0; j < N; ++j) {
        auto f = [&](int64_t a) { return fv[static_cast<size_t>(a * N + j)]; };
        double s = 0;
        for (int64_t a = 0; a < K; ++a)
          for (int l = 0; l < k; ++l) s += std::pow(f(a) - f(a ^ (int64_t{1} << l)), 2);
        func += s / double(K * k);
        double w = 0;  // naive Walsh coefficients, O(4^k)
        for (int64_t S = 0; S < K; ++S) {
          double c = 0;
          for (int64_t a = 0; a < K; ++a) c += f(a) * ((__builtin_popcountll(a & S) & 1) ? -1 : 1);
          c /= double(K);
          w += __builtin_popcountll(S) * c * c;
        }
        spec += w;
      }
      func /= N;
      spec /= N;
      const double rf =
          node_regularizer(vp, *t, k, LutRegularizer::functional, 1.0).value().item<double>();
      const double rs =
          node_regularizer(vp, *t, k, LutRegularizer::spectral, 1.0).value().item<double>();
      CHECK(rf == doctest::Approx(func).epsilon(1e-12));
      CHECK(rs == doctest::Approx(spec).epsilon(1e-12));
      CHECK(rs == doctest::Approx(k / 4.0 * rf).epsilon(1e-10));
      const double r2 =
          node_regularizer(vp, *t, k, LutRegularizer::spectral, 0.25).value().item<double>();
      CHECK(r2 == doctest::Approx(0.25 * rs).epsilon(1e-14));
    }
  }
}

TEST_CASE("the dwn node's regulariser reads its soft tables; names parse; constant nodes cost 0") {
  auto dwn = find_node_type("dwn");
  Generator gen(13);
  const Tensor table = uniform({2, 8}, gen, -1, 1);
  Graph g;
  Var vt = g.input(table);
  const Tensor corners = dwn->corner_values(vt, 3).value();
  const Tensor tt = transpose(vt).value();
  test::check_close(corners, tt, 0, 0);
  Var c = g.input(Tensor::full({4, 8}, 0.7, DType::f64));
  CHECK(node_regularizer(c, *dwn, 3, LutRegularizer::functional, 1.0).value().item<double>() ==
        0.0);
  CHECK(parse_lut_regularizer("functional") == LutRegularizer::functional);
  CHECK(parse_lut_regularizer("l2") == LutRegularizer::functional);
  CHECK(parse_lut_regularizer("spectral") == LutRegularizer::spectral);
  CHECK(parse_lut_regularizer("walsh") == LutRegularizer::spectral);
  CHECK_THROWS_WITH_AS(parse_lut_regularizer("l3", "model.params.regularizer.kind"),
                       doctest::Contains("model.params.regularizer.kind='l3' is not a regularizer"),
                       Error);
}

TEST_CASE(
    "node types mix across layers: gather -> linear_lut -> gather -> probabilistic -> group_sum") {
  const int k = 3;
  const int64_t B = 8, F = 12, N1 = 8, N2 = 6;
  Generator gen(14);
  const Tensor x = uniform({B, F}, gen, 0, 1);
  auto lin = find_node_type("linear_lut");
  auto pr = find_node_type("probabilistic");
  Parameter p1, p2;
  p1.value = init_params(*lin, N1, k, 1);
  p2.value = init_params(*pr, N2, k, 2);
  std::vector<int64_t> i1(N1 * k), i2(N2 * k);
  for (size_t i = 0; i < i1.size(); ++i) i1[i] = static_cast<int64_t>((i * 5) % F);
  for (size_t i = 0; i < i2.size(); ++i) i2[i] = static_cast<int64_t>((i * 3) % N1);
  Graph g;
  Var h1 = lin->apply(gather(g.input(x), Tensor::from_vector(i1, {N1 * k})), g.param(p1), k, true);
  Var h2 = pr->apply(gather(h1, Tensor::from_vector(i2, {N2 * k})), g.param(p2), k, true);
  Var out = group_sum(h2, 2, 1.0);
  Var loss = sum_all(out);
  g.backward(loss);
  for (Parameter* p : {&p1, &p2}) {
    const auto gv = p->grad.to_vector<double>();
    double norm = 0;
    for (double v : gv) {
      CHECK(std::isfinite(v));
      norm += std::abs(v);
    }
    CHECK(norm > 0);
  }
  // Eval mode: every layer outputs bits.
  Graph ge;
  Var e1 =
      lin->apply(gather(ge.input(x), Tensor::from_vector(i1, {N1 * k})), ge.param(p1), k, false);
  Var e2 = pr->apply(gather(e1, Tensor::from_vector(i2, {N2 * k})), ge.param(p2), k, false);
  for (Var v : {e1, e2})
    for (double b : v.value().to_vector<double>()) CHECK((b == 0.0 || b == 1.0));
}

TEST_CASE(
    "node op backward twice without zeroing gives exactly twice the gradients; runs repeat bit "
    "for bit") {
  const int k = 4;
  const int64_t B = 9, N = 5;
  Generator gen(15);
  const Tensor x = uniform({B, N * k}, gen, 0, 1);
  const Tensor seed = uniform({B, N}, gen, -1, 1);
  for (const auto& name : kTypes) {
    CAPTURE(name);
    const int kk = name == "difflogic" ? 2 : k;
    const Tensor xx = name == "difflogic" ? uniform({B, N * 2}, gen, 0, 1) : x;
    auto t = find_node_type(name);
    auto grads = [&](int times) {
      Parameter p;
      p.value = init_params(*t, N, kk, 4);
      Graph g;
      Var vx = g.input(xx, "x", true);
      Var y = t->apply(vx, g.param(p), kk, true);
      Tensor gx;
      for (int i = 0; i < times; ++i) {
        g.backward(y, seed);
        gx = g.grad(vx).clone();
      }
      return std::make_pair(gx, p.grad.clone());
    };
    auto [gx1, gp1] = grads(1);
    auto [gx1b, gp1b] = grads(1);
    auto [gx2, gp2] = grads(2);
    test::check_equal(gx1, gx1b);
    test::check_equal(gp1, gp1b);
    const auto a = gp1.to_vector<double>(), b2 = gp2.to_vector<double>();
    for (size_t i = 0; i < a.size(); ++i) CHECK(b2[i] == 2 * a[i]);
  }
}
