// Row-wise LUT addresses and table look-ups (lut/nodes/node_address_cpu.h), which the forward of
// lookup node types (hybrid, dwn_stable), the dwn_lut op and every eval forward read: the vector
// path gives node_address's value for every k, every row length (blocks of 16 and a tail) and the
// awkward inputs (exactly 0.5, just below it, NaN, ±inf, signed zeros); the look-up reads the
// addressed entry; and the hybrid op's training and eval outputs are the table entries at the
// per-node address.
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "autograd/graph.h"
#include "lut/node_ops.h"
#include "lut/nodes/node_address_cpu.h"
#include "lut/nodes/node_math_common.h"
#include "tensor/random.h"
#include "test_util.h"

using namespace difflut;
using namespace difflut::nodes;

namespace {

// Inputs mixing uniform values with the ones a threshold at 0.5 gets wrong most easily.
std::vector<float> awkward_inputs(int64_t n, uint32_t seed) {
  const float specials[] = {0.5f,
                            std::nextafter(0.5f, 0.0f),
                            std::nextafter(0.5f, 1.0f),
                            0.0f,
                            -0.0f,
                            1.0f,
                            std::numeric_limits<float>::quiet_NaN(),
                            std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(),
                            -3.0f,
                            7.0f};
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-0.25f, 1.25f);
  std::vector<float> x(static_cast<size_t>(n));
  for (float& v : x) v = (rng() % 3 == 0) ? specials[rng() % std::size(specials)] : u(rng);
  return x;
}

struct ScalarOnly {  // restores the vector path when a check fails mid-test
  ScalarOnly() { set_node_address_scalar_only(true); }
  ~ScalarOnly() { set_node_address_scalar_only(false); }
};

}  // namespace

TEST_CASE("node addresses of a row: node_address per node, on every path, for every k") {
  for (int k = 1; k <= kMaxK; ++k)
    for (int64_t N : {1, 15, 16, 17, 48, 101}) {
      CAPTURE(k);
      CAPTURE(N);
      const std::vector<float> x = awkward_inputs(N * k, static_cast<uint32_t>(97 * k + N));
      std::vector<uint32_t> fast(static_cast<size_t>(N), 0xdeadu), plain(fast);
      node_addresses_row(x.data(), N, k, fast.data());
      {
        ScalarOnly scalar;
        node_addresses_row(x.data(), N, k, plain.data());
      }
      std::vector<double> xd(x.begin(), x.end());
      std::vector<uint32_t> dbl(static_cast<size_t>(N));
      node_addresses_row(xd.data(), N, k, dbl.data());
      for (int64_t j = 0; j < N; ++j) {
        const uint32_t want = node_address(x.data() + j * k, k);
        CHECK(fast[j] == want);
        CHECK(plain[j] == want);
        CHECK(dbl[j] == want);
      }
    }
}

TEST_CASE("table look-up of a row: entry addr[j] of node j's table, on every path") {
  std::mt19937 rng(5);
  for (int64_t stride : {2, 16, 64, 448})
    for (int64_t N : {1, 16, 33}) {
      CAPTURE(stride);
      CAPTURE(N);
      std::vector<float> table(static_cast<size_t>(N * stride));
      for (size_t i = 0; i < table.size(); ++i) table[i] = static_cast<float>(i) * 0.25f - 3.0f;
      std::vector<uint32_t> addr(static_cast<size_t>(N));
      for (uint32_t& a : addr) a = static_cast<uint32_t>(rng() % stride);
      std::vector<float> fast(static_cast<size_t>(N)), plain(fast);
      lookup_row(table.data(), stride, addr.data(), N, fast.data());
      {
        ScalarOnly scalar;
        lookup_row(table.data(), stride, addr.data(), N, plain.data());
      }
      std::vector<double> td(table.begin(), table.end()), dbl(static_cast<size_t>(N));
      lookup_row(td.data(), stride, addr.data(), N, dbl.data());
      for (int64_t j = 0; j < N; ++j) {
        CHECK(fast[j] == table[j * stride + addr[j]]);
        CHECK(plain[j] == fast[j]);
        CHECK(dbl[j] == static_cast<double>(fast[j]));
      }
    }
}

TEST_CASE("hybrid op forward: σ(θ) at each node's address in training, its sign in eval") {
  const int k = 4, K = 1 << k;
  const int64_t B = 5, N = 37;  // two blocks of 16 nodes and a tail per row
  Generator gen(21);
  const std::vector<float> xs = awkward_inputs(B * N * k, 3);
  Tensor x = Tensor::empty({B, N * k}, DType::f32);
  std::copy(xs.begin(), xs.end(), x.data<float>());
  Tensor theta = Tensor::randn({N, K}, gen);
  for (bool training : {true, false}) {
    CAPTURE(training);
    Graph graph;
    const Tensor y =
        hybrid_lut(graph.input(x, "x"), graph.input(theta, "theta"), k, training).value();
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < N; ++j) {
        const float th = theta.data<float>()[j * K + node_address(xs.data() + (b * N + j) * k, k)];
        const float want = training ? node_sigmoid(th) : (th >= 0.0f ? 1.0f : 0.0f);
        CHECK(y.data<float>()[b * N + j] == want);
      }
  }
}
