// Helpers for writing op cases, and the table gathered from every family (see op_case.h).
#include "op_case.h"

#include <cmath>

namespace difflut::optest {

const std::vector<OpCase>& all_cases() {
  static const std::vector<OpCase> cases = [] {
    std::vector<OpCase> c;
    add_elementwise_cases(c);
    add_reduce_cases(c);
    add_dense_cases(c);
    add_shape_cases(c);
    add_encoder_cases(c);
    add_lut_node_cases(c);
    add_lut_op_cases(c);
    add_layer_aid_cases(c);
    add_sparse_mapping_cases(c);
    add_conv_cases(c);
    return c;
  }();
  return cases;
}

std::vector<double> values(const Tensor& t) { return t.to(DType::f64).to_vector<double>(); }

Tensor f64_tensor(const std::vector<double>& v, const Shape& s) {
  return Tensor::from_vector(v, s);
}

Tensor uniform(const Shape& s, Generator& gen, double lo, double hi) {
  std::vector<double> v = Tensor::rand(s, gen, DType::f64).to_vector<double>();
  for (double& e : v) e = lo + (hi - lo) * e;
  return f64_tensor(v, s);
}

Tensor signed_uniform(const Shape& s, Generator& gen, double lo, double hi) {
  std::vector<double> v = values(uniform(s, gen, lo, hi));
  std::vector<double> sign = values(Tensor::rand(s, gen, DType::f64));
  for (size_t i = 0; i < v.size(); ++i)
    if (sign[i] < 0.5) v[i] = -v[i];
  return f64_tensor(v, s);
}

Tensor distinct(const Shape& s, Generator& gen) {
  const std::vector<int64_t> perm = gen.permutation(shape_numel(s));
  std::vector<double> v(perm.size());
  for (size_t i = 0; i < v.size(); ++i) v[i] = 0.1 * static_cast<double>(perm[i]) - 1.0;
  return f64_tensor(v, s);
}

Tensor with_edges(Tensor t, const std::vector<double>& edge) {
  Tensor out = t.to(DType::f64).clone();
  double* p = out.data<double>();
  for (size_t i = 0; i < edge.size() && static_cast<int64_t>(i) < out.numel(); ++i) p[i] = edge[i];
  return out;
}

int normalize_axis(int axis, size_t rank) {
  return axis < 0 ? axis + static_cast<int>(rank) : axis;
}

AxisSplit split_at(const Shape& s, int axis) {
  const size_t a = static_cast<size_t>(normalize_axis(axis, s.size()));
  AxisSplit r;
  for (size_t d = 0; d < a; ++d) r.outer *= s[d];
  r.extent = s[a];
  for (size_t d = a + 1; d < s.size(); ++d) r.inner *= s[d];
  return r;
}

Tensors numeric_gradient(const ReferenceFn& f, const Tensors& inputs, const Tensor& seed,
                         const std::vector<int>& which, double eps) {
  const std::vector<double> w = values(seed);
  auto weighted = [&](const Tensors& in) {
    const std::vector<double> y = values(f(in));
    double s = 0.0;
    for (size_t i = 0; i < y.size(); ++i) s += w[i] * y[i];
    return s;
  };
  Tensors grads(inputs.size());
  for (int i : which) {
    const size_t ui = static_cast<size_t>(i);
    Tensor g = Tensor::zeros(inputs[ui].shape(), DType::f64);
    for (int64_t e = 0; e < inputs[ui].numel(); ++e) {
      Tensors in = inputs;
      in[ui] = inputs[ui].clone();
      double* p = in[ui].data<double>();
      const double x0 = p[e];
      p[e] = x0 + eps;
      const double hi = weighted(in);
      p[e] = x0 - eps;
      const double lo = weighted(in);
      g.data<double>()[e] = (hi - lo) / (2 * eps);
    }
    grads[ui] = g;
  }
  return grads;
}

}  // namespace difflut::optest
