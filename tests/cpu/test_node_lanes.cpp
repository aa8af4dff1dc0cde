// The CPU backward of the probabilistic family takes 16 samples of a node at once
// (ml_grad_lanes_acc); where every lane's inputs are 0 or 1 it skips the multilinear fold
// (ml_grad_lanes_corners). Both paths must give the same bits, and the op on binary inputs must
// give the per-sample scalar fold's gradients. The AVX-512 pieces the op uses (gathers, the corner
// path, the corner sums) give the portable loops' values bit for bit.
#include <cstdint>
#include <vector>

#include "autograd/graph.h"
#include "lut/node_ops.h"
#include "lut/nodes/node_lanes_avx512.h"
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

TEST_CASE("AVX-512 lane pieces: the portable lane backward's values bit for bit") {
  if (!lanes_avx512_usable(1)) {
    MESSAGE("skipped: this CPU has no AVX-512 F (the portable lane loops run instead)");
    return;
  }
  constexpr int W = 16;
  Generator gen(13);
  for (int k : {1, 4, 6, 8})
    for (int nl : {16, 5}) {  // a full group and one with padding lanes
      CAPTURE(k);
      CAPTURE(nl);
      const int K = 1 << k;
      const int64_t N = 3, stride = N * k;  // node 1 of 3, as the op lays samples out
      const Tensor wt = Tensor::rand({K}, gen), gt = Tensor::randn({W * N}, gen),
                   bt = Tensor::rand({W * stride}, gen), ot = Tensor::randn({W * stride}, gen);
      const float* w = wt.data<float>();
      std::vector<float> x(bt.data<float>(), bt.data<float>() + W * stride);
      for (float& v : x) v = v < 0.5f ? 0.0f : 1.0f;
      const float* g = gt.data<float>();
      // Portable: the lanes as backward_nodes gathers them (zeros in padding lanes).
      auto gather = [&](std::vector<float>& xs, std::vector<float>& gs) {
        xs.assign(k * W, 0.0f);
        gs.assign(W, 0.0f);
        for (int s = 0; s < nl; ++s) {
          gs[s] = g[s * N + 1];
          for (int l = 0; l < k; ++l) xs[l * W + s] = x[s * stride + k + l];
        }
      };
      std::vector<float> xs, gs, xv(k * W), gv(W);
      for (bool corners : {true, false}) {
        CAPTURE(corners);
        if (!corners) x[2 * stride + k] = 0.25f;  // lane 2 leaves the corners
        gather(xs, gs);
        load_lanes16(x.data() + k, stride, k, g + 1, N, nl, xv.data(), gv.data());
        CHECK(xv == xs);
        CHECK(gv == gs);
        std::vector<float> dx_ref(k * W, 0.0f), dx_vec(k * W, -1.0f), s(2 * W * K);
        std::vector<double> acc_ref(K, 0.5), acc_vec(K, 0.5);
        ProbabilisticBase::ml_grad_lanes_acc<W>(w, xs.data(), k, gs.data(), dx_ref.data(),
                                                acc_ref.data(), s.data());
        if (corners) {
          REQUIRE(corner_lanes16(w, k, xv.data(), gv.data(), dx_vec.data(), acc_vec.data()));
        } else {
          CHECK_FALSE(corner_lanes16(w, k, xv.data(), gv.data(), dx_vec.data(), acc_vec.data()));
          CHECK(acc_vec == std::vector<double>(K, 0.5));  // nothing written
          std::fill(dx_vec.begin(), dx_vec.end(), 0.0f);
          ml_grad_lanes<W>(w, xv.data(), k, gv.data(), dx_vec.data(), s.data(), s.data() + W * K);
          add_corner_sums16(s.data() + W * K, K, acc_vec.data());
        }
        CHECK(dx_vec == dx_ref);
        CHECK(acc_vec == acc_ref);
        // The input gradients added back: into the lanes' own entries only.
        std::vector<float> gx_ref(ot.data<float>(), ot.data<float>() + W * stride), gx_vec(gx_ref);
        for (int s2 = 0; s2 < nl; ++s2)
          for (int l = 0; l < k; ++l) gx_ref[s2 * stride + k + l] += dx_ref[l * W + s2];
        add_lanes16(dx_vec.data(), k, nl, gx_vec.data() + k, stride);
        CHECK(gx_vec == gx_ref);
      }
    }
}
