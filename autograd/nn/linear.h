// Linear: y = x W + b with W [in, out] (row-major x [B, in] times W, bias broadcast over rows).
#pragma once
#include "autograd/nn/module.h"

namespace difflut {

class Linear : public Module {
 public:
  // PyTorch's default init: W and b uniform in [-1/sqrt(in), 1/sqrt(in)), drawn from `gen`
  // (weight first, then bias), created on `device` in `dtype` (f32 or f64).
  Linear(int64_t in_features, int64_t out_features, bool bias, Generator& gen,
         DType dtype = DType::f32, Device device = Device::cpu);

  Var forward(Graph& g, Var x) override;
  std::string type_name() const override { return "Linear"; }

  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }
  Parameter& weight() { return *weight_; }
  Parameter* bias() { return bias_; }  // null without bias

 private:
  int64_t in_, out_;
  Parameter* weight_ = nullptr;
  Parameter* bias_ = nullptr;
};

// Uniform values in [lo, hi) of `shape`, drawn from `gen` (same numbers on every device).
Tensor uniform_tensor(const Shape& shape, double lo, double hi, Generator& gen,
                      DType dtype = DType::f32, Device device = Device::cpu);

}  // namespace difflut
