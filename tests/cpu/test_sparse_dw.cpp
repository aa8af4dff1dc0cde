// The sparse mapping's CPU dW over per-slot input lists (lut/sparse_dw_cpu.h) and its vectorised
// hard choice (sparse_mapping_choice_cpu): the bit path equals the plain sum over the batch for any
// batch size and list length (vector loop and tail), agrees with the float path up to rounding,
// adds to its output, is taken only for binary inputs, and gives the same bits for any thread
// count; the choice is the scalar rule's index for ties, signed zeros and NaNs.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "autograd/graph.h"
#include "autograd/ops.h"
#include "lut/sparse_dw_cpu.h"
#include "lut/sparse_mapping.h"
#include "lut/sparse_mapping_kernels.h"
#include "lut/sparse_mapping_math.h"
#include "tensor/error.h"
#include "tensor/parallel.h"
#include "tensor/tensor.h"

using namespace difflut;

namespace {

struct Case {
  int64_t B, F, S, K;
  std::vector<float> x, g;
  std::vector<int32_t> idx;
};

Case make_case(int64_t B, int64_t F, int64_t S, int64_t K, uint32_t seed, bool binary = true) {
  Case c{B, F, S, K, {}, {}, {}};
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  c.x.resize(static_cast<size_t>(B * F));
  for (float& v : c.x) v = binary ? static_cast<float>(rng() & 1u) : normal(rng);
  c.g.resize(static_cast<size_t>(B * S));
  for (float& v : c.g) v = normal(rng);
  c.idx.resize(static_cast<size_t>(S * K));
  for (int32_t& v : c.idx) v = static_cast<int32_t>(rng() % static_cast<uint32_t>(F));
  return c;
}

// The definition, summed in double.
std::vector<double> reference(const Case& c) {
  std::vector<double> out(static_cast<size_t>(c.S * c.K), 0.0);
  for (int64_t s = 0; s < c.S; ++s)
    for (int64_t k = 0; k < c.K; ++k)
      for (int64_t b = 0; b < c.B; ++b) {
        const double x =
            c.x[static_cast<size_t>(b * c.F + c.idx[static_cast<size_t>(s * c.K + k)])];
        out[static_cast<size_t>(s * c.K + k)] +=
            (2 * x - 1) * c.g[static_cast<size_t>(b * c.S + s)];
      }
  return out;
}

std::vector<float> run(const Case& c, SparseDwPath path, float start = 0.0f) {
  std::vector<float> out(static_cast<size_t>(c.S * c.K), start);
  sparse_dw_over_batch(c.x.data(), c.g.data(), c.B, c.F, c.S, c.idx.data(), c.K, out.data(), path);
  return out;
}

}  // namespace

TEST_CASE("sparse dW bit path: the batch sum for any batch size and list length") {
  // Batch sizes around the 32-sample word and list lengths around the 16-term vector loop.
  for (const int64_t B : {1, 5, 31, 32, 33, 70}) {
    for (const int64_t K : {1, 7, 16, 17, 40}) {
      CAPTURE(B);
      CAPTURE(K);
      const Case c = make_case(B, 50, 13, K, static_cast<uint32_t>(B * 100 + K));
      const std::vector<double> want = reference(c);
      const std::vector<float> bits = run(c, SparseDwPath::bits);
      const std::vector<float> floats = run(c, SparseDwPath::floats);
      for (size_t e = 0; e < want.size(); ++e) {
        CHECK(bits[e] == doctest::Approx(want[e]).epsilon(1e-5).scale(1.0));
        CHECK(floats[e] == doctest::Approx(want[e]).epsilon(1e-5).scale(1.0));
      }
      CHECK(run(c, SparseDwPath::automatic) == (K >= 16 ? bits : floats));
    }
  }
}

TEST_CASE(
    "sparse dW: short lists over binary inputs give the float path's bits from packed words") {
  // Below 16 terms a slot, automatic reads binary inputs as packed words when the batch is whole
  // 32-sample words, but must sum exactly as the float path does (training keeps its bits). Signed
  // zeros in g, one-word and two-word chunks, and partial groups of eight entries included.
  for (const int64_t B : {32, 64, 96, 160}) {
    for (const int64_t K : {1, 7, 8, 9, 15}) {
      CAPTURE(B);
      CAPTURE(K);
      Case c = make_case(B, 60, 17, K, static_cast<uint32_t>(B * 31 + K));
      for (size_t e = 0; e < c.g.size(); e += 7) c.g[e] = (e / 7) % 2 ? 0.0f : -0.0f;
      const std::vector<float> floats = run(c, SparseDwPath::floats, 0.25f);
      const std::vector<float> automatic = run(c, SparseDwPath::automatic, 0.25f);
      int64_t differ = 0;
      for (size_t e = 0; e < floats.size(); ++e)
        differ += std::memcmp(&floats[e], &automatic[e], sizeof(float)) != 0;
      CHECK(differ == 0);
    }
  }
}

