// Op cases of the remaining LUT-layer ops: the DWN node (bits out of a table; straight-through
// table gradient and the EFD input gradient), GroupSum (padding, tau), a user node type through
// custom_lut / custom_lut_reg (the soft-majority example), and the DWN learnable mapping (a hard
// gather at argmax_i W[i, s], ties to the first input; its documented surrogate gradients).
#include <cmath>

#include "lut/examples/soft_majority_node.h"
#include "lut/learnable_mapping.h"
#include "lut/node_ops.h"
#include "op_case.h"

namespace difflut::optest {

namespace {

unsigned address(const double* x, int k) {
  unsigned a = 0;
  for (int l = 0; l < k; ++l) a |= (x[l] >= 0.5 ? 1u : 0u) << l;
  return a;
}

// dwn_lut: out[b, j] = 1[T[j][addr] > 0].
Tensor dwn_reference(const Tensors& in, int k) {
  const int64_t B = in[0].size(0), N = in[1].size(0), K = in[1].size(1);
  const std::vector<double> x = values(in[0]), t = values(in[1]);
  std::vector<double> y(static_cast<size_t>(B * N));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < N; ++j)
      y[static_cast<size_t>(b * N + j)] =
          t[static_cast<size_t>(j * K + address(&x[static_cast<size_t>((b * N + j) * k)], k))] > 0
              ? 1.0
              : 0.0;
  return f64_tensor(y, {B, N});
}

// dT[j][a] = Σ_b g[b][j]·1[addr = a];
// dx[b, j*k+l] = g[b][j]·alpha Σ_a (2a_l − 1) T[j][a] β^popcount((addr ⊕ a) & ~(1 << l)).
Tensors dwn_surrogate(const Tensors& in, const Tensor& seed, int k, double alpha, double beta) {
  const int64_t B = in[0].size(0), N = in[1].size(0), K = in[1].size(1);
  const std::vector<double> x = values(in[0]), t = values(in[1]), g = values(seed);
  std::vector<double> dx(x.size(), 0.0), dt(t.size(), 0.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < N; ++j) {
      const double gj = g[static_cast<size_t>(b * N + j)];
      const unsigned addr = address(&x[static_cast<size_t>((b * N + j) * k)], k);
      dt[static_cast<size_t>(j * K + addr)] += gj;
      for (int l = 0; l < k; ++l) {
        double s = 0;
        for (unsigned a = 0; a < static_cast<unsigned>(K); ++a)
          s += (((a >> l) & 1u) ? 1.0 : -1.0) * t[static_cast<size_t>(j * K + a)] *
               std::pow(beta, __builtin_popcount((addr ^ a) & ~(1u << l)));
        dx[static_cast<size_t>((b * N + j) * k + l)] = gj * alpha * s;
      }
    }
  return Tensors{f64_tensor(dx, in[0].shape()), f64_tensor(dt, in[1].shape())};
}

void add_dwn_cases(std::vector<OpCase>& cases) {
  struct D {
    int64_t B, N;
    int k;
    bool defaults;
    bool large;
  };
  for (const D& d : {D{5, 4, 3, true, false}, D{4, 3, 2, false, false}, D{3, 2, 1, true, false},
                     D{64, 100, 6, true, true}}) {
    OpCase c;
    c.op = "dwn_lut";
    const double alpha = d.defaults ? dwn_default_alpha(d.k) : 0.3;
    const double beta = d.defaults ? kDwnDefaultBeta : 0.25;
    c.variant = "B = " + std::to_string(d.B) + " N = " + std::to_string(d.N) +
                " k = " + std::to_string(d.k) +
                (d.defaults ? " default EFD" : " alpha 0.3 beta 0.25");
    c.inputs = [d](Generator& gen) {
      // Bits at the 0.5 threshold and just below; table entries of exactly 0 read as 0.
      Tensor x = with_edges(uniform({d.B, d.N * d.k}, gen, 0, 1), {0.5, 0.4999, 0.0, 1.0});
      Tensor t = with_edges(uniform({d.N, int64_t{1} << d.k}, gen, -1, 1), {0.0, -0.0, 1e-30});
      return Tensors{x, t};
    };
    const int k = d.k;
    const bool defaults = d.defaults;
    c.build = [k, defaults, alpha, beta](const std::vector<Var>& v) {
      return defaults ? dwn_lut(v[0], v[1], k) : dwn_lut(v[0], v[1], k, alpha, beta);
    };
    c.reference = [k](const Tensors& in) { return dwn_reference(in, k); };
    c.grad = GradCheck::surrogate;
    c.surrogate = [k, alpha, beta](const Tensors& in, const Tensor& seed) {
      return dwn_surrogate(in, seed, k, alpha, beta);
    };
    c.grad_note = "straight-through table gradient and the EFD input gradient (lut/node_ops.h)";
    c.exact = true;
    c.large = d.large;
    cases.push_back(c);
  }
}

Tensor group_sum_reference(const Tensor& x, int64_t C, double tau) {
  const int64_t B = x.size(0), M = x.size(1), g = (M + C - 1) / C;
  const std::vector<double> v = values(x);
  std::vector<double> y(static_cast<size_t>(B * C), 0.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t m = 0; m < M; ++m)
      y[static_cast<size_t>(b * C + m / g)] += v[static_cast<size_t>(b * M + m)];
  for (double& e : y) e /= tau;
  return f64_tensor(y, {B, C});
}

void add_group_sum_cases(std::vector<OpCase>& cases) {
  struct G {
    int64_t B, M, C;
    double tau;
    bool large;
  };
  for (const G& g :
       {G{3, 10, 1, 1 / 0.3, false}, G{3, 10, 3, 1 / 0.3, false}, G{3, 10, 4, 1 / 0.3, false},
        G{3, 10, 10, 1 / 0.3, false}, G{2, 7, 7, 2.0, false}, G{1, 5, 4, 0.5, false},
        G{256, 3000, 10, 1 / 0.3, true}, G{100, 1000, 7, 1.0, true}}) {
    OpCase c;
    c.op = "group_sum";
    c.variant = "[" + std::to_string(g.B) + ", " + std::to_string(g.M) + "] into " +
                std::to_string(g.C) + " groups, tau " + std::to_string(g.tau);
    c.inputs = [g](Generator& gen) {
      return Tensors{with_edges(uniform({g.B, g.M}, gen, -1, 1), {0.0, 1.0, 1.0})};
    };
    c.build = [g](const std::vector<Var>& v) { return group_sum(v[0], g.C, g.tau); };
    c.reference = [g](const Tensors& in) { return group_sum_reference(in[0], g.C, g.tau); };
    const double R = std::sqrt(static_cast<double>((g.M + g.C - 1) / g.C));
    c.tol_f32 = 2e-6 * R;
    c.tol_f64 = 1e-12 * R;
    c.large = g.large;
    cases.push_back(c);
  }
}

// The soft-majority example node: σ(Σ_l w_l (2x_l − 1) + b); regularisation ½·λ·Σ w².
constexpr double kLambda = 0.1;

std::shared_ptr<NodeType> soft_majority() {
  static const std::shared_ptr<NodeType> type =
      std::make_shared<examples::SoftMajorityNode>(kLambda);
  return type;
}

Tensor soft_majority_reference(const Tensors& in, bool training) {
  const int64_t B = in[0].size(0), N = in[1].size(0), P = in[1].size(1), k = P - 1;
  const std::vector<double> x = values(in[0]), p = values(in[1]);
  std::vector<double> y(static_cast<size_t>(B * N));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < N; ++j) {
      double z = p[static_cast<size_t>(j * P + k)];
      for (int64_t l = 0; l < k; ++l) {
        const double xl = x[static_cast<size_t>((b * N + j) * k + l)];
        z += p[static_cast<size_t>(j * P + l)] * (training ? 2 * xl - 1 : (xl >= 0.5 ? 1.0 : -1.0));
      }
      y[static_cast<size_t>(b * N + j)] = training ? 1 / (1 + std::exp(-z)) : (z >= 0 ? 1.0 : 0.0);
    }
  return f64_tensor(y, {B, N});
}

