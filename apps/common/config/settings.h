// Typed settings of the apps, parsed and validated once from a composed Config (docs/CONFIG.md):
// each struct holds one group of keys, and the parsers are the only code that reads those keys.
// Every error is one line naming the key, what was expected and what was found. The trainer,
// the run recorder and the sweep launcher take these structs; none of them reads a key from the
// raw tree (they only record it: config.yaml, the database's config column).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "data/augment.h"
#include "lut/lut_network.h"
#include "lut/nodes/node_types.h"

namespace difflut::app {

// dataloaders.*, data_root
struct DataSettings {
  std::string dataset;      // canonical name (dataloaders.name)
  std::string data_root;    // "" = default search
  int64_t subset_size = 0;  // 0 = all (dataloaders.subset_size: null)
  int64_t holdout = 0;      // dataloaders.holdout: the last N training samples are the test set
};

// model.params.*
struct ModelSettings {
  std::string node_type;
  NodeOptions node_options;          // model.params.node_params.*
  std::string regularizer = "none";  // model.params.regularizer.kind: none | functional | spectral
  double regularizer_weight = 0.0;   // model.params.regularizer.weight
  int k = 6;                         // model.params.num_inputs
  std::vector<int64_t> hidden_sizes;
  // model.params.conv.* (absent: none): convolutional LUT layers before hidden_sizes.
  std::vector<ConvLayerSpec> conv;
  MappingKind first_mapping = MappingKind::learnable;  // layer_type
  MappingKind later_mapping = MappingKind::random;     // later_layer_type (null: layer_type)
  double learnable_tau = 1e-3;
  int64_t sparse_groups = 0;          // layer_type grouped: model.params.num_groups (else 0)
  double sparse_group_overlap = 0.0;  // model.params.group_overlap
  int64_t sparse_candidates = 8;  // sparse_candidates: candidate inputs per slot of sparse mappings
  int64_t later_sparse_candidates =
      0;  // later_sparse_candidates: C of later layers (0: null, same)
  // sparse_candidate_prior: how a sparse first layer draws its candidates: "uniform" (every input
  // alike) or "label_mi" (weighted by each encoded bit's information about the label).
  std::string sparse_candidate_prior = "uniform";
  double tau = 1.0 / 0.3;
  double flip_probability = 0.0;                  // model.params.flip_probability
  GradStabilizationOptions grad_stabilization{};  // model.params.grad_* keys
  std::string encoder = "distributive";           // encoder.name
  int encoder_bits = 3;
  bool encoder_feature_wise = true;
};

// training.*
struct TrainSettings {
  int64_t epochs = 1;
  int64_t batch_size = 32;
  double lr = 1e-2;
  std::string optimizer = "adam";  // adam | adamw | sgd
  double weight_decay = 0.0;
  double val_fraction = 0.0;
  std::string scheduler = "step";  // scheduler.type: step | cosine | none
  int64_t step_size = 14;
  double gamma = 0.1;
  std::string resume;  // "" = a fresh run
  bool save_best = true;
  int64_t checkpoint_every = 1;  // 0 = no resumable checkpoint
  AugmentOptions augment;        // training.augment.*: random shifts and flips of training images
  int64_t sparse_refresh = 0;    // sparse mappings: candidates per slot replaced after each epoch
  // How the refresh picks new inputs: "random" (uniform draws) or "gradient" (the probed inputs
  // whose dense-mapping gradient points most consistently upwards, lut/sparse_probe.h).
  std::string sparse_refresh_rule = "random";
  int64_t sparse_probe_inputs = 256;  // gradient rule: inputs probed per slot each epoch
  int64_t sparse_probe_steps = 128;   // gradient rule: the epoch's last steps that are probed
  double sparse_probe_min_t = 2.0;    // gradient rule: a probe replaces a candidate below -min_t
};

// tracking.* (the SQLite experiment database)
struct TrackingSettings {
  bool enabled = true;
  bool histograms = true;
  int64_t histogram_bins = 40;
  double busy_timeout_s = 120.0;
  std::string db = "results/experiments.db";
};

// Everything one difflut-train run uses.
struct ExperimentSettings {
  std::string experiment_name;
  uint64_t seed = 42;
  std::string device = "auto";  // as configured; resolve_device() gives the one used
  std::string output_dir = "outputs";
  bool eval_circuit = false;  // evaluation.circuit: also score the test set through the circuit
  DataSettings data;
  ModelSettings model;
  TrainSettings training;
  TrackingSettings tracking;
};

// launcher.* (configs/launcher/<name>.yaml): how a sweep's runs are started.
struct LauncherSettings {
  std::string name = "local";  // local | slurm
  // local
  int n_jobs = 1;           // runs at a time
  int threads_per_job = 0;  // DIFFLUT_NUM_THREADS of each run; 0: cores / n_jobs
  // slurm (names follow Hydra's submitit launcher)
  std::string partition;  // "" = the cluster's default
  int64_t timeout_min = 240;
  int cpus_per_task = 4;
  int64_t mem_gb = 16;
  std::string gres;           // e.g. "gpu:1"; "" = none
  int array_parallelism = 0;  // at most this many tasks at once (the %N of --array); 0: no limit
  std::vector<std::string> additional_parameters;  // more sbatch arguments, as given
  bool wait = false;                               // block until every task ended (sbatch --wait)
  std::string setup;  // shell lines run before each task (module load ...)
};

// experiment_name "auto" (the shipped default) names the run after its model and data set:
// "<model.name>_<dataloaders.name>" (dwn_fashionmnist, sparse_wide_mnist), or the model's name
// alone where it already ends in the data set's (conv_cifar10 on cifar10). Any other name is kept.
// difflut-train resolves it right after composing, so the run directory, config.yaml and the
// tracking database all carry the resolved name.
std::string derived_experiment_name(const Config& c);
Config resolve_experiment_name(Config c);

DataSettings parse_data_settings(const Config& config);
ModelSettings parse_model_settings(const Config& config);
TrainSettings parse_train_settings(const Config& config);
// Keys that configs written before they existed lack take their defaults.
TrackingSettings parse_tracking_settings(const Config& config);
// All of the above plus the top-level keys, in the order the keys appear in experiment.yaml.
ExperimentSettings parse_experiment_settings(const Config& config);
// A config without a `launcher` map gives the local defaults.
LauncherSettings parse_launcher_settings(const Config& config);

}  // namespace difflut::app