// The bit path's own rule, in plain float: per 32-sample chunk, group q's signed sum
// (+-g0 +- g1) + (+-g2 +- g3) by the input's four bits, the eight groups added in a fixed tree.
// Whatever instructions the path uses (the AVX-512 one builds its tables in vector registers),
// it must give these bits exactly: training then gives the same bits on every CPU.
std::vector<float> table_rule(const Case& c) {
  std::vector<float> out(static_cast<size_t>(c.S * c.K), 0.0f);
  for (int64_t b0 = 0; b0 < c.B; b0 += 32)
    for (int64_t s = 0; s < c.S; ++s)
      for (int64_t k = 0; k < c.K; ++k) {
        const int32_t i = c.idx[static_cast<size_t>(s * c.K + k)];
        float group[8];
        for (int q = 0; q < 8; ++q) {
          float v[4];
          for (int j = 0; j < 4; ++j) {
            const int64_t b = b0 + 4 * q + j;
            const float gv = b < c.B ? c.g[static_cast<size_t>(b * c.S + s)] : 0.0f;
            const bool on = b < c.B && c.x[static_cast<size_t>(b * c.F + i)] != 0.0f;
            v[j] = on ? gv : -gv;
          }
          group[q] = (v[0] + v[1]) + (v[2] + v[3]);
        }
        const float term = ((group[0] + group[1]) + (group[2] + group[3])) +
                           ((group[4] + group[5]) + (group[6] + group[7]));
        out[static_cast<size_t>(s * c.K + k)] += term;
      }
  return out;
}

TEST_CASE("sparse dW bit path: the table rule's float bits, vector loop and tail alike") {
  for (const int64_t B : {3, 32, 45, 96}) {
    for (const int64_t K : {5, 16, 33, 128}) {
      CAPTURE(B);
      CAPTURE(K);
      const Case c = make_case(B, 70, 11, K, static_cast<uint32_t>(B * 1000 + K));
      const std::vector<float> want = table_rule(c);
      const std::vector<float> got = run(c, SparseDwPath::bits);
      for (size_t e = 0; e < want.size(); ++e) {
        CAPTURE(e);
        CHECK(got[e] == want[e]);
      }
    }
  }
}

TEST_CASE("sparse dW bit path in double and its accumulation into the output") {
  const Case c = make_case(40, 30, 9, 20, 11);
  std::vector<double> x(c.x.begin(), c.x.end()), g(c.g.begin(), c.g.end());
  std::vector<double> out(static_cast<size_t>(c.S * c.K), 0.5);
  sparse_dw_over_batch(x.data(), g.data(), c.B, c.F, c.S, c.idx.data(), c.K, out.data(),
                       SparseDwPath::bits);
  const std::vector<double> want = reference(c);
  for (size_t e = 0; e < want.size(); ++e) CHECK(out[e] == doctest::Approx(want[e] + 0.5));
  const std::vector<float> added = run(c, SparseDwPath::bits, 2.0f);
  for (size_t e = 0; e < want.size(); ++e)
    CHECK(added[e] == doctest::Approx(want[e] + 2.0).epsilon(1e-5));
}

TEST_CASE("sparse dW: inputs that are not binary take the float path; the bit path refuses them") {
  Case c = make_case(32, 20, 5, 16, 3);
  c.x[7] = 0.5f;
  CHECK(run(c, SparseDwPath::automatic) == run(c, SparseDwPath::floats));
  CHECK_THROWS_WITH_AS(run(c, SparseDwPath::bits),
                       "sparse dW: the bit path expects every input 0 or 1, found other values",
                       Error);
  c.x[7] = std::numeric_limits<float>::quiet_NaN();
  CHECK_FALSE(all_binary(c.x.data(), static_cast<int64_t>(c.x.size())));
  c.x[7] = 1.0f;
  CHECK(all_binary(c.x.data(), static_cast<int64_t>(c.x.size())));
}

TEST_CASE("sparse dW: the same bits for one thread and for several") {
  const Case c = make_case(64, 300, 2000, 24, 5);
  const int saved = num_threads();
  set_num_threads(1);
  const std::vector<float> one = run(c, SparseDwPath::bits);
  set_num_threads(4);
  const std::vector<float> four = run(c, SparseDwPath::bits);
  set_num_threads(saved);
  CHECK(one == four);
}

