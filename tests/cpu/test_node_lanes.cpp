// The CPU backward of the probabilistic family takes 16 samples of a node at once
// (ml_grad_lanes_acc); where every lane's inputs are 0 or 1 it skips the multilinear fold
// (ml_grad_lanes_corners). Both paths must give the same bits, and the op on binary inputs must
// give the per-sample scalar fold's gradients.
#include <cstdint>
#include <vector>

#include "autograd/graph.h"
#include "lut/node_ops.h"
#include "lut/nodes/probabilistic_math.h"
#include "tensor/random.h"
#include "test_util.h"

using namespace difflut;
using namespace difflut::nodes;

TEST_CASE("lane backward: binary inputs take the corner path, with the fold's values bit for bit") {
  constexpr int W = 16;
  Generator gen(11);
  for (int k : {1, 3, 6, 8}) {
    CAPTURE(k);
    const int K = 1 << k;
    const Tensor wt = Tensor::rand({K}, gen), gt = Tensor::randn({W}, gen),
                 bt = Tensor::rand({k * W}, gen);
    std::vector<float> w(wt.data<float>(), wt.data<float>() + K);
    std::vector<float> g(gt.data<float>(), gt.data<float>() + W), x(k * W);
    for (int i = 0; i < k * W; ++i) x[i] = bt.data<float>()[i] < 0.5f ? 0.0f : 1.0f;
    REQUIRE(lanes_on_corners<W>(x.data(), k));
    std::vector<float> dx_fast(k * W, 0.25f), dx_fold(k * W, 0.25f), s(2 * W * K);
    std::vector<double> acc_fast(K, 0.5), acc_fold(K, 0.5);
    ProbabilisticBase::ml_grad_lanes_acc<W, float, true>(w.data(), x.data(), k, g.data(),
                                                         dx_fast.data(), acc_fast.data(), s.data());
    ProbabilisticBase::ml_grad_lanes_acc<W, float, false>(
        w.data(), x.data(), k, g.data(), dx_fold.data(), acc_fold.data(), s.data());
    CHECK(dx_fast == dx_fold);
    CHECK(acc_fast == acc_fold);
    // Against the scalar fold, one sample at a time (to rounding: the compiler may contract the
    // lane path's dx += g·Δ into one FMA).
    for (int l = 0; l < W; ++l) {
      float xs[kMaxK], dxs[kMaxK] = {};
      std::vector<float> ss(2 * K);
      for (int m = 0; m < k; ++m) xs[m] = x[m * W + l];
      ProbabilisticBase::ml_grad(w.data(), xs, k, g[l], dxs, nullptr, ss.data());
      for (int m = 0; m < k; ++m)
        CHECK(dx_fast[m * W + l] == doctest::Approx(0.25f + dxs[m]).epsilon(1e-6));
    }
    // One input off the corners sends the group through the fold.
    x[3] = 0.5f;
    CHECK_FALSE(lanes_on_corners<W>(x.data(), k));
  }
}

TEST_CASE("hybrid op on binary inputs: gradients equal the per-sample scalar fold") {
  const int k = 6, K = 1 << k;
  const int64_t B = 37, N = 5;  // two full lane groups and a tail
  Generator gen(12);
  Tensor x = Tensor::rand({B, N * k}, gen);
  float* xp = x.data<float>();
  for (int64_t i = 0; i < x.numel(); ++i) xp[i] = xp[i] < 0.5f ? 0.0f : 1.0f;
  Tensor theta = Tensor::randn({N, K}, gen);
  Tensor gout = Tensor::randn({B, N}, gen);
  Graph graph;
  Var xv = graph.input(x, "x", true), tv = graph.input(theta, "theta", true);
  Var y = hybrid_lut(xv, tv, k, /*training=*/true);
  graph.backward(y, gout);
  const float* gx = graph.grad(xv).data<float>();
  const float* gt = graph.grad(tv).data<float>();
  std::vector<double> want_t(N * K, 0.0);
  for (int64_t j = 0; j < N; ++j) {
    float q[1 << 6], s[2 << 6];
    for (int a = 0; a < K; ++a) q[a] = node_sigmoid(theta.data<float>()[j * K + a]);
    std::vector<double> acc(K, 0.0);
    for (int64_t b = 0; b < B; ++b) {
      float dx[kMaxK] = {};
      ProbabilisticBase::ml_grad(q, xp + (b * N + j) * k, k, gout.data<float>()[b * N + j], dx,
                                 acc.data(), s);
      for (int m = 0; m < k; ++m) CHECK(gx[(b * N + j) * k + m] == dx[m]);
    }
    for (int a = 0; a < K; ++a)
      CHECK(gt[j * K + a] == doctest::Approx(acc[a] * q[a] * (1.0 - q[a])).epsilon(1e-5));
  }
}
