// Training step 2, the model: fits the thermometer encoder on the training features and builds
// the LUT network the model.params.* settings describe, on the run's device.
#pragma once
#include <memory>
#include <string>

#include "common/config/settings.h"
#include "data/dataset.h"
#include "lut/lut_network.h"
#include "tensor/random.h"

namespace difflut::app {

// Layers draw their mappings and parameters from `gen` (seeded with the run's seed).
std::unique_ptr<LUTNetwork> build_model(const ModelSettings& m, const Dataset& train, Device device,
                                        Generator& gen);

// The log line: encoder -> layers (size, node type, k, mapping) -> GroupSum, parameters, device.
std::string describe_model(LUTNetwork& model, const ModelSettings& m);

}  // namespace difflut::app