void add_custom_node_cases(std::vector<OpCase>& cases) {
  for (auto [B, N, k, large] : std::vector<std::tuple<int64_t, int64_t, int, bool>>{
           {4, 3, 1, false}, {4, 3, 3, false}, {4, 3, 6, false}, {200, 50, 6, true}})
    for (bool training : {true, false}) {
      OpCase c;
      c.op = "custom_lut";
      c.variant = std::string(training ? "training" : "eval") +
                  " soft_majority k = " + std::to_string(k) + " B = " + std::to_string(B);
      const int64_t bb = B, nn = N;
      const int kk = k;
      c.inputs = [bb, nn, kk](Generator& gen) {
        return Tensors{with_edges(uniform({bb, nn * kk}, gen, 0, 1), {0.5, 0.4999, 0.0, 1.0}),
                       Tensor::randn({nn, kk + 1}, gen, DType::f64)};
      };
      c.build = [kk, training](const std::vector<Var>& v) {
        return custom_lut(v[0], v[1], soft_majority(), kk, training);
      };
      c.reference = [training](const Tensors& in) { return soft_majority_reference(in, training); };
      c.tol_f32 = 1e-6;
      c.large = large;
      if (!training) {
        c.exact = true;
        c.grad = GradCheck::surrogate;
        c.surrogate = [](const Tensors& in, const Tensor& seed) {
          return numeric_gradient([](const Tensors& t) { return soft_majority_reference(t, true); },
                                  in, seed, {0, 1});
        };
        c.grad_note = "eval outputs bits; backward is the node type's backward of forward_train";
      }
      cases.push_back(c);
    }
  for (auto [N, k] : std::vector<std::pair<int64_t, int>>{{4, 4}, {1, 1}, {30, 6}}) {
    OpCase c;
    c.op = "custom_lut_reg";
    c.variant = "soft_majority N = " + std::to_string(N) + " k = " + std::to_string(k);
    const int64_t nn = N;
    const int kk = k;
    c.inputs = [nn, kk](Generator& gen) {
      return Tensors{with_edges(Tensor::randn({nn, kk + 1}, gen, DType::f64), {0.0, -2.0})};
    };
    c.build = [kk](const std::vector<Var>& v) { return custom_lut_reg(v[0], soft_majority(), kk); };
    c.reference = [kk](const Tensors& in) {
      const std::vector<double> p = values(in[0]);
      double s = 0;
      for (size_t i = 0; i < p.size(); ++i)
        if (static_cast<int>(i % static_cast<size_t>(kk + 1)) != kk)
          s += p[i] * p[i];  // not the bias
      return f64_tensor({0.5 * kLambda * s}, {1});
    };
    c.tol_f32 = 1e-6;
    cases.push_back(c);
  }
}

