// Op cases of the dense family: matmul (odd sizes, sizes across the CPU GEMM's blocking and the
// CUDA tiles, K = 1), softmax and log_softmax along every axis (long rows, huge logits), and
// cross_entropy with i32 and i64 labels (B = 1 up to 1000).
#include <cmath>

#include "autograd/ops.h"
#include "op_case.h"

namespace difflut::optest {

namespace {

Tensor matmul_reference(const Tensors& in) {
  const int64_t M = in[0].size(0), K = in[0].size(1), N = in[1].size(1);
  const std::vector<double> a = values(in[0]), b = values(in[1]);
  std::vector<double> c(static_cast<size_t>(M * N));
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      long double s = 0;
      for (int64_t k = 0; k < K; ++k)
        s += static_cast<long double>(a[static_cast<size_t>(i * K + k)]) *
             b[static_cast<size_t>(k * N + j)];
      c[static_cast<size_t>(i * N + j)] = static_cast<double>(s);
    }
  return f64_tensor(c, {M, N});
}

// softmax or log_softmax of x along `axis` by the definition, shifted by the line maximum.
std::vector<double> softmax_values(const std::vector<double>& x, const Shape& s, int axis,
                                   bool log_space) {
  const AxisSplit p = split_at(s, axis);
  std::vector<double> y(x.size());
  for (int64_t o = 0; o < p.outer; ++o)
    for (int64_t i = 0; i < p.inner; ++i) {
      auto at = [&](int64_t e) { return static_cast<size_t>((o * p.extent + e) * p.inner + i); };
      double m = x[at(0)];
      for (int64_t e = 1; e < p.extent; ++e) m = std::max(m, x[at(e)]);
      double z = 0;
      for (int64_t e = 0; e < p.extent; ++e) z += std::exp(x[at(e)] - m);
      for (int64_t e = 0; e < p.extent; ++e)
        y[at(e)] = log_space ? x[at(e)] - m - std::log(z) : std::exp(x[at(e)] - m) / z;
    }
  return y;
}

ReferenceFn softmax_reference(int axis, bool log_space) {
  return [axis, log_space](const Tensors& in) {
    return f64_tensor(softmax_values(values(in[0]), in[0].shape(), axis, log_space), in[0].shape());
  };
}

Tensor cross_entropy_reference(const Tensors& in) {
  const int64_t B = in[0].size(0), C = in[0].size(1);
  const std::vector<double> lp = softmax_values(values(in[0]), in[0].shape(), 1, true);
  const std::vector<double> labels = values(in[1]);
  double loss = 0;
  for (int64_t b = 0; b < B; ++b)
    loss -= lp[static_cast<size_t>(b * C + static_cast<int64_t>(labels[static_cast<size_t>(b)]))];
  return f64_tensor({loss / static_cast<double>(B)}, {1});
}

void add_matmul_cases(std::vector<OpCase>& cases) {
  struct Size {
    int64_t M, K, N;
    bool large;
  };
  const Size sizes[] = {{5, 7, 3, false},   {1, 1, 1, false},   {5, 1, 7, false},
                        {1, 300, 1, false}, {37, 53, 29, true}, {203, 517, 301, true},
                        {1, 1, 64, true},   {13, 270, 9, true}};
  for (const Size& z : sizes) {
    OpCase c;
    c.op = "matmul";
    c.variant = std::to_string(z.M) + "x" + std::to_string(z.K) + " by " + std::to_string(z.K) +
                "x" + std::to_string(z.N);
    c.inputs = [z](Generator& gen) {
      return Tensors{with_edges(Tensor::randn({z.M, z.K}, gen, DType::f64), {0.0}),
                     Tensor::randn({z.K, z.N}, gen, DType::f64)};
    };
    c.build = [](const std::vector<Var>& v) { return matmul(v[0], v[1]); };
    c.reference = matmul_reference;
    const double r = std::sqrt(static_cast<double>(z.K));
    c.tol_f32 = 5e-6 * r;
    c.tol_f64 = 1e-13 * r;
    c.large = z.large;
    cases.push_back(c);
  }
}

void add_softmax_cases(std::vector<OpCase>& cases) {
  for (bool log_space : {false, true}) {
    const char* name = log_space ? "log_softmax" : "softmax";
    for (int pass = 0; pass < 2; ++pass)
      for (int axis : {0, 1, 2, -1, -3}) {
        const Shape s = pass == 0 ? Shape{3, 4, 5} : Shape{6, 7, 33};
        OpCase c;
        c.op = name;
        c.variant = shape_str(s) + " axis " + std::to_string(axis);
        c.inputs = [s](Generator& gen) {
          return Tensors{with_edges(Tensor::randn(s, gen, DType::f64), {0.0, 0.0, -3.0})};
        };
        c.build = [log_space, axis](const std::vector<Var>& v) {
          return log_space ? log_softmax(v[0], axis) : softmax(v[0], axis);
        };
        c.reference = softmax_reference(axis, log_space);
        c.large = pass == 1;
        cases.push_back(c);
      }
    OpCase lng;
    lng.op = name;
    lng.variant = "long rows [70, 1500]";
    lng.inputs = [](Generator& gen) { return Tensors{Tensor::randn({70, 1500}, gen, DType::f64)}; };
    lng.build = [log_space](const std::vector<Var>& v) {
      return log_space ? log_softmax(v[0]) : softmax(v[0], 1);
    };
    lng.reference = softmax_reference(-1, log_space);
    lng.large = true;
    cases.push_back(lng);
    // Huge logits: no overflow, -inf-free outputs (a naive exp would give inf / NaN).
    OpCase huge;
    huge.op = name;
    huge.variant = "huge logits";
    huge.inputs = [](Generator&) {
      return Tensors{f64_tensor({1000, 999, -1000, 1e4, 1e4, 1e4, -50, 0, 50}, {3, 3})};
    };
    huge.build = lng.build;
    huge.reference = lng.reference;
    huge.tol_f32 = 1e-4;  // log_softmax in f32: one ulp of 1000 is 6e-5
    huge.large = true;    // extreme values: the gradient along one direction only
    cases.push_back(huge);
  }
}

void add_cross_entropy_cases(std::vector<OpCase>& cases) {
  for (DType ldt : {DType::i64, DType::i32})
    for (int64_t B : {1, 6, 37, 1000}) {
      const int64_t C = B == 1000 ? 10 : B == 37 ? 130 : 5;
      OpCase c;
      c.op = "cross_entropy";
      c.variant = "B = " + std::to_string(B) + " C = " + std::to_string(C) + " labels " +
                  std::string(dtype_name(ldt));
      c.inputs = [B, C, ldt](Generator& gen) {
        Tensor labels = Tensor::randint({B}, 0, C, gen, ldt);
        return Tensors{with_edges(Tensor::randn({B, C}, gen, DType::f64), {0.0, 0.0}), labels};
      };
      c.build = [](const std::vector<Var>& v) { return cross_entropy(v[0], v[1]); };
      c.reference = cross_entropy_reference;
      c.tol_f32 = 2e-6 * std::sqrt(static_cast<double>(B));
      c.large = B > 6;
      cases.push_back(c);
    }
  OpCase huge;
  huge.op = "cross_entropy";
  huge.variant = "huge logits";
  huge.inputs = [](Generator&) {
    return Tensors{f64_tensor({1000, 999, -1000, 1e4, 1e4, 1e4}, {2, 3}),
                   Tensor::from_vector<int64_t>({2, 0}, {2})};
  };
  huge.build = [](const std::vector<Var>& v) { return cross_entropy(v[0], v[1]); };
  huge.reference = cross_entropy_reference;
  huge.tol_f32 = 1e-6;
  huge.large = true;
  cases.push_back(huge);
}

}  // namespace

void add_dense_cases(std::vector<OpCase>& cases) {
  add_matmul_cases(cases);
  add_softmax_cases(cases);
  add_cross_entropy_cases(cases);
}

}  // namespace difflut::optest
