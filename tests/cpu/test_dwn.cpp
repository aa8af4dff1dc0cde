// The dwn_lut op on the CPU: address bit order, binarisation, exact table gradient, accumulation,
// and the errors it raises.
#include <cmath>
#include <vector>

#include "autograd/graph.h"
#include "lut/node_ops.h"
#include "lut/nodes/dwn_kernels.h"
#include "tensor/random.h"
#include "test_util.h"

using namespace difflut;
using difflut::test::uniform;

TEST_CASE("dwn_lut reads input l as address bit l (least significant first)") {
  // k = 3, N = 8 LUTs: LUT j is positive only at address j. Row b feeds the bits of b to every
  // LUT, so out[b][j] = 1 exactly when b == j. Address 1 (input 0) and 4 (input 2) differ, so a
  // reversed bit order fails.
  const int k = 3, N = 8, B = 8;
  std::vector<float> table(N * 8, -1.f), x(B * N * k);
  for (int j = 0; j < N; ++j) table[j * 8 + j] = 0.25f;
  for (int b = 0; b < B; ++b)
    for (int j = 0; j < N; ++j)
      for (int l = 0; l < k; ++l) x[(b * N + j) * k + l] = ((b >> l) & 1) ? 0.9f : 0.1f;
  Graph g;
  Var y = dwn_lut(g.input(Tensor::from_vector(x, {B, N * k})),
                  g.input(Tensor::from_vector(table, {N, 8}), "table", true), k);
  std::vector<float> out = y.value().to_vector<float>();
  for (int b = 0; b < B; ++b)
    for (int j = 0; j < N; ++j) CHECK(out[b * N + j] == (b == j ? 1.f : 0.f));
  // The saved addresses are the same integers.
  const std::vector<uint8_t> addr = g.node(y.id).saved.at(0).to_vector<uint8_t>();
  for (int b = 0; b < B; ++b)
    for (int j = 0; j < N; ++j) CHECK(addr[b * N + j] == b);
}

TEST_CASE("dwn_lut with a hand-made asymmetric k = 2 table") {
  // T = [T(00), T(01), T(10), T(11)] with "01" meaning input 0 = 1, input 1 = 0 (address 1).
  Graph g;
  Tensor table = Tensor::from_vector<double>({-0.5, 0.7, -0.2, -0.9}, {1, 4});
  Tensor x = Tensor::from_vector<double>({1, 0, 0, 1, 1, 1, 0, 0}, {4, 2});
  Var y = dwn_lut(g.input(x), g.input(table), 2);
  CHECK(y.value().to_vector<double>() == std::vector<double>{1, 0, 0, 0});
}

TEST_CASE("dwn_lut binarises at 0.5: exactly 0.5 reads as 1, the next value below as 0") {
  for (DType dt : {DType::f32, DType::f64}) {
    CAPTURE(dtype_name(dt));
    const double below =
        dt == DType::f32 ? double(std::nextafter(0.5f, 0.f)) : std::nextafter(0.5, 0.0);
    Tensor x = Tensor::from_vector<double>({0.5, below, 0.0, 1.0, 0.75, -3.0}, {6, 1}).to(dt);
    Tensor table = Tensor::from_vector<double>({-1.0, 1.0}, {1, 2}).to(dt);
    Graph g;
    Var y = dwn_lut(g.input(x), g.input(table), 1);
    CHECK(y.value().to(DType::f64).to_vector<double>() == std::vector<double>{1, 0, 0, 1, 1, 0});
  }
}

TEST_CASE("dwn_lut output is 1 only for strictly positive entries") {
  Tensor x = Tensor::from_vector<float>({0, 1}, {2, 1});
  Tensor table = Tensor::from_vector<float>({0.f, -0.f}, {1, 2});
  Graph g;
  Var y = dwn_lut(g.input(x), g.input(table), 1);
  CHECK(y.value().to_vector<float>() == std::vector<float>{0, 0});
}

