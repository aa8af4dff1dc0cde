// Op cases of the encoder family: the thermometer comparison bit = 1[x > t] (strict), with inputs
// planted exactly on thresholds, below the first and above the last; and level_code for each of
// the five level codes (out = table[#boundaries passed], strict or not per boundary), with inputs
// on its fitted boundaries. No gradient flows into raw inputs.
#include "encoders/level_code.h"
#include "encoders/thermometer.h"
#include "op_case.h"
#include "tensor/random.h"

namespace difflut::optest {

namespace {

// Thresholds [F, nb], ascending per feature, exact in f32.
Tensor thresholds(int64_t F, int64_t nb) {
  std::vector<float> t;
  for (int64_t f = 0; f < F; ++f)
    for (int64_t i = 0; i < nb; ++i) t.push_back(-1.0f + 0.5f * static_cast<float>(f) + 0.75f * static_cast<float>(i));
  return Tensor::from_vector(t, {F, nb});
}

ThermometerEncoder encoder(int64_t F, int64_t nb) {
  EncoderState s;
  s.tensors["thresholds"] = thresholds(F, nb);
  s.metadata = {{"encoder", "thermometer"}, {"kind", "uniform"},
                {"num_bits", std::to_string(nb)}, {"feature_wise", "true"}};
  return ThermometerEncoder::from_state(s);
}

Tensor thermometer_reference(const Tensor& x, const Tensor& thr) {
  const int64_t B = x.size(0), F = x.size(1), nb = thr.size(1);
  const std::vector<double> xv = values(x), tv = values(thr);
  std::vector<double> y;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t f = 0; f < F; ++f)
      for (int64_t i = 0; i < nb; ++i)
        y.push_back(xv[static_cast<size_t>(b * F + f)] > tv[static_cast<size_t>(f * nb + i)] ? 1.0 : 0.0);
  return f64_tensor(y, {B, F * nb});
}

// out[b, f*nb + j] = table[q, j], q counted in plain loops over (x > t) or (x >= t).
Tensor level_code_reference(const Tensor& x, const Tensor& thr, LevelCode code, int nb) {
  const int64_t B = x.size(0), F = x.size(1), T = thr.size(1);
  const std::vector<double> xv = values(x), tv = values(thr);
  const std::vector<uint8_t> strict = level_strict(code, nb), table = level_table(code, nb);
  std::vector<double> y;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t f = 0; f < F; ++f) {
      const double v = xv[static_cast<size_t>(b * F + f)];
      int64_t q = 0;
      for (int64_t k = 0; k < T; ++k) {
        const double t = tv[static_cast<size_t>(f * T + k)];
        q += strict[static_cast<size_t>(k)] ? v > t : v >= t;
      }
      for (int j = 0; j < nb; ++j) y.push_back(table[static_cast<size_t>(q * nb + j)]);
    }
  return f64_tensor(y, {B, F * nb});
}

void add_level_code_cases(std::vector<OpCase>& cases) {
  for (const char* name : {"binary", "gray", "onehot", "sign_magnitude", "logarithmic"}) {
    for (bool large : {false, true}) {
      const int64_t B = large ? 300 : 5, F = large ? 784 : 4;
      const int nb = large ? 4 : 3;
      ThermometerEncoder enc(name, nb);
      Generator fit_gen(3);
      enc.fit(uniform({64, F}, fit_gen, -1.5, 2.5).to(DType::f32));
      LevelCode code;
      find_level_code(name, &code);
      const Tensor thr = enc.thresholds();
      // Row 0: zero and values far outside the range; then rows of every feature's boundaries
      // (exact in f32), boundary k of feature f at row 1 + k, column f.
      const std::vector<double> tv = values(thr);
      const int64_t T = thr.size(1);
      std::vector<double> edges(static_cast<size_t>(F), 0.0);
      edges[1] = -100.0;
      edges[2] = 100.0;
      for (int64_t k = 0; k < T && k + 1 < B; ++k)
        for (int64_t f = 0; f < F; ++f) edges.push_back(tv[static_cast<size_t>(f * T + k)]);
      OpCase c;
      c.op = "level_code";
      c.variant = std::string(name) + " B = " + std::to_string(B) + " F = " + std::to_string(F) +
                  " bits " + std::to_string(nb);
      c.inputs = [B, F, edges](Generator& gen) {
        return Tensors{with_edges(uniform({B, F}, gen, -2, 3), edges)};
      };
      c.build = [enc](const std::vector<Var>& v) { return enc.encode(*v[0].graph, v[0]); };
      c.reference = [thr, code, nb](const Tensors& in) { return level_code_reference(in[0], thr, code, nb); };
      c.grad = GradCheck::none;
      c.grad_note = "piecewise constant: the op declares no differentiable input";
      c.exact = true;
      c.large = large;
      cases.push_back(c);
    }
  }
}

}  // namespace

void add_encoder_cases(std::vector<OpCase>& cases) {
  struct Size {
    int64_t B, F, nb;
    bool large;
  };
  for (const Size& z : {Size{4, 3, 3, false}, Size{1, 5, 1, false}, Size{300, 784, 8, true}}) {
    const ThermometerEncoder enc = encoder(z.F, z.nb);
    OpCase c;
    c.op = "thermometer";
    c.variant = "B = " + std::to_string(z.B) + " F = " + std::to_string(z.F) + " bits " + std::to_string(z.nb);
    c.inputs = [z](Generator& gen) {
      // Feature f's thresholds are -1 + 0.5 f + 0.75 i: the first three values sit on thresholds
      // (they read 0: strict), then one below every threshold and one above.
      return Tensors{with_edges(uniform({z.B, z.F}, gen, -2, 4), {-1.0, 0.25, 1.5, -5.0, 100.0})};
    };
    c.build = [enc](const std::vector<Var>& v) { return enc.encode(*v[0].graph, v[0]); };
    const Tensor thr = enc.thresholds();
    c.reference = [thr](const Tensors& in) { return thermometer_reference(in[0], thr); };
    c.grad = GradCheck::none;
    c.grad_note = "a step function: the op declares no differentiable input";
    c.exact = true;
    c.large = z.large;
    cases.push_back(c);
  }
  add_level_code_cases(cases);
}

}  // namespace difflut::optest
