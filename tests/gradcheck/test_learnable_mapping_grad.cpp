// Gradient checks of the learnable mapping in f64. The op is piecewise constant in W (a hard
// argmax), so finite differences of the op itself say nothing about dW: dW is checked against its
// formula (2x - 1)^T g, dx against finite differences of the relaxed mapping x softmax(W / tau)
// whose derivative it is, and the forward against its piecewise constancy.
#include <cmath>
#include <vector>

#include "autograd/graph.h"
#include "lut/learnable_mapping.h"
#include "tensor/random.h"
#include "test_util.h"

using namespace difflut;

namespace {

// L(x) = sum_{b,s} seed[b, s] (x softmax(W / tau))[b, s], the relaxed mapping, in f64.
double relaxed_loss(const std::vector<double>& x, const std::vector<double>& w,
                    const std::vector<double>& seed, int64_t B, int64_t F, int64_t S, double tau) {
  double loss = 0.0;
  for (int64_t s = 0; s < S; ++s) {
    double mx = w[s];
    for (int64_t i = 1; i < F; ++i) mx = std::max(mx, w[i * S + s]);
    double z = 0.0;
    for (int64_t i = 0; i < F; ++i) z += std::exp((w[i * S + s] - mx) / tau);
    for (int64_t b = 0; b < B; ++b) {
      double y = 0.0;
      for (int64_t i = 0; i < F; ++i) y += x[b * F + i] * std::exp((w[i * S + s] - mx) / tau) / z;
      loss += seed[b * S + s] * y;
    }
  }
  return loss;
}

}  // namespace

TEST_CASE("learnable_mapping dW equals (2x - 1)^T g and dx the derivative of the relaxed mapping") {
  for (double tau : {0.02, 0.3, 1.0}) {
    CAPTURE(tau);
    Generator gen(17);
    const int64_t B = 4, F = 12, S = 9;
    const Tensor x = Tensor::rand({B, F}, gen, DType::f64);
    const Tensor w = Tensor::rand({F, S}, gen, DType::f64);
    const Tensor seed = Tensor::randn({B, S}, gen, DType::f64);
    Graph graph;
    Parameter p;
    p.value = w;
    Var xv = graph.input(x, "x", true);
    Var out = learnable_mapping(xv, graph.param(p), nullptr, tau);
    graph.backward(out, seed);
    const std::vector<double> xs = x.to_vector<double>(), ws = w.to_vector<double>(),
                              gs = seed.to_vector<double>();
    const std::vector<double> dw = p.grad.to_vector<double>(),
                              dx = graph.grad(xv).to_vector<double>();

    for (int64_t i = 0; i < F; ++i)
      for (int64_t s = 0; s < S; ++s) {
        double ref = 0.0;
        for (int64_t b = 0; b < B; ++b) ref += (2.0 * xs[b * F + i] - 1.0) * gs[b * S + s];
        CHECK(dw[i * S + s] == doctest::Approx(ref).epsilon(1e-13));
      }

    const double eps = 1e-6;
    for (int64_t k = 0; k < B * F; ++k) {
      std::vector<double> xp = xs, xm = xs;
      xp[k] += eps;
      xm[k] -= eps;
      const double fd =
          (relaxed_loss(xp, ws, gs, B, F, S, tau) - relaxed_loss(xm, ws, gs, B, F, S, tau)) /
          (2.0 * eps);
      CHECK(dx[k] == doctest::Approx(fd).epsilon(1e-7).scale(1.0));
    }
  }
}

TEST_CASE("learnable_mapping forward is piecewise constant in W away from ties") {
  Generator gen(23);
  const int64_t B = 3, F = 20, S = 15;
  const Tensor x = Tensor::rand({B, F}, gen, DType::f64);
  const Tensor w = Tensor::rand({F, S}, gen, DType::f64);
  Graph graph;
  Var xv = graph.input(x);
  const Tensor y0 = learnable_mapping(xv, graph.input(w)).value().clone();
  std::vector<double> wv = w.to_vector<double>();
  for (double& e : wv) e += 1e-9 * (gen.uniform() - 0.5);  // far below the gaps between rows
  const Tensor y1 = learnable_mapping(xv, graph.input(Tensor::from_vector(wv, {F, S}))).value();
  difflut::test::check_equal(y1, y0);
}
