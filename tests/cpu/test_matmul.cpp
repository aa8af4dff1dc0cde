// matmul on the CPU: forward against a naive triple loop (odd sizes, sizes that cross every
// blocking boundary, both micro-kernels), thread-count independence, the GEMM's transposed and
// accumulating forms, backward against naive products, and shape/dtype errors.
#include <vector>

#include "autograd/ops.h"
#include "autograd/ops/matmul/matmul_kernels.h"
#include "tensor/parallel.h"
#include "tensor/random.h"
#include "test_util.h"

using namespace difflut;

namespace {

// C [M, N] = op(A) op(B) in long double, straight from the definition.
template <class T>
std::vector<double> naive_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K,
                               const std::vector<T>& A, const std::vector<T>& B) {
  std::vector<double> C(static_cast<size_t>(M * N));
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      long double s = 0;
      for (int64_t k = 0; k < K; ++k) {
        const T a = ta ? A[static_cast<size_t>(k * M + i)] : A[static_cast<size_t>(i * K + k)];
        const T b = tb ? B[static_cast<size_t>(j * K + k)] : B[static_cast<size_t>(k * N + j)];
        s += static_cast<long double>(a) * b;
      }
      C[static_cast<size_t>(i * N + j)] = static_cast<double>(s);
    }
  return C;
}

template <class T>
void check_matmul_against_naive(int64_t M, int64_t K, int64_t N, uint64_t seed, double tol) {
  Generator gen(seed);
  Tensor a = Tensor::randn({M, K}, gen, dtype_of<T>);
  Tensor b = Tensor::randn({K, N}, gen, dtype_of<T>);
  Graph g;
  Tensor c = matmul(g.input(a), g.input(b)).value();
  REQUIRE(c.shape() == Shape{M, N});
  std::vector<double> ref =
      naive_gemm<T>(false, false, M, N, K, a.to_vector<T>(), b.to_vector<T>());
  test::check_close(c, Tensor::from_vector(ref, {M, N}), tol, tol);
}

struct PortableGuard {
  explicit PortableGuard(bool on) { set_gemm_cpu_portable_only(on); }
  ~PortableGuard() { set_gemm_cpu_portable_only(false); }
};

}  // namespace

TEST_CASE("matmul equals the triple loop on odd sizes, f32 and f64, both micro-kernels") {
  for (bool portable : {false, true}) {
    CAPTURE(portable);
    PortableGuard guard(portable);
    check_matmul_against_naive<float>(37, 53, 29, 1, 1e-4);
    check_matmul_against_naive<double>(37, 53, 29, 2, 1e-12);
    check_matmul_against_naive<float>(1, 1, 1, 3, 1e-6);
    check_matmul_against_naive<double>(5, 1, 7, 4, 1e-12);
    check_matmul_against_naive<double>(1, 300, 1, 5, 1e-12);
  }
}

TEST_CASE("matmul equals the triple loop across block boundaries and threads") {
  // M > 96 and N > 256 give several tiles (threads), K > 256 several k slabs; none are multiples.
  for (bool portable : {false, true}) {
    CAPTURE(portable);
    PortableGuard guard(portable);
    check_matmul_against_naive<float>(203, 517, 301, 6, 2e-4);
    check_matmul_against_naive<double>(203, 517, 301, 7, 1e-11);
  }
}

TEST_CASE("matmul results are bit-identical for 1 and several threads") {
  Generator gen(8);
  Tensor a = Tensor::randn({190, 300}, gen), b = Tensor::randn({300, 530}, gen);
  const int saved = num_threads();
  set_num_threads(1);
  Graph g1;
  Tensor c1 = matmul(g1.input(a), g1.input(b)).value().clone();
  set_num_threads(4);
  Graph g4;
  Tensor c4 = matmul(g4.input(a), g4.input(b)).value().clone();
  set_num_threads(saved);
  test::check_equal(c1, c4);
}

