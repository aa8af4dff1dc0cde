// The bridge from a LUTNetwork (lut/lut_network.h) to the circuit IR: lower the network's own
// inference graph, and evaluate a data set through the software model of the exported circuit
// (the accuracy the FPGA design will have). difflut-train and difflut-export use these.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "data/dataset.h"
#include "hdl/circuit.h"
#include "hdl/evaluate.h"
#include "hdl/lower.h"
#include "lut/lut_network.h"

namespace difflut::hdl {

struct NetworkLowerOptions {
  // true: the circuit starts from raw 8-bit feature codes (u8 pixels scaled by 1/255, as the data
  // loader feeds the network) and includes the encoder's comparators. false: it starts from the
  // encoder's output bits.
  bool include_encoder = true;
  // With the encoder: the input words' format. Empty: 8-bit codes (u8 pixels / 255); set for
  // features that are not 8-bit codes (derive_fixed_point).
  std::optional<FixedPoint> fixed_point{};
};

// The input format for f32 features [N, ...] that are not 8-bit codes. input_bits 0: exact, the
// fewest fractional bits (at most 16) that represent every value, over the values' range (an
// error, one line, when no such format has at most 16 bits). input_bits N: N-bit codes spanning
// the values' range as finely as N bits allow (values are then rounded: quantize_features), N in
// [2, 16]. Formats have at least 2 bits (FixedPoint::width), also for a constant feature.
FixedPoint derive_fixed_point(const Tensor& features, int input_bits = 0);
// The features rounded to the format's nearest codes, as the f32 values those codes decode to
// (what the exported circuit computes on); unchanged when the format represents them exactly.
Tensor quantize_features(const Tensor& features, const FixedPoint& format);

// Builds the network's inference graph (eval mode, no grad) on `probe` features [B, F] (f32; the
// values only matter for the stage-by-stage self-check, which runs when `check` is set and throws
// on any mismatch) and lowers it from the features (or the encoder output) to the scores, with
// the argmax appended. The network's train/eval mode is restored afterwards. Non-finite
// thresholds, tables or mapping weights throw difflut::Error naming the tensor.
Circuit lower_lut_network(LUTNetwork& net, const NetworkLowerOptions& options, const Tensor& probe,
                          bool check = true);
Circuit lower_lut_network(LUTNetwork& net, const NetworkLowerOptions& options = {});

// Throws difflut::Error unless `data` has the network's feature count and every label is a class
// of the network (a checkpoint whose class count was edited would otherwise export a circuit that
// can never predict some classes, and report it as exact).
void check_dataset_fits(const LUTNetwork& net, const Dataset& data);

// Input codes of a data set for a lowered network: u8 features as they are (raw-input circuits),
// f32 features through the circuit's fixed-point input format (exact decodes only), or the
// encoder's bits computed in software (encoded-bits circuits): [N * input words]. Checks
// the data set with check_dataset_fits first.
std::vector<uint32_t> network_input_codes(LUTNetwork& net, const Circuit& circuit,
                                          const Dataset& data);

// The data set's accuracy through the exported circuit's software model: lowers the network
// (with the encoder when the features are u8 codes, from the encoded bits otherwise) and runs the
// circuit on every sample. Equal to the network's own accuracy; a difference would be a bug.
CircuitAccuracy evaluate_circuit(LUTNetwork& net, const Dataset& data);

}  // namespace difflut::hdl
