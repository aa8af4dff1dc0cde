// Thermometer encoders: fit thresholds on training data, then turn each real feature into num_bits
// bits x > t_i (strict), the bits of one feature contiguous, features in input order, as floats
// that feed LUT layers. Three threshold rules (DESIGN.md §3), each per feature or pooled ("global"):
//   uniform       t_i = min + i (max - min) / (b + 1)
//   gaussian      t_i = mu + sigma Phi^{-1}(i / (b + 1))   (sigma with N - 1)
//   distributive  t_i = sorted[floor(N i / (b + 1))]         (sorted ascending, N values)
// for i = 1..b. Thresholds are computed in double on the host and stored as f32 [F, b]; a global
// encoder stores the same row for every feature.
// The same class runs the public DiffLUT's level-code encoders (binary, gray, onehot,
// sign_magnitude, logarithmic; level_code.h): their thresholds are the M - 1 level boundaries per
// feature ([F, M - 1], num_thresholds()), and encode appends a level_code node producing
// F * num_bits bits. They are comparator encoders too, which is how hdl/ lowers them.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <string>

#include "autograd/graph.h"
#include "encoders/encoder_ops.h"
#include "encoders/level_code.h"

namespace difflut {

enum class ThermometerKind {
  uniform, gaussian, distributive,                        // thermometer codes
  binary, gray, onehot, sign_magnitude, logarithmic       // level codes (level_code.h)
};

// "uniform", "gaussian", "distributive", "binary", "gray", "onehot", "sign_magnitude",
// "logarithmic".
std::string thermometer_kind_name(ThermometerKind kind);
// Accepts "thermometer" or any name above; anything else throws difflut::Error listing the known
// names.
ThermometerKind parse_thermometer_kind(const std::string& name);
// True for the five level codes; *code (when given) receives the matching LevelCode.
bool is_level_code(ThermometerKind kind, LevelCode* code = nullptr);
// Thresholds per feature: num_bits for thermometer kinds, M - 1 for level codes.
int64_t thresholds_per_feature(ThermometerKind kind, int num_bits);

// What a checkpoint stores for one encoder: named tensors and string metadata (safetensors-shaped).
// Tensors: "thresholds" (f32 [F, thresholds_per_feature], host). Metadata: "encoder" = "thermometer", "kind",
// "num_bits", "feature_wise" ("true"/"false").
struct EncoderState {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;
};

class ThermometerEncoder {
 public:
  explicit ThermometerEncoder(ThermometerKind kind = ThermometerKind::uniform, int num_bits = 1,
                              bool feature_wise = true);
  ThermometerEncoder(const std::string& kind_name, int num_bits, bool feature_wise = true);

  // Computes the thresholds from data [N, F] (f32 or f64, any device; read on the host). Empty
  // data, non-finite values, or Gaussian fitting on a single value throw difflut::Error.
  ThermometerEncoder& fit(const Tensor& data);
  bool fitted() const { return thresholds_.defined(); }

  // Appends a thermometer node over x [B, F] (f32 or f64) to g: -> [B, F * num_bits] of x's dtype.
  // The thresholds are copied to x's device and dtype once and cached.
  Var encode(Graph& g, Var x) const;
  // The same without a graph (a throwaway no-grad graph): x [B, F] -> [B, F * num_bits].
  Tensor encode(const Tensor& x) const;

  // f32 [F, num_thresholds()] on the host; throws if not fitted.
  const Tensor& thresholds() const;
  int64_t num_features() const;     // F; throws if not fitted
  int64_t output_features() const;  // F * num_bits; throws if not fitted

  ThermometerKind kind() const { return kind_; }
  std::string kind_name() const { return thermometer_kind_name(kind_); }
  int num_bits() const { return num_bits_; }
  int64_t num_thresholds() const { return thresholds_per_feature(kind_, num_bits_); }
  bool feature_wise() const { return feature_wise_; }

  EncoderState to_state() const;
  // Rebuilds a fitted encoder from to_state()'s output; missing or inconsistent entries throw.
  static ThermometerEncoder from_state(const EncoderState& state);

 private:
  void check_fitted(const char* what) const;
  void set_thresholds(Tensor t);
  const Tensor& thresholds_on(Device device, DType dtype) const;

  ThermometerKind kind_;
  int num_bits_;
  bool feature_wise_;
  Tensor thresholds_;                    // f32 [F, num_bits] on the host
  mutable std::array<Tensor, 4> cache_;  // by (device, dtype): [cpu f32, cpu f64, cuda f32, cuda f64]
  // Level codes: {strict, table} of level_code's attributes, by the same slots.
  mutable std::array<std::array<Tensor, 2>, 4> code_cache_;
};

}  // namespace difflut
