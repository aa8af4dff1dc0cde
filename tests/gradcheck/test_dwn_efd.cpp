// The EFD input surrogate of dwn_lut checked against two independent oracles: the published closed
// form evaluated naively per sample, and the noisy-neighbourhood expectation it equals with the
// default constants (every other address bit flips independently with probability 0.25).
#include <bit>
#include <cmath>
#include <vector>

#include "autograd/graph.h"
#include "lut/node_ops.h"
#include "tensor/random.h"
#include "test_util.h"

using namespace difflut;

namespace {
Tensor uniform(const Shape& shape, Generator& gen, double lo, double hi) {
  std::vector<double> v = Tensor::rand(shape, gen, DType::f64).to_vector<double>();
  for (double& e : v) e = lo + (hi - lo) * e;
  return Tensor::from_vector(v, shape);
}

int address_of(const std::vector<double>& x, int64_t base, int k) {
  int a = 0;
  for (int l = 0; l < k; ++l) a |= (x[static_cast<size_t>(base + l)] >= 0.5 ? 1 : 0) << l;
  return a;
}

// dy/dx_l = α Σ_a (2a_l − 1) T[a] β^{popcount((addr ⊕ a) & ~(1<<l))}, term by term.
double efd_closed_form(const double* T, int k, int addr, int l, double alpha, double beta) {
  double s = 0.0;
  for (int a = 0; a < (1 << k); ++a) {
    const int dist = std::popcount(static_cast<unsigned>((addr ^ a) & ~(1 << l)));
    s += (((a >> l) & 1) ? 1.0 : -1.0) * T[a] * std::pow(beta, dist);
  }
  return alpha * s;
}

// ½·E[T(addr with bit l = 1) − T(addr with bit l = 0)], every other bit flipped with p = 0.25,
// by exact enumeration of the flip patterns.
double noisy_neighbourhood(const double* T, int k, int addr, int l) {
  const int others = ((1 << k) - 1) & ~(1 << l);
  double e = 0.0;
  for (int flip = 0; flip < (1 << k); ++flip) {
    if (flip & ~others) continue;
    const int n = std::popcount(static_cast<unsigned>(flip));
    const double p = std::pow(0.25, n) * std::pow(0.75, k - 1 - n);
    const int a = addr ^ flip;
    e += p * (T[a | (1 << l)] - T[a & ~(1 << l)]);
  }
  return 0.5 * e;
}

struct EfdCase {
  std::vector<double> dx;  // the op's input gradient
  std::vector<double> x, T, g;
};

EfdCase run_op(int k, int B, int N, double alpha, double beta, uint64_t seed) {
  Generator gen(seed);
  Tensor x = uniform({B, N * k}, gen, 0, 1);
  Tensor T = uniform({N, int64_t{1} << k}, gen, -1, 1);
  Tensor g = uniform({B, N}, gen, -1, 1);
  Graph graph;
  Var vx = graph.input(x, "x", true);
  Var y = dwn_lut(vx, graph.input(T), k, alpha, beta);
  graph.backward(y, g);
  return EfdCase{graph.grad(vx).to_vector<double>(), x.to_vector<double>(), T.to_vector<double>(),
                 g.to_vector<double>()};
}
}  // namespace

TEST_CASE("dwn EFD input gradient equals the noisy-neighbourhood expectation, k = 2..8") {
  for (int k = 2; k <= 8; ++k) {
    CAPTURE(k);
    const int B = 6, N = 4, K = 1 << k;
    EfdCase c = run_op(k, B, N, dwn_default_alpha(k), kDwnDefaultBeta, 50 + k);
    int bad_formula = 0, bad_oracle = 0, checked = 0;
    for (int b = 0; b < B; ++b)
      for (int j = 0; j < N; ++j) {
        const int addr = address_of(c.x, (b * N + j) * k, k);
        const double* T = c.T.data() + j * K;
        for (int l = 0; l < k; ++l) {
          const double got = c.dx[static_cast<size_t>((b * N + j) * k + l)];
          const double gv = c.g[static_cast<size_t>(b * N + j)];
          const double f =
              gv * efd_closed_form(T, k, addr, l, dwn_default_alpha(k), kDwnDefaultBeta);
          const double o = gv * noisy_neighbourhood(T, k, addr, l);
          if (std::fabs(got - f) > 1e-6 * (1 + std::fabs(f))) ++bad_formula;
          if (std::fabs(got - o) > 1e-6 * (1 + std::fabs(o))) ++bad_oracle;
          ++checked;
        }
      }
    CHECK(checked == B * N * k);
    CHECK(bad_formula == 0);
    CHECK(bad_oracle == 0);
  }
}

TEST_CASE(
    "dwn EFD input gradient matches the closed form for non-default alpha and beta, k = 1..8") {
  for (int k = 1; k <= 8; ++k) {
    CAPTURE(k);
    const int B = 5, N = 3, K = 1 << k;
    const double alpha = 0.8, beta = 0.6;
    EfdCase c = run_op(k, B, N, alpha, beta, 900 + k);
    double max_err = 0.0;
    for (int b = 0; b < B; ++b)
      for (int j = 0; j < N; ++j) {
        const int addr = address_of(c.x, (b * N + j) * k, k);
        for (int l = 0; l < k; ++l) {
          const double want = c.g[static_cast<size_t>(b * N + j)] *
                              efd_closed_form(c.T.data() + j * K, k, addr, l, alpha, beta);
          const double got = c.dx[static_cast<size_t>((b * N + j) * k + l)];
          max_err = std::max(max_err, std::fabs(got - want) / (1 + std::fabs(want)));
        }
      }
    CHECK(max_err < 1e-9);
  }
}

TEST_CASE("dwn EFD input gradient in f32 agrees with the f64 result") {
  const int k = 6, B = 8, N = 5;
  Generator gen(77);
  Tensor x = uniform({B, N * k}, gen, 0, 1), T = uniform({N, 64}, gen, -1, 1),
         s = uniform({B, N}, gen, -1, 1);
  auto grad_x = [&](DType dt) {
    Graph g;
    Var vx = g.input(x.to(dt), "x", true);
    g.backward(dwn_lut(vx, g.input(T.to(dt)), k), s.to(dt));
    return g.grad(vx).to(DType::f64);
  };
  test::check_close(grad_x(DType::f32), grad_x(DType::f64), 1e-6, 1e-5);
}