TEST_CASE("dwn_lut table gradient equals the naive per-sample loop exactly") {
  for (DType dt : {DType::f32, DType::f64}) {
    for (int k : {1, 3, 6, 8}) {
      CAPTURE(k);
      const int B = 37, N = 11, K = 1 << k;
      Generator gen(100 + k);
      Tensor x = uniform({B, N * k}, gen, 0, 1, dt);
      Tensor table = uniform({N, K}, gen, -1, 1, dt);
      Tensor seed = uniform({B, N}, gen, -1, 1, dt);
      Graph g;
      Var vt = g.input(table, "table", true);
      Var y = dwn_lut(g.input(x), vt, k);
      g.backward(y, seed);
      // Naive: every sample adds its gradient to the entry it addressed (summed in double in
      // ascending b, the order the op documents).
      std::vector<double> xv = x.to(DType::f64).to_vector<double>();
      std::vector<double> sv = seed.to(DType::f64).to_vector<double>();
      std::vector<double> acc(static_cast<size_t>(N * K), 0.0);
      for (int b = 0; b < B; ++b)
        for (int j = 0; j < N; ++j) {
          int a = 0;
          for (int l = 0; l < k; ++l) a += (xv[(b * N + j) * k + l] >= 0.5 ? 1 : 0) * (1 << l);
          acc[j * K + a] += sv[b * N + j];
        }
      test::check_equal(g.grad(vt), Tensor::from_vector(acc, {N, K}).to(dt));
    }
  }
}

TEST_CASE("dwn_lut backward twice without zeroing gives exactly twice the gradients") {
  const int k = 4, B = 9, N = 5;
  Generator gen(7);
  Parameter px, pt;
  px.name = "x";
  px.value = uniform({B, N * k}, gen, 0, 1, DType::f32);
  pt.name = "table";
  pt.value = uniform({N, 16}, gen, -1, 1, DType::f32);
  Tensor seed = uniform({B, N}, gen, -1, 1, DType::f32);
  Graph g;
  Var y = dwn_lut(g.param(px), g.param(pt), k);
  g.backward(y, seed);
  Tensor gx1 = px.grad.clone(), gt1 = pt.grad.clone();
  g.backward(y, seed);
  std::vector<float> a = gx1.to_vector<float>(), b = px.grad.to_vector<float>();
  for (size_t i = 0; i < a.size(); ++i) CHECK(b[i] == 2 * a[i]);
  a = gt1.to_vector<float>();
  b = pt.grad.to_vector<float>();
  for (size_t i = 0; i < a.size(); ++i) CHECK(b[i] == 2 * a[i]);
  CHECK(test::max_abs_diff(gx1, Tensor::zeros(gx1.shape())) > 0);  // non-trivial
}

TEST_CASE("dwn_lut computes no input gradient when x needs none") {
  // Only the table requires a gradient: the engine passes null for x and the op must cope.
  Generator gen(3);
  Tensor x = uniform({4, 6}, gen, 0, 1, DType::f32);
  Graph g;
  Var vt = g.input(uniform({2, 8}, gen, -1, 1, DType::f32), "t", true);
  Var y = dwn_lut(g.input(x), vt, 3);
  g.backward(y, Tensor::ones({4, 2}));
  CHECK(g.grad(vt).numel() == 16);
}

TEST_CASE("dwn_lut rejects k outside [1, 8] and mismatched shapes, naming the op") {
  Graph g;
  auto xin = [&](int64_t B, int64_t F) { return g.input(Tensor::zeros({B, F})); };
  CHECK_THROWS_WITH_AS(dwn_lut(xin(2, 0), g.input(Tensor::zeros({0, 1})), 0),
                       doctest::Contains("dwn_lut: k must be in [1, 8], found 0"), Error);
  CHECK_THROWS_WITH_AS(dwn_lut(xin(2, 9), g.input(Tensor::zeros({1, 512})), 9),
                       doctest::Contains("dwn_lut: k must be in [1, 8], found 9"), Error);
  CHECK_THROWS_WITH_AS(dwn_lut(xin(2, 7), g.input(Tensor::zeros({2, 16})), 4),
                       doctest::Contains("dwn_lut: expected x [B, N*k] = [B, 8]"), Error);
  CHECK_THROWS_WITH_AS(dwn_lut(xin(2, 8), g.input(Tensor::zeros({2, 8})), 4),
                       doctest::Contains("expected table [N, 2^k] = [2, 16]"), Error);
  CHECK_THROWS_WITH_AS(dwn_lut(xin(2, 8), g.input(Tensor::zeros({2, 16}, DType::f64)), 4),
                       doctest::Contains("dwn_lut: expected x and table of one dtype"), Error);
}

TEST_CASE("dwn default EFD constants follow torch_dwn") {
  CHECK(dwn_default_alpha(1) == doctest::Approx(0.5));
  CHECK(dwn_default_alpha(6) == doctest::Approx(0.5 * std::pow(0.75, 5)));
  CHECK(kDwnDefaultBeta == doctest::Approx(1.0 / 3.0));
}
