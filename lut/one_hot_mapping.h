// The learnable mapping's weights that choose exactly a given mapping: W [F, S] one-hot, W[i, s] = 1
// where i is slot s's input. Loading a checkpoint saved without W and merging networks both set a
// learnable layer's choice this way (its argmax is then the mapping, with no ties).
#pragma once
#include <cstdint>
#include <vector>

#include "lut/lut_layer.h"

namespace difflut {

// Writes the one-hot W of `index` (one input in [0, F) per slot) into a learnable layer's weights
// and drops its cached argmax.
inline void set_one_hot_mapping(LUTLayer& layer, const std::vector<int64_t>& index) {
  const int64_t F = layer.input_size(), S = layer.num_slots();
  Tensor oh = Tensor::zeros({F, S}, DType::f64, Device::cpu);
  double* p = oh.data<double>();
  for (int64_t s = 0; s < S; ++s) p[index[static_cast<size_t>(s)] * S + s] = 1.0;
  Parameter& w = *layer.mapping_weights();
  w.value.copy_(oh.to(w.value.dtype()));
  layer.invalidate_mapping_cache();
}

}  // namespace difflut
