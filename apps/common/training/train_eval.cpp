// Training step 5, evaluation (see train_eval.h).
#include "common/training/train_eval.h"

#include "hdl/network_export.h"

namespace difflut::app {

void evaluate_validation(LUTNetwork& model, const Tensor& val_x, const Dataset& val,
                         EpochRecord& rec, TrainResult& result) {
  model.eval();
  rec.val_accuracy = accuracy(model.predict(val_x, kEvalBatch), val.labels);
  if (rec.val_accuracy > result.best_val_accuracy) {
    result.best_val_accuracy = rec.val_accuracy;
    result.best_val_epoch = rec.epoch;
  }
}

void evaluate_test(LUTNetwork& model, const Dataset& test, bool circuit, TrainResult& result) {
  model.eval();
  result.test_accuracy = accuracy(model.predict(test.features_f32(), kEvalBatch), test.labels);
  // "What the FPGA would say": the exported circuit's bit-exact software model (hdl/).
  if (circuit) result.circuit_test_accuracy = hdl::evaluate_circuit(model, test).accuracy;
}

}  // namespace difflut::app
