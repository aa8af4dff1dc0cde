// LUTNetwork -> circuit: lower the forward graph; data set -> input codes; circuit accuracy.
#include "hdl/network_export.h"

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
  DIFFLUT_FAIL("hdl: the network's graph has no encoder node (thermometer, level_code) reading its features");
}
}  // namespace

Circuit lower_lut_network(LUTNetwork& net, const NetworkLowerOptions& options,
                          const Tensor& probe, bool check) {
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
  }
  Circuit c = lower_graph(g, input, scores.id, lo);
  if (check) {
    for (const StageCheck& s : check_against_graph(c, g))
      DIFFLUT_CHECK(s.mismatches == 0, "hdl: stage '", s.name, "' differs from the network's graph in ",
                    s.mismatches, " of ", s.words, " words (a lowering bug; please report it)");
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
  DIFFLUT_CHECK(data.features.dim() >= 2 && n >= 1 &&
                    data.features.numel() / n == net.config().num_features,
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
  if (circuit.input_width() > 1) return u8_codes(data.features);
  const Tensor bits = net.encoder().encode(data.features_f32());
  return encode_exact(bits, circuit.input().decode, "hdl: encoder output");
}

CircuitAccuracy evaluate_circuit(LUTNetwork& net, const Dataset& data) {
  NetworkLowerOptions o;
  o.include_encoder = data.features.dtype() == DType::u8;
  const Circuit c = lower_lut_network(net, o);
  return circuit_accuracy(c, network_input_codes(net, c, data), data.labels);
}

}  // namespace difflut::hdl