TEST_CASE("sparse choice on the CPU: the scalar rule's index for ties, signed zeros and NaNs") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::mt19937 rng(9);
  for (const int64_t C : {1, 3, 15, 16, 17, 33, 64, 100}) {
    CAPTURE(C);
    std::vector<std::vector<float>> rows;
    std::vector<float> r(static_cast<size_t>(C));
    for (float& v : r) v = static_cast<float>(rng() % 5);  // many ties
    rows.push_back(r);
    std::vector<float> z(static_cast<size_t>(C), -0.0f);
    z.back() = 0.0f;  // -0 first, +0 last: equal, so the first wins
    rows.push_back(z);
    std::vector<float> n = r;
    n[0] = nan;  // a NaN first score keeps index 0
    rows.push_back(n);
    std::vector<float> m = r;
    m[static_cast<size_t>(C / 2)] = nan;  // a NaN later is never chosen
    rows.push_back(m);
    std::vector<float> neg(static_cast<size_t>(C), -std::numeric_limits<float>::infinity());
    rows.push_back(neg);
    for (const std::vector<float>& row : rows) {
      const Tensor w = Tensor::from_vector(row, {1, C});
      std::vector<int32_t> cv(static_cast<size_t>(C));
      for (int64_t k = 0; k < C; ++k) cv[static_cast<size_t>(k)] = static_cast<int32_t>(k);
      const Tensor cand = Tensor::from_vector(cv, {1, C});
      Tensor idx = Tensor::empty({1}, DType::i32, Device::cpu);
      sparse_mapping_choice_cpu(w, cand, idx);
      CHECK(idx.to_vector<int32_t>()[0] == sparse_choice(row.data(), C));
    }
  }
}

TEST_CASE("sparse mapping dx: the entries of softmax weight 0 left out, the sum over all of them") {
  // tau = 0.001 over uniform scores: most losers' weights underflow to exactly 0 and are skipped;
  // the reference sums every entry of the CSR list in the same order, zeros included. Equal up to
  // rounding only: the kernel fuses multiply-adds (all of them on the AVX-512 path, those GCC
  // contracts in the portable loop), so a shorter list can round differently. Batches of 8 and 37
  // (two 16-row chunks of the vector path and a tail).
  for (const int64_t B : {8, 37}) {
    CAPTURE(B);
    const int64_t F = 40, S = 300, C = 20;
    std::mt19937 rng(4);
    std::uniform_real_distribution<float> unit(0.0f, 1.0f);
    std::vector<float> xv(static_cast<size_t>(B * F)), wv(static_cast<size_t>(S * C)),
        gv(static_cast<size_t>(B * S));
    for (float& v : xv) v = unit(rng);
    for (float& v : wv) v = unit(rng);
    for (float& v : gv) v = unit(rng) - 0.5f;
    std::vector<int32_t> cv(static_cast<size_t>(S * C));
    for (int64_t s = 0; s < S; ++s)
      for (int64_t c = 0; c < C; ++c)
        cv[static_cast<size_t>(s * C + c)] = static_cast<int32_t>((s * 7 + c * 3) % F);
    const Tensor cand = Tensor::from_vector(cv, {S, C});
    const SparseMappingIndex index = make_sparse_mapping_index(cand, F, Device::cpu);
    const double tau = 1e-3;
    Graph g;
    Var x = g.input(Tensor::from_vector(xv, {B, F}), "x", true);
    Var w = g.input(Tensor::from_vector(wv, {S, C}), "w", true);
    Var y = sparse_mapping(x, w, index, tau);
    g.backward(sum_all(mul(y, g.input(Tensor::from_vector(gv, {B, S}), "g"))));
    const std::vector<float> dx = g.grad(x).to_vector<float>();
    std::vector<float> p(static_cast<size_t>(S * C));
    for (int64_t s = 0; s < S; ++s)
      sparse_softmax(wv.data() + s * C, C, static_cast<float>(tau), p.data() + s * C);
    const std::vector<int32_t> off = index.offsets.to_vector<int32_t>();
    const std::vector<int32_t> pos = index.positions.to_vector<int32_t>();
    int64_t zeros = 0;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t i = 0; i < F; ++i) {
        float acc = 0.0f;
        for (int32_t k = off[static_cast<size_t>(i)]; k < off[static_cast<size_t>(i + 1)]; ++k) {
          const float pk = p[static_cast<size_t>(pos[static_cast<size_t>(k)])];
          zeros += b == 0 && pk == 0.0f;
          acc += gv[static_cast<size_t>(b * S + pos[static_cast<size_t>(k)] / C)] * pk;
        }
        CHECK(dx[static_cast<size_t>(b * F + i)] == doctest::Approx(acc).epsilon(1e-6).scale(1.0));
      }
    MESSAGE(zeros << " of " << S * C << " entries have weight 0");
    CHECK(zeros > S * C / 2);
  }
}
