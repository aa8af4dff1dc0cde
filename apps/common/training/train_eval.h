// Training step 5, evaluation: accuracy on the validation set after each epoch (tracking the
// best epoch) and, after the last one, on the test set, optionally also through the exported
// circuit's bit-exact software model (evaluation.circuit).
#pragma once
#include <cstdint>

#include "common/tracking/run_result.h"
#include "data/dataset.h"
#include "lut/lut_network.h"

namespace difflut::app {

// Samples per forward pass when scoring (no gradients are kept, so larger than training batches).
inline constexpr int64_t kEvalBatch = 4096;

// Scores the validation features `val_x` (val.features_f32()) in eval mode into rec.val_accuracy
// and updates result's best validation accuracy and epoch.
void evaluate_validation(LUTNetwork& model, const Tensor& val_x, const Dataset& val,
                         EpochRecord& rec, TrainResult& result);

// Scores the test set in eval mode into result.test_accuracy and, with `circuit`, into
// result.circuit_test_accuracy.
void evaluate_test(LUTNetwork& model, const Dataset& test, bool circuit, TrainResult& result);

}  // namespace difflut::app
