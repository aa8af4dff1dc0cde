// Op cases of the layer training aids: bit_flip (the mask recomputed independently from Philox;
// straight-through gradient) and grad_stabilize (identity forward; the rescaled gradient as a
// surrogate written from the published rule).
#include <cmath>

#include "lut/layer_aids.h"
#include "lut/layer_aids_kernels.h"
#include "tensor/error.h"
#include "op_case.h"

namespace difflut::optest {

namespace {

Tensor bit_flip_reference(const Tensor& x, double p, uint64_t key) {
  std::vector<double> v = values(x);
  for (size_t i = 0; i < v.size(); ++i)
    if (philox_uniform_f64(i, key) < p) v[i] = 1.0 - v[i];
  return f64_tensor(v, x.shape());
}

void add_bit_flip_cases(std::vector<OpCase>& cases) {
  struct F {
    int64_t B, n;
    double p;
    bool large;
  };
  for (const F& f : {F{4, 9, 0.0, false}, F{4, 9, 0.3, false}, F{4, 9, 1.0, false},
                     F{3, 17, 0.5, false}, F{512, 2352, 0.05, true}}) {
    OpCase c;
    const uint64_t key = bit_flip_key(1234, static_cast<uint64_t>(f.n));
    c.op = "bit_flip";
    c.variant = str_cat("[", f.B, ", ", f.n, "] p = ", f.p);
    // Bits and soft values both: the op flips x -> 1 - x whatever x is.
    c.inputs = [f](Generator& gen) {
      return Tensors{with_edges(uniform({f.B, f.n}, gen, 0, 1), {0.0, 1.0, 0.5})};
    };
    c.build = [f, key](const std::vector<Var>& v) { return bit_flip(v[0], f.p, key); };
    c.reference = [f, key](const Tensors& in) { return bit_flip_reference(in[0], f.p, key); };
    c.grad = GradCheck::surrogate;
    c.surrogate = [](const Tensors&, const Tensor& seed) { return Tensors{seed.clone()}; };
    c.grad_note = "straight-through: the flip is forward-only noise, the gradient passes unchanged";
    c.exact_grad = true;
    c.large = f.large;
    cases.push_back(c);
  }
}

Tensors grad_stabilize_surrogate(const Tensor& seed, bool batchwise, bool subtract_mean,
                                 double target, double eps) {
  const int64_t B = seed.size(0), N = seed.size(1);
  std::vector<double> g = values(seed);
  const int64_t groups = batchwise ? B : 1, len = batchwise ? N : B * N;
  for (int64_t r = 0; r < groups; ++r) {
    double* p = g.data() + r * len;
    double mu = 0;
    if (subtract_mean) {
      for (int64_t i = 0; i < len; ++i) mu += p[i];
      mu /= static_cast<double>(len);
    }
    double var = 0;
    for (int64_t i = 0; i < len; ++i) var += (p[i] - mu) * (p[i] - mu);
    var /= static_cast<double>(len);
    const double scale = std::sqrt(target / (var + eps));
    for (int64_t i = 0; i < len; ++i) p[i] = (p[i] - mu) * scale;
  }
  return Tensors{f64_tensor(g, seed.shape())};
}

void add_grad_stabilize_cases(std::vector<OpCase>& cases) {
  struct S {
    int64_t B, N;
    bool batchwise, subtract_mean;
    double target;
    bool large;
  };
  for (const S& s : {S{4, 7, false, false, 1.0, false}, S{4, 7, true, false, 1.0, false},
                     S{4, 7, false, true, 0.25, false}, S{3, 5, true, true, 2.0, false},
                     S{1, 1, true, true, 1.0, false}, S{64, 3000, true, true, 1.0, true},
                     S{64, 3000, false, false, 1.0, true}}) {
    OpCase c;
    c.op = "grad_stabilize";
    c.variant = str_cat(s.batchwise ? "batchwise" : "layerwise", s.subtract_mean ? " centred" : "",
                        " target ", s.target, " [", s.B, ", ", s.N, "]");
    c.inputs = [s](Generator& gen) { return Tensors{uniform({s.B, s.N}, gen, -2, 2)}; };
    GradStabilizationOptions o;
    o.mode = s.batchwise ? GradStabilization::batchwise : GradStabilization::layerwise;
    o.subtract_mean = s.subtract_mean;
    o.target = s.target;
    c.build = [o](const std::vector<Var>& v) { return grad_stabilize(v[0], o); };
    c.reference = [](const Tensors& in) { return in[0].clone(); };
    c.grad = GradCheck::surrogate;
    c.surrogate = [s, o](const Tensors&, const Tensor& seed) {
      return grad_stabilize_surrogate(seed, s.batchwise, s.subtract_mean, s.target, o.eps);
    };
    c.grad_note = "the output gradient rescaled to variance `target` (per sample when batchwise)";
    c.exact = true;  // the forward is the identity
    c.large = s.large;
    cases.push_back(c);
  }
}

}  // namespace

void add_layer_aid_cases(std::vector<OpCase>& cases) {
  add_bit_flip_cases(cases);
  add_grad_stabilize_cases(cases);
}

}  // namespace difflut::optest