// learnable_mapping: out[b, s] = x[b, argmax_i W[i, s]] (first on ties).
Tensor mapping_reference(const Tensors& in) {
  const int64_t B = in[0].size(0), F = in[0].size(1), S = in[1].size(1);
  const std::vector<double> x = values(in[0]), w = values(in[1]);
  std::vector<double> y(static_cast<size_t>(B * S));
  for (int64_t s = 0; s < S; ++s) {
    int64_t best = 0;
    for (int64_t i = 1; i < F; ++i)
      if (w[static_cast<size_t>(i * S + s)] > w[static_cast<size_t>(best * S + s)]) best = i;
    for (int64_t b = 0; b < B; ++b)
      y[static_cast<size_t>(b * S + s)] = x[static_cast<size_t>(b * F + best)];
  }
  return f64_tensor(y, {B, S});
}

// dW = (2x − 1)ᵀ g; dx = g softmax(W / tau)ᵀ, the softmax over the inputs i of each slot s.
Tensors mapping_surrogate(const Tensors& in, const Tensor& seed, double tau) {
  const int64_t B = in[0].size(0), F = in[0].size(1), S = in[1].size(1);
  const std::vector<double> x = values(in[0]), w = values(in[1]), g = values(seed);
  std::vector<double> dx(x.size(), 0.0), dw(w.size(), 0.0), sm(w.size());
  for (int64_t s = 0; s < S; ++s) {
    double m = w[static_cast<size_t>(s)], z = 0;
    for (int64_t i = 1; i < F; ++i) m = std::max(m, w[static_cast<size_t>(i * S + s)]);
    for (int64_t i = 0; i < F; ++i) z += std::exp((w[static_cast<size_t>(i * S + s)] - m) / tau);
    for (int64_t i = 0; i < F; ++i)
      sm[static_cast<size_t>(i * S + s)] =
          std::exp((w[static_cast<size_t>(i * S + s)] - m) / tau) / z;
  }
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < F; ++i)
      for (int64_t s = 0; s < S; ++s) {
        const double gs = g[static_cast<size_t>(b * S + s)];
        dw[static_cast<size_t>(i * S + s)] += (2 * x[static_cast<size_t>(b * F + i)] - 1) * gs;
        dx[static_cast<size_t>(b * F + i)] += gs * sm[static_cast<size_t>(i * S + s)];
      }
  return Tensors{f64_tensor(dx, in[0].shape()), f64_tensor(dw, in[1].shape())};
}

