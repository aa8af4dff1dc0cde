// The training runner (see trainer.h): the steps of one run, in the order they happen.
#include "common/training/trainer.h"

#include <ostream>

#include "common/tracking/run_dir.h"
#include "common/tracking/tracking_run.h"
#include "common/training/progress.h"
#include "common/training/train_candidates.h"
#include "common/training/train_data.h"
#include "common/training/train_epoch.h"
#include "common/training/train_eval.h"
#include "common/training/train_model.h"
#include "common/training/train_optimizer.h"
#include "common/training/train_refresh.h"
#include "data/loader.h"
#include "tensor/error.h"

namespace difflut::app {

Device resolve_device(const std::string& setting) {
  if (setting == "cpu") return Device::cpu;
  if (setting == "cuda") {
    DIFFLUT_CHECK(cuda_available(), "config key 'device': 'cuda' requested but no usable GPU (",
                  cuda_compiled() ? "CUDA kernels are compiled, no device or driver)"
                                  : "this build has no CUDA support)");
    return Device::cuda;
  }
  DIFFLUT_CHECK(setting == "auto", "config key 'device': expected one of auto, cpu, cuda, found '",
                setting, "'");
  return cuda_available() ? Device::cuda : Device::cpu;
}

TrainResult run_training(const ExperimentSettings& s, const Config& resolved, const TrainerIo& io) {
  const Device device = resolve_device(s.device);
  auto info = [&](const std::string& line) {
    if (io.log) *io.log << "difflut-train: " << line << '\n' << std::flush;
  };
  // 1. data
  const TrainingData data = load_training_data(s.data, s.training.val_fraction, s.seed);
  info(describe_training_data(data, s.data.dataset));

  // 2. model
  Generator gen(s.seed);
  const std::unique_ptr<LUTNetwork> model_ptr = build_model(s.model, data.train, device, gen);
  LUTNetwork& model = *model_ptr;
  if (s.model.sparse_candidate_prior == "label_mi") {
    const int64_t informative = draw_informed_candidates(model, data.train, s.seed);
    info(str_cat("sparse first layer: candidates drawn by label information (",
                 "sparse_candidate_prior=label_mi) among the ", informative, " of ",
                 model.encoder().output_features(), " encoded inputs that carry some"));
  }
  info(describe_model(model, s.model));

  // 3. optimizer and schedule
  OptimizerSetup opt = make_optimizer(s.training, model);

  // The loader before the run directory: augmentation options that do not fit the data fail here.
  DataLoader loader(data.train, s.training.batch_size, /*shuffle=*/true, s.seed + 2,
                    /*drop_last=*/false, device);
  loader.set_augment(s.training.augment);
  check_sparse_refresh(model, s.training, loader.num_batches());

  // Run directory, tracking database, checkpoints and resume (tracking_run.h). Created only now:
  // a bad dataset, subset or model setting above fails with nothing written (no run directory,
  // no experiment row).
  RunRecorder recorder(resolved, s, std::string(device_name(device)), io.log);

  // 4. epochs, each followed by validation and the epoch's records
  const Tensor val_x = data.val.size() > 0 ? data.val.features_f32() : Tensor();
  ProgressOptions po;
  po.live = io.live_progress;
  po.interval_s = io.plain_interval_s;
  std::ostream null_stream(nullptr);
  ProgressReporter progress(io.log ? *io.log : null_stream, po);
  EpochRunner epochs(model, *opt.optimizer, loader, progress, s.model, s.training.epochs);
  SparseRefresher refresher(model, s.training, s.seed);
  epochs.set_step_hook(&refresher);

  TrainResult result;
  result.device = std::string(device_name(device));
  const int64_t first_epoch =
      recorder.restore(model, *opt.optimizer, opt.scheduler.get(), gen, result);
  loader.set_epoch(first_epoch - 1);  // the loader's epochs count from 0
  for (int64_t epoch = first_epoch; epoch <= s.training.epochs; ++epoch) {
    refresher.begin_epoch(epoch, s.training.epochs);
    EpochRecord rec = epochs.run(epoch);
    result.train_seconds += rec.seconds;
    if (data.val.size() > 0) evaluate_validation(model, val_x, data.val, rec, result);
    progress.end_epoch(epoch_summary(rec, s.training.epochs));
    result.history.push_back(rec);
    if (opt.scheduler) opt.scheduler->step();
    // Before the checkpoint, which then holds the new candidates; none after the last epoch, whose
    // model is the result.
    const int64_t replaced = refresher.end_epoch(epoch, s.training.epochs);
    if (s.training.sparse_refresh > 0 && epoch < s.training.epochs)
      info(str_cat("sparse refresh (", s.training.sparse_refresh_rule, " rule) after epoch ", epoch,
                   ": ", replaced, " candidates replaced"));
    recorder.end_epoch(rec, model, *opt.optimizer, opt.scheduler.get(), gen, result,
                       [&](const std::string& path) {
                         LUTNetworkSaveOptions so;
                         so.config_yaml = resolved.to_yaml();
                         save_lut_network(model, path, so);
                       });
  }
  result.epochs = s.training.epochs;
  const double samples =
      static_cast<double>(loader.size()) * static_cast<double>(s.training.epochs);
  result.samples_per_second = result.train_seconds > 0 ? samples / result.train_seconds : 0.0;

  // 5. test
  evaluate_test(model, data.test, s.eval_circuit, result);

  // 6. run directory
  RunDirContents rd;
  rd.config = &resolved;
  rd.model = &model;
  rd.result = &result;
  rd.settings = &s;
  rd.dataset_note = data.test.note;
  rd.num_train = data.train.size();
  rd.num_val = data.val.size();
  rd.num_test = data.test.size();
  result.run_dir = write_run_files(recorder.run_dir(), rd);
  recorder.finish(result);
  return result;
}

}  // namespace difflut::app
