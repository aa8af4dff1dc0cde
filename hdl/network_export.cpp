// LUTNetwork -> circuit: lower the forward graph; data set -> input codes; circuit accuracy.
#include "hdl/network_export.h"

#include <algorithm>
#include <cmath>

#include "encoders/encoder_ops.h"
#include "hdl/lower.h"

namespace difflut::hdl {

namespace {
int find_encoder_node(const Graph& g, int input) {
  for (int id = input + 1; id < static_cast<int>(g.size()); ++id) {
    const Node& n = g.node(id);
    if ((n.op == thermometer_op() || n.op == level_code_op()) && n.inputs.size() == 1 &&
        n.inputs[0] == input)
      return id;
  }
  DIFFLUT_FAIL(
      "hdl: the network's graph has no encoder node (thermometer, level_code) reading its features");
}
}  // namespace

Circuit lower_lut_network(LUTNetwork& net, const NetworkLowerOptions& options, const Tensor& probe,
                          bool check) {
  const int64_t F = net.config().num_features;
  DIFFLUT_CHECK(probe.defined() && probe.dim() == 2 && probe.size(1) == F && probe.size(0) >= 1,
                "hdl: expected probe features [B, ", F, "], found ",
                probe.defined() ? probe.describe() : std::string("none"));
  // A NaN table or threshold would lower to a circuit that agrees with an equally broken graph
  // (mismatches=0); refuse it by name instead.
  check_lut_network_finite(net, "hdl");
  EvalScope eval(net);
  NoGradGuard no_grad;
  Graph g;
  g.set_training(false);
  Var x = g.input(probe.to(net.config().dtype).to(net.device()), "features");
  Var scores = net.forward(g, x);
  LowerOptions lo;
  int input = x.id;
  if (!options.include_encoder) {
    input = find_encoder_node(g, x.id);
    lo.input = InputEncoding::bits();
  } else if (options.fixed_point) {
    lo.input = InputEncoding::fixed_point(*options.fixed_point);
  }
  Circuit c = lower_graph(g, input, scores.id, lo);
  if (check) {
    for (const StageCheck& s : check_against_graph(c, g))
      DIFFLUT_CHECK(s.mismatches == 0, "hdl: stage '", s.name,
                    "' differs from the network's graph in ", s.mismatches, " of ", s.words,
                    " words (a lowering bug; please report it)");
  }
  return c;
}

Circuit lower_lut_network(LUTNetwork& net, const NetworkLowerOptions& options) {
  // Every u8 code once per feature (as far as rows go): exercises every comparator both ways.
  const int64_t F = net.config().num_features;
  Tensor probe = Tensor::empty({256, F}, DType::f32);
  float* p = probe.data<float>();
  for (int64_t v = 0; v < 256; ++v)
    for (int64_t f = 0; f < F; ++f) p[v * F + f] = static_cast<float>((v + 37 * f) % 256) / 255.0f;
  return lower_lut_network(net, options, probe, true);
}

void check_dataset_fits(const LUTNetwork& net, const Dataset& data) {
  // Features may be images [N, H, W(, C)]: what counts is the values per sample.
  const int64_t n = data.features.dim() >= 1 ? data.features.size(0) : 0;
  DIFFLUT_CHECK(
      data.features.dim() >= 2 && n >= 1 && data.features.numel() / n == net.config().num_features,
      "hdl: the model expects ", net.config().num_features, " features per sample, the ",
      "data set has ", data.features.describe());
  const int64_t C = net.config().num_classes;
  const Tensor labels = data.labels.to(DType::i64);
  const int64_t* y = labels.data<int64_t>();
  for (int64_t i = 0; i < labels.numel(); ++i)
    DIFFLUT_CHECK(y[i] >= 0 && y[i] < C, "hdl: sample ", i, " has label ", y[i],
                  " but the model has ", C, " classes (expected labels in [0, ", C,
                  "); is the checkpoint's class count or the data set wrong?)");
}

std::vector<uint32_t> network_input_codes(LUTNetwork& net, const Circuit& circuit,
                                          const Dataset& data) {
  check_dataset_fits(net, data);
  if (circuit.input_width() > 1 && data.features.dtype() == DType::u8)
    return u8_codes(data.features);
  if (circuit.input_width() > 1)
    return encode_exact(data.features_f32(), circuit.input().decode,
                        "hdl: features (quantize them to the circuit's input format first)");
  const Tensor bits = net.encoder().encode(data.features_f32());
  return encode_exact(bits, circuit.input().decode, "hdl: encoder output");
}

FixedPoint derive_fixed_point(const Tensor& features, int input_bits) {
  DIFFLUT_CHECK(input_bits == 0 || (input_bits >= 2 && input_bits <= 16),
                "hdl: expected --input-bits in [2, 16] (1-bit words are the encoded-bits input), ",
                "found ", input_bits);
  const Tensor f = features.to(Device::cpu).to(DType::f32);
  const float* p = f.data<float>();
  const int64_t n = f.numel();
  DIFFLUT_CHECK(n >= 1, "hdl: no feature values to derive an input format from");
  double lo = p[0], hi = p[0];
  for (int64_t i = 0; i < n; ++i) {
    DIFFLUT_CHECK(std::isfinite(p[i]), "hdl: feature value at flat index ", i, " is ", p[i],
                  "; expected finite values");
    lo = std::min(lo, static_cast<double>(p[i]));
    hi = std::max(hi, static_cast<double>(p[i]));
  }
  FixedPoint fp;
  auto fit = [&](int frac) {  // offset and width for the range at `frac` fractional bits
    const double a = std::floor(std::ldexp(lo, frac)), b = std::ceil(std::ldexp(hi, frac));
    fp.frac_bits = frac;
    fp.offset = static_cast<int64_t>(-a);
    // At least 2 bits (FixedPoint::width): a constant feature needs only one code.
    return std::max(2, bits_for(static_cast<uint64_t>(b - a)));
  };
  if (input_bits > 0) {
    // The finest step whose range fits input_bits (steps may be coarser than 1: frac < 0).
    int frac = 24;
    while (frac > -24 && fit(frac) > input_bits) --frac;
    DIFFLUT_CHECK(fit(frac) <= input_bits, "hdl: features in [", lo, ", ", hi, "] do not fit ",
                  input_bits, "-bit codes");
    fp.width = input_bits;
    return fp;
  }
  for (int frac = 0; frac <= 16; ++frac) {
    bool exact = true;
    for (int64_t i = 0; i < n && exact; ++i) {
      const double s = std::ldexp(static_cast<double>(p[i]), frac);
      exact = s == std::floor(s);
    }
    if (!exact) continue;
    const int w = fit(frac);
    DIFFLUT_CHECK(w <= 16, "hdl: features in [", lo, ", ", hi, "] with ", frac,
                  " fractional bits need ", w,
                  "-bit codes (at most 16); give --input-bits N to "
                  "round them to N-bit codes");
    fp.width = w;
    return fp;
  }
  for (int64_t i = 0; i < n; ++i)
    DIFFLUT_CHECK(std::ldexp(static_cast<double>(p[i]), 16) ==
                      std::floor(std::ldexp(static_cast<double>(p[i]), 16)),
                  "hdl: feature value ", p[i], " (flat index ", i,
                  ") is not a fixed-point number "
                  "with at most 16 fractional bits; give --input-bits N to round the features to "
                  "N-bit codes");
  DIFFLUT_FAIL("hdl: no fixed-point format found");  // unreachable: the loop above finds one
}

Tensor quantize_features(const Tensor& features, const FixedPoint& format) {
  Tensor f = features.to(Device::cpu).to(DType::f32).clone();
  float* p = f.data<float>();
  for (int64_t i = 0; i < f.numel(); ++i)
    p[i] = static_cast<float>(format.value(format.code_of(p[i])));
  return f;
}

CircuitAccuracy evaluate_circuit(LUTNetwork& net, const Dataset& data) {
  NetworkLowerOptions o;
  o.include_encoder = data.features.dtype() == DType::u8;
  const Circuit c = lower_lut_network(net, o);
  return circuit_accuracy(c, network_input_codes(net, c, data), data.labels);
}

}  // namespace difflut::hdl