void add_mapping_cases(std::vector<OpCase>& cases) {
  for (auto [B, F, S, tau, large] :
       std::vector<std::tuple<int64_t, int64_t, int64_t, double, bool>>{
           {4, 6, 5, 0.5, false},
           {3, 5, 7, kLearnableMappingDefaultTau, false},
           {1, 1, 3, 0.5, false},
           {64, 300, 700, 0.1, true}}) {
    OpCase c;
    c.op = "learnable_mapping";
    c.variant = "B = " + std::to_string(B) + " F = " + std::to_string(F) +
                " S = " + std::to_string(S) + " tau " + std::to_string(tau);
    const int64_t bb = B, ff = F, ss = S;
    c.inputs = [bb, ff, ss](Generator& gen) {
      Tensor x = with_edges(uniform({bb, ff}, gen, 0, 1), {0.0, 1.0, 0.5});
      // Slot 0 ties between inputs 0 and 1 (input 0 wins); slot 1 of input 0 is exactly 0.
      std::vector<double> w = values(uniform({ff, ss}, gen, 0, 1));
      w[0] = 2.0;
      if (ff > 1) w[static_cast<size_t>(ss)] = 2.0;
      if (ss > 1) w[1] = 0.0;
      return Tensors{x, f64_tensor(w, {ff, ss})};
    };
    const double t = tau;
    c.build = [t](const std::vector<Var>& v) { return learnable_mapping(v[0], v[1], nullptr, t); };
    c.reference = mapping_reference;
    c.grad = GradCheck::surrogate;
    c.surrogate = [t](const Tensors& in, const Tensor& seed) {
      return mapping_surrogate(in, seed, t);
    };
    c.grad_note = "hard gather forward; dW = (2x − 1)ᵀ g and dx = g softmax(W / tau)ᵀ backward";
    c.exact = true;  // the forward is a gather
    c.large = large;
    c.tol_f32 = 1e-5;
    cases.push_back(c);
  }
}

}  // namespace

void add_lut_op_cases(std::vector<OpCase>& cases) {
  add_dwn_cases(cases);
  add_group_sum_cases(cases);
  add_custom_node_cases(cases);
  add_mapping_cases(cases);
}

}  // namespace difflut::optest
