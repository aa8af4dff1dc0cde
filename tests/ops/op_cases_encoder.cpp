// Op cases of the encoder family: the thermometer comparison bit = 1[x > t] (strict), with inputs
// planted exactly on thresholds, below the first and above the last. No gradient flows into raw
// inputs.
#include "encoders/thermometer.h"
#include "op_case.h"

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
}

}  // namespace difflut::optest
