// Accuracy of a circuit's software model on labelled input codes.
#include "hdl/evaluate.h"

#include "hdl/circuit_sim.h"
#include "tensor/error.h"

namespace difflut::hdl {

std::vector<uint32_t> u8_codes(const Tensor& features) {
  DIFFLUT_CHECK(features.defined() && features.dtype() == DType::u8,
                "hdl: raw-input circuits read u8 feature codes, found ",
                features.defined() ? features.describe() : std::string("no features"),
                " (export from the encoded bits for other feature types)");
  const Tensor h = features.to(Device::cpu);
  const uint8_t* p = h.data<uint8_t>();
  return std::vector<uint32_t>(p, p + h.numel());
}

CircuitAccuracy circuit_accuracy(const Circuit& circuit, const std::vector<uint32_t>& input_codes,
                                 const Tensor& labels) {
  int port = -1;
  for (size_t o = 0; o < circuit.outputs.size(); ++o)
    if (circuit.outputs[o].port == "class_idx") port = static_cast<int>(o);
  DIFFLUT_CHECK(port >= 0,
                "hdl: the circuit has no class_idx output (it must end in a GroupSum "
                "or an argmax)");
  const int64_t F = circuit.input_words();
  DIFFLUT_CHECK(F > 0 && static_cast<int64_t>(input_codes.size()) % F == 0,
                "hdl: expected input codes [N, ", F, "], found ", input_codes.size(), " codes");
  const int64_t N = static_cast<int64_t>(input_codes.size()) / F;
  const Tensor y = labels.to(Device::cpu).to(DType::i64);
  DIFFLUT_CHECK(y.numel() == N, "hdl: expected ", N, " labels, found ", y.numel());
  const auto outs = simulate(circuit, input_codes, N);
  const std::vector<uint32_t>& cls = outs[static_cast<size_t>(port)];
  CircuitAccuracy a;
  a.samples = N;
  for (int64_t i = 0; i < N; ++i)
    a.correct += static_cast<int64_t>(cls[static_cast<size_t>(i)]) == y.data<int64_t>()[i];
  a.accuracy = N > 0 ? static_cast<double>(a.correct) / static_cast<double>(N) : 0.0;
  return a;
}

}  // namespace difflut::hdl