TEST_CASE("gemm_cpu handles transposed operands and accumulates into C") {
  const int64_t M = 41, N = 35, K = 300;
  Generator gen(9);
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      CAPTURE(ta);
      CAPTURE(tb);
      std::vector<double> A = Tensor::randn({M * K}, gen, DType::f64).to_vector<double>();
      std::vector<double> B = Tensor::randn({K * N}, gen, DType::f64).to_vector<double>();
      std::vector<double> C(static_cast<size_t>(M * N), 0.5);
      gemm_cpu<double>(ta, tb, M, N, K, A.data(), ta ? M : K, B.data(), tb ? K : N, C.data(), N,
                       true);
      std::vector<double> ref = naive_gemm<double>(ta, tb, M, N, K, A, B);
      for (double& v : ref) v += 0.5;
      test::check_close(Tensor::from_vector(C, {M, N}), Tensor::from_vector(ref, {M, N}), 1e-11,
                        1e-11);
    }
}

TEST_CASE("matmul with K = 0 gives zeros") {
  Graph g;
  Tensor c = matmul(g.input(Tensor::empty({3, 0})), g.input(Tensor::empty({0, 4}))).value();
  test::check_equal(c, Tensor::zeros({3, 4}));
}

TEST_CASE("matmul backward gives g·Bᵀ and Aᵀ·g, and accumulates on a second backward") {
  const int64_t M = 13, K = 270, N = 9;
  Generator gen(10);
  Tensor a = Tensor::randn({M, K}, gen, DType::f64), b = Tensor::randn({K, N}, gen, DType::f64);
  Tensor w = Tensor::randn({M, N}, gen, DType::f64);
  Graph g;
  Var va = g.input(a, "a", true), vb = g.input(b, "b", true);
  Var c = matmul(va, vb);
  g.backward(c, w);
  std::vector<double> da =
      naive_gemm<double>(false, true, M, K, N, w.to_vector<double>(), b.to_vector<double>());
  std::vector<double> db =
      naive_gemm<double>(true, false, K, N, M, a.to_vector<double>(), w.to_vector<double>());
  test::check_close(g.grad(va), Tensor::from_vector(da, {M, K}), 1e-11, 1e-11);
  test::check_close(g.grad(vb), Tensor::from_vector(db, {K, N}), 1e-11, 1e-11);

  // Both operands are the same leaf: the two contributions add (diamond).
  Tensor s = Tensor::randn({7, 7}, gen, DType::f64), w2 = Tensor::randn({7, 7}, gen, DType::f64);
  Graph g2;
  Var vs = g2.input(s, "s", true);
  g2.backward(matmul(vs, vs), w2);
  std::vector<double> sv = s.to_vector<double>(), wv = w2.to_vector<double>();
  std::vector<double> d1 = naive_gemm<double>(false, true, 7, 7, 7, wv, sv);
  std::vector<double> d2 = naive_gemm<double>(true, false, 7, 7, 7, sv, wv);
  for (size_t i = 0; i < d1.size(); ++i) d1[i] += d2[i];
  test::check_close(g2.grad(vs), Tensor::from_vector(d1, {7, 7}), 1e-11, 1e-11);
}

TEST_CASE("matmul rejects mismatched inner dimensions, dtypes and ranks, naming the op") {
  Graph g;
  Var a = g.input(Tensor::zeros({3, 4})), b = g.input(Tensor::zeros({5, 6}));
  CHECK_THROWS_WITH_AS(matmul(a, b), doctest::Contains("matmul: inner dimensions differ"), Error);
  CHECK_THROWS_WITH_AS(matmul(a, b), doctest::Contains("f32[3, 4]"), Error);
  CHECK_THROWS_WITH_AS(matmul(a, b), doctest::Contains("f32[5, 6]"), Error);
  Var d = g.input(Tensor::zeros({4, 2}, DType::f64));
  CHECK_THROWS_WITH_AS(matmul(a, d), doctest::Contains("matmul"), Error);
  Var i = g.input(Tensor::zeros({4, 2}, DType::i64));
  CHECK_THROWS_WITH_AS(matmul(a, i), doctest::Contains("matmul"), Error);
  Var v = g.input(Tensor::zeros({4}));
  CHECK_THROWS_WITH_AS(matmul(a, v), doctest::Contains("matmul: expected 2-D"), Error);
  CHECK(g.size() == 5);  // failed ops leave the graph unchanged
}
