// Op cases of the sparse learnable mapping (lut/sparse_mapping.h): hard choice among each slot's
// candidates forward, the dense mapping's gradient restricted to the candidates backward.
#include <algorithm>
#include <cmath>
#include <tuple>

#include "lut/sparse_mapping.h"
#include "op_case.h"

namespace difflut::optest {

namespace {

// Candidates [S, C] by rejection sampling, distinct within a slot (C <= F), independent of the
// library's own draw.
std::vector<int64_t> test_candidates(int64_t F, int64_t S, int64_t C, uint64_t seed) {
  Generator gen(seed);
  std::vector<int64_t> cand(static_cast<size_t>(S * C));
  for (int64_t s = 0; s < S; ++s)
    for (int64_t c = 0; c < C; ++c) {
      int64_t r;
      do {
        r = static_cast<int64_t>(gen.below(static_cast<uint64_t>(F)));
      } while (std::find(cand.begin() + s * C, cand.begin() + s * C + c, r) !=
               cand.begin() + s * C + c);
      cand[static_cast<size_t>(s * C + c)] = r;
    }
  return cand;
}

// out[b, s] = x[b, cand[s, argmax_c W[s, c]]] (first on ties).
Tensor sparse_reference(const Tensors& in, const std::vector<int64_t>& cand) {
  const int64_t B = in[0].size(0), F = in[0].size(1), S = in[1].size(0), C = in[1].size(1);
  const std::vector<double> x = values(in[0]), w = values(in[1]);
  std::vector<double> y(static_cast<size_t>(B * S));
  for (int64_t s = 0; s < S; ++s) {
    int64_t best = 0;
    for (int64_t c = 1; c < C; ++c)
      if (w[static_cast<size_t>(s * C + c)] > w[static_cast<size_t>(s * C + best)]) best = c;
    const int64_t i = cand[static_cast<size_t>(s * C + best)];
    for (int64_t b = 0; b < B; ++b)
      y[static_cast<size_t>(b * S + s)] = x[static_cast<size_t>(b * F + i)];
  }
  return f64_tensor(y, {B, S});
}

// dW[s, c] = Σ_b (2 x[b, cand[s, c]] − 1) g[b, s]; dx[b, i] = Σ_{cand[s, c] = i} g[b, s] softmax(W[s, :] / tau)[c].
Tensors sparse_surrogate(const Tensors& in, const Tensor& seed, const std::vector<int64_t>& cand,
                         double tau) {
  const int64_t B = in[0].size(0), F = in[0].size(1), S = in[1].size(0), C = in[1].size(1);
  const std::vector<double> x = values(in[0]), w = values(in[1]), g = values(seed);
  std::vector<double> dx(x.size(), 0.0), dw(w.size(), 0.0);
  for (int64_t s = 0; s < S; ++s) {
    double m = w[static_cast<size_t>(s * C)], z = 0;
    for (int64_t c = 1; c < C; ++c) m = std::max(m, w[static_cast<size_t>(s * C + c)]);
    for (int64_t c = 0; c < C; ++c) z += std::exp((w[static_cast<size_t>(s * C + c)] - m) / tau);
    for (int64_t c = 0; c < C; ++c) {
      const double p = std::exp((w[static_cast<size_t>(s * C + c)] - m) / tau) / z;
      const int64_t i = cand[static_cast<size_t>(s * C + c)];
      for (int64_t b = 0; b < B; ++b) {
        const double gs = g[static_cast<size_t>(b * S + s)];
        dw[static_cast<size_t>(s * C + c)] += (2 * x[static_cast<size_t>(b * F + i)] - 1) * gs;
        dx[static_cast<size_t>(b * F + i)] += gs * p;
      }
    }
  }
  return Tensors{f64_tensor(dx, in[0].shape()), f64_tensor(dw, in[1].shape())};
}

}  // namespace

void add_sparse_mapping_cases(std::vector<OpCase>& cases) {
  uint64_t case_seed = 1;
  for (auto [B, F, S, C, tau, large] :
       std::vector<std::tuple<int64_t, int64_t, int64_t, int64_t, double, bool>>{
           {4, 6, 5, 3, 0.5, false},
           {3, 5, 7, 5, 0.1, false},
           {2, 9, 4, 1, 0.5, false},
           {3, 4, 6, 2, 1e-3, false},
           {64, 300, 700, 8, 0.1, true}}) {
    OpCase c;
    c.op = "sparse_mapping";
    c.variant = "B = " + std::to_string(B) + " F = " + std::to_string(F) +
                " S = " + std::to_string(S) + " C = " + std::to_string(C) + " tau " +
                std::to_string(tau);
    const std::vector<int64_t> cand = test_candidates(F, S, C, case_seed++);
    const int64_t bb = B, ff = F, ss = S, cc = C;
    c.inputs = [bb, ff, ss, cc](Generator& gen) {
      Tensor x = with_edges(uniform({bb, ff}, gen, 0, 1), {0.0, 1.0, 0.5});
      // Slot 0 ties between candidates 0 and 1 (candidate 0 wins); slot 1's candidate 0 is 0.
      std::vector<double> w = values(uniform({ss, cc}, gen, 0, 1));
      if (cc > 1) w[0] = w[1] = 2.0;
      if (ss > 1) w[static_cast<size_t>(cc)] = 0.0;
      return Tensors{x, f64_tensor(w, {ss, cc})};
    };
    const double t = tau;
    c.build = [cand, ff, ss, cc, t](const std::vector<Var>& v) {
      const Tensor ct = Tensor::from_vector(cand, {ss, cc});
      return sparse_mapping(v[0], v[1], make_sparse_mapping_index(ct, ff, v[0].device()), t);
    };
    c.reference = [cand](const Tensors& in) { return sparse_reference(in, cand); };
    c.grad = GradCheck::surrogate;
    c.surrogate = [cand, t](const Tensors& in, const Tensor& seed) {
      return sparse_surrogate(in, seed, cand, t);
    };
    c.grad_note =
        "hard choice forward; dW = (2x − 1)ᵀ g over the candidates and dx = g "
        "softmax(W / tau)ᵀ through the candidates backward";
    c.exact = true;  // the forward is a gather
    c.large = large;
    c.tol_f32 = 1e-5;
    cases.push_back(c);
  }
}

}  // namespace difflut::optest
