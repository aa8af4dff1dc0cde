// Training step 1, the data: loads the train and test splits of the configured data set, takes the
// subset (dataloaders.subset_size) and the validation split (training.val_fraction), and checks
// that what is left can be trained and scored.
#pragma once
#include <cstdint>
#include <string>

#include "common/config/settings.h"
#include "data/dataset.h"

namespace difflut::app {

struct TrainingData {
  Dataset train, val, test;  // val is empty when training.val_fraction is 0
};

// The subset draws with `seed`, the validation split with seed + 1.
TrainingData load_training_data(const DataSettings& data, double val_fraction, uint64_t seed);

// The log line: "<dataset>: N train, N validation, N test samples, F features, C classes".
std::string describe_training_data(const TrainingData& d, const std::string& dataset);

}  // namespace difflut::app
