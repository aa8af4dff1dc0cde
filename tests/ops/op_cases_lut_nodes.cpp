// Op cases of the built-in LUT node types (one batched op each) and the lut_regularizer op. Each
// node type runs in training mode (the soft function; finite differences, with inputs planted at 0,
// 1 and 0.5 where the multilinear kernels once divided by x) and in eval mode (bits out of the
// truth table at addr = Σ 1[x >= 0.5] << l; the gradient is the soft function's, a straight-through
// surrogate checked against the numerical derivative of the training reference). The references
// are written from the formulas in lut/node_ops.h and docs/NODES.md.
#include <cmath>

#include "autograd/ops.h"
#include "lut/node_ops.h"
#include "lut/node_registry.h"
#include "lut/nodes/node_types.h"
#include "op_case.h"

namespace difflut::optest {

namespace {

double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

// One node's soft output from its k inputs and its parameters.
using NodeFn = std::function<double(const double* x, const double* p, int k)>;

struct NodeSpec {
  const char* op;
  int k;
  int64_t P;
  NodeFn soft;
  NodeFn eval;  // 1 or 0 from the node's binary inputs
  std::function<Var(Var, Var, bool)> build;
  double param_scale = 1.0;
  NodeFn
      surrogate_soft;  // null: the backward differentiates `soft` (hybrid: the probabilistic node)
  GradReferenceFn surrogate_grad = nullptr;  // an explicit training backward (dwn_stable's EFD)
  std::function<void(std::vector<double>&, int64_t P)> shape_params = nullptr;  // per-type ranges
  const char* surrogate_note = "";  // what surrogate_grad computes
};

// Applies a per-node function to x [B, N*k] and params [N, P] -> [B, N].
ReferenceFn node_reference(NodeFn f) {
  return [f](const Tensors& in) {
    const int64_t B = in[0].size(0), N = in[1].size(0), P = in[1].size(1);
    const int k = static_cast<int>(in[0].size(1) / N);
    const std::vector<double> x = values(in[0]), p = values(in[1]);
    std::vector<double> y(static_cast<size_t>(B * N));
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < N; ++j)
        y[static_cast<size_t>(b * N + j)] =
            f(&x[static_cast<size_t>((b * N + j) * k)], &p[static_cast<size_t>(j * P)], k);
    return f64_tensor(y, {B, N});
  };
}

// Eval function from a soft one whose output at binary inputs is >= 0.5 exactly when the node's
// truth table holds a 1 there (σ(logit) >= 0.5 <=> logit >= 0).
NodeFn bits_of(NodeFn soft) {
  return [soft](const double* x, const double* p, int k) {
    std::vector<double> bits(static_cast<size_t>(k));
    for (int l = 0; l < k; ++l) bits[static_cast<size_t>(l)] = x[l] >= 0.5 ? 1.0 : 0.0;
    return soft(bits.data(), p, k) >= 0.5 ? 1.0 : 0.0;
  };
}

// Pr(a | x) = Π_l (a_l ? x_l : 1 − x_l).
double corner_probability(unsigned a, const double* x, int k) {
  double pr = 1.0;
  for (int l = 0; l < k; ++l) pr *= ((a >> l) & 1u) ? x[l] : 1.0 - x[l];
  return pr;
}

double linear_soft(const double* x, const double* p, int k) {
  double z = p[k];
  for (int l = 0; l < k; ++l) z += p[l] * x[l];
  return sigmoid(z);
}

// Monomials of degree <= D as sorted variable tuples, by degree, lexicographic within a degree.
void monomials(int k, int D, std::vector<int>& cur, int first, int left,
               std::vector<std::vector<int>>& out) {
  if (left == 0) {
    out.push_back(cur);
    return;
  }
  for (int v = first; v < k; ++v) {
    cur.push_back(v);
    monomials(k, D, cur, v, left - 1, out);
    cur.pop_back();
  }
}
std::vector<std::vector<int>> all_monomials(int k, int D) {
  std::vector<std::vector<int>> out;
  std::vector<int> cur;
  for (int d = 0; d <= D; ++d) monomials(k, D, cur, 0, d, out);
  return out;
}

NodeFn polylut_soft(int degree) {
  return [degree](const double* x, const double* p, int k) {
    const std::vector<std::vector<int>> terms = all_monomials(k, degree);
    double z = 0;
    for (size_t m = 0; m < terms.size(); ++m) {
      double v = 1;
      for (int var : terms[m]) v *= x[var];
      z += p[m] * v;
    }
    return sigmoid(z);
  };
}

// neurallut: depth linear layers, ReLU between, skip connections S x + c every `skip` layers.
struct Mlp {
  int width, depth, skip;
  int64_t params(int k) const {
    int64_t n = 0;
    for (int i = 0; i < depth; ++i) {
      const int64_t in = i == 0 ? k : width, out = i == depth - 1 ? 1 : width;
      n += out * in + out + (has_skip(i) ? out * k + out : 0);
    }
    return n;
  }
  bool has_skip(int i) const { return skip > 0 && i > 0 && i % skip == 0; }
  double operator()(const double* x, const double* p, int k) const {
    std::vector<double> h(x, x + k);
    for (int i = 0; i < depth; ++i) {
      const int in = i == 0 ? k : width, out = i == depth - 1 ? 1 : width;
      std::vector<double> z(static_cast<size_t>(out));
      for (int o = 0; o < out; ++o) {
        z[static_cast<size_t>(o)] = p[out * in + o];
        for (int u = 0; u < in; ++u)
          z[static_cast<size_t>(o)] += p[o * in + u] * h[static_cast<size_t>(u)];
      }
      p += out * in + out;
      if (has_skip(i)) {
        for (int o = 0; o < out; ++o) {
          z[static_cast<size_t>(o)] += p[out * k + o];
          for (int l = 0; l < k; ++l) z[static_cast<size_t>(o)] += p[o * k + l] * x[l];
        }
        p += out * k + out;
      }
      if (i == depth - 1) return sigmoid(z[0]);
      h.assign(z.size(), 0.0);
      for (size_t u = 0; u < z.size(); ++u) h[u] = z[u] > 0 ? z[u] : 0.0;
    }
    return 0;
  }
};

NodeFn probabilistic_soft(double T) {
  return [T](const double* x, const double* p, int k) {
    double y = 0;
    for (unsigned a = 0; a < (1u << k); ++a) y += sigmoid(p[a] / T) * corner_probability(a, x, k);
    return y;
  };
}

double unbound_soft(const double* x, const double* p, int k) {
  double z = 0;
  for (unsigned a = 0; a < (1u << k); ++a) z += p[a] * corner_probability(a, x, k);
  return sigmoid(z);
}

double hybrid_soft(const double* x, const double* p, int k) {
  unsigned a = 0;
  for (int l = 0; l < k; ++l) a |= (x[l] >= 0.5 ? 1u : 0u) << l;
  return sigmoid(p[a]);
}

// fourier: clamp(b + A Σ_f â_f cos(π Σ_{l ∈ f} x_l + φ_f), 0, 1), â_f = a_f / (Σ |a| + 1e-8),
// A = ½ (the published max_amplitude, set on the op below: the default 8 holds the clamp at most
// points, which would leave little gradient to check).
double fourier_soft(const double* x, const double* p, int k) {
  const unsigned F = 1u << k;
  double S = 0;
  for (unsigned f = 0; f < F; ++f) S += p[f];
  double y = p[2 * F];
  for (unsigned f = 0; f < F; ++f) {
    double dot = 0;
    for (int l = 0; l < k; ++l)
      if ((f >> l) & 1u) dot += x[l];
    y += 0.5 * p[f] / (S + 1e-8) * std::cos(M_PI * dot + p[F + f]);
  }
  return std::min(1.0, std::max(0.0, y));
}

// warp: σ(Σ_S c_S Π_{l ∈ S} (2x_l − 1) / T).
NodeFn warp_soft(double T) {
  return [T](const double* x, const double* p, int k) {
    double z = 0;
    for (unsigned S = 0; S < (1u << k); ++S) {
      double m = p[S];
      for (int l = 0; l < k; ++l)
        if ((S >> l) & 1u) m *= 2 * x[l] - 1;
      z += m;
    }
    return sigmoid(z / T);
  };
}

// dwn_stable's backward, scaled by 1.25: dθ_a = Σ_b g σ'(θ_a) 1[addr = a];
// dx_l = g Σ_a (2a_l − 1) σ(θ_a) / (popcount((addr ⊕ a) & ~(1 << l)) + 1).
Tensors dwn_stable_grad(const Tensors& in, const Tensor& seed) {
  const int64_t B = in[0].size(0), N = in[1].size(0), K = in[1].size(1);
  int k = 0;
  while ((int64_t{1} << k) < K) ++k;
  const std::vector<double> x = values(in[0]), t = values(in[1]), g = values(seed);
  std::vector<double> dx(x.size(), 0.0), dt(t.size(), 0.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < N; ++j) {
      const double gj = 1.25 * g[static_cast<size_t>(b * N + j)];
      unsigned addr = 0;
      for (int l = 0; l < k; ++l)
        addr |= (x[static_cast<size_t>((b * N + j) * k + l)] >= 0.5 ? 1u : 0u) << l;
      const double q = sigmoid(t[static_cast<size_t>(j * K + addr)]);
      dt[static_cast<size_t>(j * K + addr)] += gj * q * (1 - q);
      for (int l = 0; l < k; ++l) {
        double s = 0;
        for (unsigned a = 0; a < static_cast<unsigned>(K); ++a)
          s += (((a >> l) & 1u) ? 1.0 : -1.0) * sigmoid(t[static_cast<size_t>(j * K + a)]) /
               (__builtin_popcount((addr ^ a) & ~(1u << l)) + 1);
        dx[static_cast<size_t>((b * N + j) * k + l)] = gj * s;
      }
    }
  return Tensors{f64_tensor(dx, in[0].shape()), f64_tensor(dt, in[1].shape())};
}

// probabilistic_stable's backward: the probabilistic (T = 1) gradients, the input gradient of each
// (sample, node) rescaled by clamp(ln(1 + k)·|g| / (‖raw‖₁ + 1e-6), 0.1, 10).
Tensors probabilistic_stable_grad(const Tensors& in, const Tensor& seed) {
  const int64_t B = in[0].size(0), N = in[1].size(0), K = in[1].size(1);
  int k = 0;
  while ((int64_t{1} << k) < K) ++k;
  const std::vector<double> x = values(in[0]), t = values(in[1]), g = values(seed);
  std::vector<double> dx(x.size(), 0.0), dt(t.size(), 0.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < N; ++j) {
      const double gj = g[static_cast<size_t>(b * N + j)];
      const double* xi = &x[static_cast<size_t>((b * N + j) * k)];
      std::vector<double> raw(static_cast<size_t>(k), 0.0);
      for (unsigned a = 0; a < static_cast<unsigned>(K); ++a) {
        const double q = sigmoid(t[static_cast<size_t>(j * K + a)]);
        dt[static_cast<size_t>(j * K + a)] += gj * q * (1 - q) * corner_probability(a, xi, k);
        for (int l = 0; l < k; ++l) {
          double pr = ((a >> l) & 1u) ? 1.0 : -1.0;
          for (int m = 0; m < k; ++m)
            if (m != l) pr *= ((a >> m) & 1u) ? xi[m] : 1.0 - xi[m];
          raw[static_cast<size_t>(l)] += gj * q * pr;
        }
      }
      double l1 = 0;
      for (double v : raw) l1 += std::abs(v);
      const double scale =
          std::min(10.0, std::max(0.1, std::log(1.0 + k) * std::abs(gj) / (l1 + 1e-6)));
      for (int l = 0; l < k; ++l)
        dx[static_cast<size_t>((b * N + j) * k + l)] = scale * raw[static_cast<size_t>(l)];
    }
  return Tensors{f64_tensor(dx, in[0].shape()), f64_tensor(dt, in[1].shape())};
}

// gradient_stabilized's backward: dθ_addr = g σ'(θ_addr); dx_l = ±g·clamp(1 − 2|x_l − ½|, 0, 1)·
// (max σ(θ) − min σ(θ)), + where x_l >= ½.
Tensors gradient_stabilized_grad(const Tensors& in, const Tensor& seed) {
  const int64_t B = in[0].size(0), N = in[1].size(0), K = in[1].size(1);
  int k = 0;
  while ((int64_t{1} << k) < K) ++k;
  const std::vector<double> x = values(in[0]), t = values(in[1]), g = values(seed);
  std::vector<double> dx(x.size(), 0.0), dt(t.size(), 0.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < N; ++j) {
      const double gj = g[static_cast<size_t>(b * N + j)];
      double lo = 1, hi = 0;
      for (int64_t a = 0; a < K; ++a) {
        lo = std::min(lo, sigmoid(t[static_cast<size_t>(j * K + a)]));
        hi = std::max(hi, sigmoid(t[static_cast<size_t>(j * K + a)]));
      }
      unsigned addr = 0;
      for (int l = 0; l < k; ++l) {
        const double xl = x[static_cast<size_t>((b * N + j) * k + l)];
        addr |= (xl >= 0.5 ? 1u : 0u) << l;
        const double near = std::min(1.0, std::max(0.0, 1 - 2 * std::abs(xl - 0.5)));
        dx[static_cast<size_t>((b * N + j) * k + l)] =
            (xl >= 0.5 ? 1.0 : -1.0) * gj * near * (hi - lo);
      }
      const double q = sigmoid(t[static_cast<size_t>(j * K + addr)]);
      dt[static_cast<size_t>(j * K + addr)] += gj * q * (1 - q);
    }
  return Tensors{f64_tensor(dx, in[0].shape()), f64_tensor(dt, in[1].shape())};
}

// The 16 relaxed two-input gates in Petersen et al.'s order.
double gate(int i, double a, double b) {
  switch (i) {
    case 0: return 0;
    case 1: return a * b;
    case 2: return a - a * b;
    case 3: return a;
    case 4: return b - a * b;
    case 5: return b;
    case 6: return a + b - 2 * a * b;
    case 7: return a + b - a * b;
    case 8: return 1 - (a + b - a * b);
    case 9: return 1 - (a + b - 2 * a * b);
    case 10: return 1 - b;
    case 11: return 1 - b + a * b;
    case 12: return 1 - a;
    case 13: return 1 - a + a * b;
    case 14: return 1 - a * b;
    default: return 1;
  }
}

double difflogic_soft(const double* x, const double* p, int) {
  double m = p[0], z = 0, y = 0;
  for (int i = 1; i < 16; ++i) m = std::max(m, p[i]);
  for (int i = 0; i < 16; ++i) z += std::exp(p[i] - m);
  for (int i = 0; i < 16; ++i) y += std::exp(p[i] - m) / z * gate(i, x[0], x[1]);
  return y;
}

// Eval: the gate with the largest logit (first on ties) at the binary inputs.
double difflogic_eval(const double* x, const double* p, int) {
  int best = 0;
  for (int i = 1; i < 16; ++i)
    if (p[i] > p[best]) best = i;
  return gate(best, x[0] >= 0.5 ? 1 : 0, x[1] >= 0.5 ? 1 : 0);
}

std::vector<NodeSpec> node_specs() {
  const Mlp mlp{4, 3, 2};
  return {
      {"linear_lut", 4, 5, linear_soft, bits_of(linear_soft),
       [](Var x, Var p, bool t) { return linear_lut(x, p, 4, t); }, 1.0, nullptr},
      {"polylut", 3, 10, polylut_soft(2), bits_of(polylut_soft(2)),
       [](Var x, Var p, bool t) { return polylut(x, p, 3, 2, t); }, 0.7, nullptr},
      {"neurallut", 3, mlp.params(3), mlp, bits_of(mlp),
       [](Var x, Var p, bool t) { return neurallut(x, p, 3, 4, 3, 2, t); }, 0.8, nullptr},
      {"probabilistic_lut", 3, 8, probabilistic_soft(0.7), bits_of(probabilistic_soft(0.7)),
       [](Var x, Var p, bool t) { return probabilistic_lut(x, p, 3, 0.7, t); }, 1.0, nullptr},
      {"unbound_probabilistic_lut", 3, 8, unbound_soft, bits_of(unbound_soft),
       [](Var x, Var p, bool t) { return unbound_probabilistic_lut(x, p, 3, t); }, 1.0, nullptr},
      {"hybrid_lut", 3, 8, hybrid_soft, bits_of(hybrid_soft),
       [](Var x, Var p, bool t) { return hybrid_lut(x, p, 3, t); }, 1.0, probabilistic_soft(1.0)},
      {"difflogic_lut", 2, 16, difflogic_soft, difflogic_eval,
       [](Var x, Var p, bool t) { return difflogic_lut(x, p, t); }, 1.5, nullptr},
      {"fourier_lut", 3, 17, fourier_soft, bits_of(fourier_soft),
       [](Var x, Var p, bool t) {
         NodeOptions o;
         o.max_amplitude = 0.5;
         return make_node_type("fourier", o)->apply(x, p, 3, t);
       },
       1.0, nullptr, nullptr,
       // Amplitudes kept away from a zero sum (where the normalisation is ill-conditioned).
       [](std::vector<double>& p, int64_t P) {
         for (size_t i = 0; i < p.size(); ++i)
           if (static_cast<int64_t>(i) % P < 8) p[i] = 0.05 + std::abs(p[i]);
       }},
      {"warp_lut", 3, 8, warp_soft(0.6), bits_of(warp_soft(0.6)),
       [](Var x, Var p, bool t) {
         NodeOptions o;
         o.temperature = 0.6;
         return make_node_type("warp", o)->apply(x, p, 3, t);
       },
       1.0, nullptr},
      {"dwn_stable_lut", 3, 8, hybrid_soft, bits_of(hybrid_soft),
       [](Var x, Var p, bool t) { return find_node_type("dwn_stable")->apply(x, p, 3, t); }, 1.0,
       nullptr, dwn_stable_grad, nullptr,
       "σ(θ_addr) forward; EFD input and table gradients scaled by 1.25 backward"},
      {"probabilistic_stable_lut", 3, 8, probabilistic_soft(1.0), bits_of(probabilistic_soft(1.0)),
       [](Var x, Var p, bool t) {
         return find_node_type("probabilistic_stable")->apply(x, p, 3, t);
       },
       1.0, nullptr, probabilistic_stable_grad, nullptr,
       "probabilistic (T = 1) forward and table gradient; input gradient rescaled per sample"},
      {"gradient_stabilized_lut", 3, 8, hybrid_soft, bits_of(hybrid_soft),
       [](Var x, Var p, bool t) {
         return find_node_type("gradient_stabilized")->apply(x, p, 3, t);
       },
       1.0, nullptr, gradient_stabilized_grad, nullptr,
       "σ(θ_addr) forward; threshold-distance × table-range input gradient"},
  };
}

// x in [0, 1] with corners and the bit threshold planted; params scaled normals.
MakeInputs node_inputs(int64_t B, int64_t N, int k, int64_t P, double scale,
                       std::function<void(std::vector<double>&, int64_t)> shape_params) {
  return [=](Generator& gen) {
    Tensor x = with_edges(uniform({B, N * k}, gen, 0, 1), {0.0, 1.0, 0.5, 0.4999, 1.0, 0.0});
    std::vector<double> p = values(Tensor::randn({N, P}, gen, DType::f64));
    for (double& v : p) v *= scale;
    if (shape_params) shape_params(p, P);
    return Tensors{x, f64_tensor(p, {N, P})};
  };
}

void add_node_cases(std::vector<OpCase>& cases, const NodeSpec& n) {
  struct Size {
    int64_t B, N;
    bool large;
  };
  for (const Size& z : {Size{5, 3, false}, Size{300, 70, true}})
    for (bool training : {true, false}) {
      OpCase c;
      c.op = n.op;
      c.variant = std::string(training ? "training" : "eval") + " B = " + std::to_string(z.B) +
                  " N = " + std::to_string(z.N) + " k = " + std::to_string(n.k);
      c.inputs = node_inputs(z.B, z.N, n.k, n.P, n.param_scale, n.shape_params);
      auto build = n.build;
      c.build = [build, training](const std::vector<Var>& v) {
        return build(v[0], v[1], training);
      };
      c.reference = node_reference(training ? n.soft : n.eval);
      c.large = z.large;
      c.tol_f32 = 1e-5;
      c.tol_f64 = 1e-11;
      if (!training) c.exact = true;
      if (n.surrogate_grad) {
        c.grad = GradCheck::surrogate;
        c.surrogate = n.surrogate_grad;
        c.grad_note = n.surrogate_note;
      } else if (!training || n.surrogate_soft) {
        const ReferenceFn soft = node_reference(n.surrogate_soft ? n.surrogate_soft : n.soft);
        c.grad = GradCheck::surrogate;
        c.surrogate = [soft](const Tensors& in, const Tensor& seed) {
          return numeric_gradient(soft, in, seed, {0, 1});
        };
        c.grad_note = n.surrogate_soft
                          ? "σ(θ_addr) forward, the probabilistic node's (T = 1) gradient backward"
                          : "eval outputs bits; backward differentiates the soft function";
      }
      cases.push_back(c);
    }
}

// lut_regularizer references, straight from the definitions over corner values F [2^k, N].
Tensor regularizer_reference(const Tensor& F, bool spectral) {
  const int64_t K = F.size(0), N = F.size(1);
  int k = 0;
  while ((int64_t{1} << k) < K) ++k;
  const std::vector<double> f = values(F);
  auto at = [&](int64_t a, int64_t j) { return f[static_cast<size_t>(a * N + j)]; };
  std::vector<double> r(static_cast<size_t>(N), 0.0);
  for (int64_t j = 0; j < N; ++j) {
    double s = 0;
    if (!spectral) {
      for (int64_t a = 0; a < K; ++a)
        for (int l = 0; l < k; ++l) s += std::pow(at(a, j) - at(a ^ (int64_t{1} << l), j), 2);
      s /= static_cast<double>(K * k);
    } else {
      for (int64_t S = 0; S < K; ++S) {
        double coef = 0;
        for (int64_t a = 0; a < K; ++a)
          coef += at(a, j) *
                  ((__builtin_popcountll(static_cast<unsigned long long>(a & S)) & 1) ? -1.0 : 1.0);
        coef /= static_cast<double>(K);
        s += __builtin_popcountll(static_cast<unsigned long long>(S)) * coef * coef;
      }
    }
    r[static_cast<size_t>(j)] = s;
  }
  return f64_tensor(r, {N});
}

void add_regularizer_cases(std::vector<OpCase>& cases) {
  for (bool spectral : {false, true})
    for (auto [k, N, large] : std::vector<std::tuple<int, int64_t, bool>>{
             {1, 3, false}, {3, 4, false}, {6, 500, true}}) {
      OpCase c;
      c.op = "lut_regularizer";
      c.variant = std::string(spectral ? "spectral" : "functional") + " k = " + std::to_string(k) +
                  " N = " + std::to_string(N);
      const int64_t K = int64_t{1} << k;
      c.inputs = [K, N](Generator& gen) {
        return Tensors{with_edges(uniform({K, N}, gen, 0, 1), {0.0, 1.0})};
      };
      const int kk = k;
      c.build = [kk, spectral](const std::vector<Var>& v) {
        return lut_regularizer(v[0], kk,
                               spectral ? LutRegularizer::spectral : LutRegularizer::functional);
      };
      c.reference = [spectral](const Tensors& in) {
        return regularizer_reference(in[0], spectral);
      };
      c.tol_f32 = 1e-5;
      c.tol_f64 = 1e-11;
      c.large = large;
      cases.push_back(c);
    }
}

}  // namespace

void add_lut_node_cases(std::vector<OpCase>& cases) {
  for (const NodeSpec& n : node_specs()) add_node_cases(cases, n);
  add_regularizer_cases(cases);
}

}  // namespace difflut::optest
