// Small LUT networks for tests: the configuration that most network tests start from, and a
// sparse layer's options.
#pragma once
#include <cstdint>
#include <vector>

#include "lut/lut_network.h"

namespace difflut::test {

// F raw features, C classes, LUT layers of `hidden` nodes with fan-in k; everything else (the
// learnable first mapping, GroupSum tau, f32 on the CPU) as LUTNetworkConfig's defaults.
inline LUTNetworkConfig small_config(int64_t F, int C, std::vector<int64_t> hidden, int k) {
  LUTNetworkConfig c;
  c.num_features = F;
  c.num_classes = C;
  c.hidden_sizes = std::move(hidden);
  c.k = k;
  return c;
}

// small_config with sparse mappings of C candidates in every layer.
inline LUTNetworkConfig small_sparse_config(int64_t F, int classes, std::vector<int64_t> hidden,
                                            int k, int64_t C) {
  LUTNetworkConfig c = small_config(F, classes, std::move(hidden), k);
  c.first_mapping = MappingKind::sparse;
  c.later_mapping = MappingKind::sparse;
  c.sparse_candidates = C;
  return c;
}

// One LUT layer of N nodes with fan-in k over F inputs, its mapping sparse with C candidates.
inline LUTLayerOptions sparse_layer_options(int64_t F, int64_t N, int k, int64_t C) {
  LUTLayerOptions o;
  o.input_size = F;
  o.num_nodes = N;
  o.k = k;
  o.mapping = MappingKind::sparse;
  o.sparse_candidates = C;
  return o;
}

}  // namespace difflut::test
