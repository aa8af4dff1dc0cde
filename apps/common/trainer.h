// The training runner behind difflut-train: reads a resolved Config (docs/CONFIG.md), loads the
// dataset, fits the encoder, builds the LUT network, trains it with a progress reporter, evaluates
// validation every epoch and the test set at the end, and writes the run directory.
#pragma once
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "common/config.h"
#include "lut/lut_network.h"
#include "lut/nodes/node_types.h"

namespace difflut::app {

// Every setting the runner uses, validated: errors name the config key and the bad value.
struct TrainSettings {
  std::string experiment_name;
  uint64_t seed = 42;
  std::string device = "auto";  // as configured; resolve_device() gives the one used
  std::string output_dir = "outputs";
  std::string data_root;        // "" = default search
  std::string dataset;          // canonical name
  int64_t subset_size = 0;      // 0 = all
  // model
  std::string node_type;
  NodeOptions node_options;          // model.params.node_params.*
  std::string regularizer = "none";  // model.params.regularizer.kind: none | functional | spectral
  double regularizer_weight = 0.0;   // model.params.regularizer.weight
  int k = 6;
  bool eval_circuit = false;  // evaluation.circuit: also score the test set through the circuit
  std::vector<int64_t> hidden_sizes;
  MappingKind first_mapping = MappingKind::learnable;
  MappingKind later_mapping = MappingKind::random;
  double learnable_tau = 1e-3;
  double tau = 1.0 / 0.3;
  std::string encoder = "distributive";
  int encoder_bits = 3;
  bool encoder_feature_wise = true;
  // training
  int64_t epochs = 1;
  int64_t batch_size = 32;
  double lr = 1e-2;
  std::string optimizer = "adam";
  double weight_decay = 0.0;
  double val_fraction = 0.0;
  std::string scheduler = "step";
  int64_t step_size = 14;
  double gamma = 0.1;
};
TrainSettings parse_train_settings(const Config& config);

// "auto" -> cuda when a GPU is usable, else cpu; "cuda" without a GPU is an error.
Device resolve_device(const std::string& setting);

struct EpochRecord {
  int64_t epoch = 0;  // 1-based
  double lr = 0.0;    // during the epoch
  double train_loss = 0.0;  // mean of the losses read during the epoch
  double val_accuracy = -1.0;  // -1: no validation set
  double seconds = 0.0;        // training steps only
  double samples_per_second = 0.0;
};

struct TrainResult {
  double test_accuracy = 0.0;
  double circuit_test_accuracy = -1.0;  // -1: not evaluated (evaluation.circuit=false)
  double best_val_accuracy = -1.0;  // -1: no validation set
  int64_t best_val_epoch = 0;
  int64_t epochs = 0;
  double train_seconds = 0.0;
  double samples_per_second = 0.0;
  std::string device;
  std::string run_dir;
  std::vector<EpochRecord> history;
};

struct TrainerIo {
  std::ostream* log = nullptr;  // progress and info lines (stderr); null: silent
  bool live_progress = false;   // redraw one live line (a terminal) instead of plain lines
  double plain_interval_s = 30.0;
};

// Runs one training. Throws difflut::Error for bad settings, files or data.
TrainResult run_training(const Config& config, const TrainerIo& io);

}  // namespace difflut::app
