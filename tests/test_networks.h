// Small LUT networks for tests: the configuration that most network tests start from.
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

}  // namespace difflut::test
