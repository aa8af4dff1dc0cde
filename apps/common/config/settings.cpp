// The settings parsers (see settings.h): the one place that reads the experiment, data, model,
// training, tracking and launcher keys of a composed config and checks their values.
#include "common/config/settings.h"

#include <cmath>

#include "common/config/config_values.h"
#include "data/registry.h"
#include "encoders/thermometer.h"
#include "lut/node_registry.h"
#include "tensor/error.h"

namespace difflut::app {

DataSettings parse_data_settings(const Config& c) {
  DataSettings s;
  s.data_root = c.is_null("data_root") ? std::string() : c.get_string("data_root");
  try {
    s.dataset = canonical_dataset_name(c.get_string("dataloaders.name"));
  } catch (const Error& e) {
    DIFFLUT_FAIL("config key 'dataloaders.name': ", e.what());
  }
  s.subset_size =
      c.is_null("dataloaders.subset_size") ? 0 : int_at_least(c, "dataloaders.subset_size", 1);
  // Older configs lack the key: the published test set, as before.
  s.holdout = !c.has("dataloaders.holdout") || c.is_null("dataloaders.holdout")
                  ? 0
                  : int_at_least(c, "dataloaders.holdout", 1);
  return s;
}

namespace {
// model.params.conv.*: one list per field, one entry per conv layer, all of the same length.
std::vector<ConvLayerSpec> parse_conv_layers(const Config& c) {
  const std::vector<int64_t> channels = c.get_int_list("model.params.conv.channels");
  DIFFLUT_CHECK(!channels.empty(),
                "config key 'model.params.conv.channels': expected at least one ",
                "conv layer, found []");
  const auto list = [&](const char* field, int64_t lo, int64_t hi) {
    const std::string key = std::string("model.params.conv.") + field;
    const std::vector<int64_t> v = c.get_int_list(key);
    DIFFLUT_CHECK(v.size() == channels.size(), "config key '", key, "': expected ", channels.size(),
                  " entries (one per conv layer, as channels), found ", v.size());
    for (int64_t x : v)
      DIFFLUT_CHECK(x >= lo && x <= hi, "config key '", key, "': expected entries in [", lo, ", ",
                    hi, "], found ", x);
    return v;
  };
  const std::vector<int64_t> field = list("receptive_field", 1, 64), stride = list("stride", 1, 64),
                             padding = list("padding", 0, 63), depth = list("tree_depth", 1, 8),
                             pool = list("pool", 1, 2);
  // field_candidates may be absent (configs from before learnable fields): fixed fields.
  const std::vector<int64_t> field_cand = has_value(c, "model.params.conv.field_candidates")
                                              ? list("field_candidates", 0, int64_t{1} << 20)
                                              : std::vector<int64_t>(channels.size(), 0);
  const int k = c.is_null("model.params.conv.num_inputs")
                    ? 0
                    : static_cast<int>(int_in_range(c, "model.params.conv.num_inputs", 1, 8));
  std::vector<ConvLayerSpec> out;
  for (size_t i = 0; i < channels.size(); ++i) {
    DIFFLUT_CHECK(channels[i] >= 1 && channels[i] <= (int64_t{1} << 20),
                  "config key 'model.params.conv.channels': expected entries in [1, 2^20], found ",
                  channels[i]);
    DIFFLUT_CHECK(padding[i] < field[i], "config key 'model.params.conv.padding': expected ",
                  "padding below the receptive field (", field[i], ") of conv layer ", i,
                  ", found ", padding[i]);
    ConvLayerSpec l;
    l.channels = channels[i];
    l.kernel = static_cast<int>(field[i]);
    l.stride = static_cast<int>(stride[i]);
    l.padding = static_cast<int>(padding[i]);
    l.tree_depth = static_cast<int>(depth[i]);
    l.k = k;
    l.pool = static_cast<int>(pool[i]);
    l.field_candidates = field_cand[i];
    out.push_back(l);
  }
  return out;
}
}  // namespace

ModelSettings parse_model_settings(const Config& c) {
  ModelSettings s;
  s.node_type = c.get_string("model.params.node_type");
  find_node_type(s.node_type,
                 "model.params.node_type");  // unknown names fail here, listing the known
  s.k = static_cast<int>(int_in_range(c, "model.params.num_inputs", 1, 8));
  // Held in ints: out-of-int values are refused here, their ranges by the node type below.
  s.node_options.degree = int32_at_least(c, "model.params.node_params.degree");
  s.node_options.hidden_width = int32_at_least(c, "model.params.node_params.hidden_width");
  s.node_options.depth = int32_at_least(c, "model.params.node_params.depth");
  s.node_options.skip_interval = int32_at_least(c, "model.params.node_params.skip_interval");
  s.node_options.temperature = c.get_double("model.params.node_params.temperature");
  s.node_options.max_amplitude = c.get_double("model.params.node_params.max_amplitude");
  s.node_options.signed_amplitudes = c.get_bool("model.params.node_params.signed_amplitudes");
  // Out-of-range options and k for the type (difflogic needs k = 2) fail here, naming the key.
  make_node_type(s.node_type, s.node_options, "model.params.node_type")->num_params(s.k);
  s.regularizer = c.get_choice("model.params.regularizer.kind", {"none", "functional", "spectral"});
  s.regularizer_weight = c.get_double("model.params.regularizer.weight");
  DIFFLUT_CHECK(s.regularizer_weight >= 0,
                "config key 'model.params.regularizer.weight': expected ", "a weight >= 0, found ",
                s.regularizer_weight);
  s.hidden_sizes = c.get_int_list("model.params.hidden_sizes");
  DIFFLUT_CHECK(!s.hidden_sizes.empty(),
                "config key 'model.params.hidden_sizes': expected at least ",
                "one layer size, found []");
  for (int64_t h : s.hidden_sizes)
    DIFFLUT_CHECK(h >= 1, "config key 'model.params.hidden_sizes': expected sizes >= 1, found ", h);
  if (has_value(c, "model.params.conv")) s.conv = parse_conv_layers(c);
  // "grouped" (the public DiffLUT's grouped connections) is the sparse mapping with candidate
  // windows per node group instead of random candidates: sparse_groups applies to every sparse
  // layer, so a model has grouped or random-candidate sparse layers, not both.
  const std::string first = c.get_string("model.params.layer_type");
  const std::string later = c.is_null("model.params.later_layer_type")
                                ? first
                                : c.get_string("model.params.later_layer_type");
  const auto kind_of = [](const std::string& name, const char* key) {
    if (name == "grouped") return MappingKind::sparse;
    for (const char* k : {"random", "cyclic", "learnable", "sparse"})
      if (name == k) return parse_mapping_kind(name, key);
    DIFFLUT_FAIL("config key '", key, "': expected one of random, cyclic, learnable, sparse, ",
                 "grouped, found '", name, "'");
  };
  s.first_mapping = kind_of(first, "model.params.layer_type");
  s.later_mapping = kind_of(later, "model.params.later_layer_type");
  const bool grouped = first == "grouped" || later == "grouped";
  DIFFLUT_CHECK(!grouped || (first != "sparse" && later != "sparse"),
                "config keys 'model.params.layer_type' / 'later_layer_type': expected grouped or ",
                "sparse layers, found both (", first, ", ", later, ")");
  s.sparse_groups = grouped ? int_at_least_or(c, "model.params.num_groups", 1, 4) : 0;
  s.sparse_group_overlap = double_or(c, "model.params.group_overlap", 0.0);
  DIFFLUT_CHECK(s.sparse_group_overlap >= 0 && s.sparse_group_overlap <= 0.5,
                "config key 'model.params.group_overlap': expected a number in [0, 0.5], found ",
                s.sparse_group_overlap);
  s.learnable_tau = positive_number(c, "model.params.learnable_tau");
  s.sparse_candidates = int_at_least_or(c, "model.params.sparse_candidates", 1, 8);
  // Null or absent (configs older than the key): every sparse layer takes sparse_candidates.
  s.later_sparse_candidates = int_at_least_or(c, "model.params.later_sparse_candidates", 1, 0);
  if (s.later_sparse_candidates == s.sparse_candidates) s.later_sparse_candidates = 0;
  // Configs older than the key lack it: uniform, as they were drawn.
  s.sparse_candidate_prior = string_or(c, "model.params.sparse_candidate_prior", "uniform");
  DIFFLUT_CHECK(s.sparse_candidate_prior == "uniform" || s.sparse_candidate_prior == "label_mi",
                "config key 'model.params.sparse_candidate_prior': expected one of uniform, ",
                "label_mi, found '", s.sparse_candidate_prior, "'");
  DIFFLUT_CHECK(s.sparse_candidate_prior == "uniform" ||
                    (first == "sparse" && !has_value(c, "model.params.conv")),
                "config key 'model.params.sparse_candidate_prior': label_mi draws the candidates ",
                "of a sparse first layer behind the encoder; expected model.params.layer_type=",
                "sparse and no conv layers, found layer_type=", first,
                has_value(c, "model.params.conv") ? " with conv layers" : "");
  // What the layer sizes alone decide is checked here, so a sweep refuses it before its first run
  // (the width of layer 0's input comes from the data: build_model checks that one): a grouped
  // layer needs a group count that gives every group a node (60 nodes in 25 groups go in blocks of
  // 3 and fill only 20; the other groups' inputs would never be connected), and a later layer's
  // groups or candidates must fit the previous layer's width.
  for (size_t i = 0; i < s.hidden_sizes.size(); ++i) {
    if ((i == 0 ? s.first_mapping : s.later_mapping) != MappingKind::sparse) continue;
    const int64_t nodes = s.hidden_sizes[i];
    const int64_t width = i == 0 ? 0 : s.hidden_sizes[i - 1];
    if (s.sparse_groups > 0) {
      const int64_t G = s.sparse_groups, per = (nodes + G - 1) / G;
      DIFFLUT_CHECK((G - 1) * per < nodes, "config key 'model.params.num_groups': expected a ",
                    "group count that gives every group of layer ", i, " a node (its ", nodes,
                    " nodes fill ", (nodes + per - 1) / per, " groups of ", per, "), found ", G);
      DIFFLUT_CHECK(i == 0 || G <= width, "config key 'model.params.num_groups': expected at most ",
                    width, " (the inputs of layer ", i, ", whose mapping is grouped), found ", G);
    } else {
      const bool later = i > 0 && s.later_sparse_candidates > 0;
      const int64_t C = later ? s.later_sparse_candidates : s.sparse_candidates;
      DIFFLUT_CHECK(i == 0 || C <= width, "config key 'model.params.", later ? "later_" : "",
                    "sparse_candidates': expected at most ", width, " (the inputs of layer ", i,
                    ", whose mapping is sparse), found ", C);
    }
  }
  s.tau = positive_number(c, "model.params.tau");
  // Training aids (DiffLUT's layer options); configs older than them lack the keys: off.
  s.flip_probability = double_or(c, "model.params.flip_probability", 0.0);
  DIFFLUT_CHECK(
      std::isfinite(s.flip_probability) && s.flip_probability >= 0 && s.flip_probability <= 1,
      "config key 'model.params.flip_probability': expected a probability in [0, 1], ", "found ",
      s.flip_probability);
  s.grad_stabilization.mode =
      parse_grad_stabilization(string_or(c, "model.params.grad_stabilization", "none"),
                               "config key 'model.params.grad_stabilization'");
  s.grad_stabilization.target = double_or(c, "model.params.grad_target_std", 1.0);
  s.grad_stabilization.subtract_mean = bool_or(c, "model.params.grad_subtract_mean", false);
  s.grad_stabilization.eps = double_or(c, "model.params.grad_epsilon", 1e-8);
  try {
    check_grad_stabilization(s.grad_stabilization);
  } catch (const Error& e) {
    DIFFLUT_FAIL("config key 'model.params.grad_*': ", e.what());
  }
  s.encoder = c.get_choice("model.params.encoder.name",
                           {"thermometer", "uniform", "gaussian", "distributive", "binary", "gray",
                            "onehot", "sign_magnitude", "logarithmic"});
  s.encoder_bits = static_cast<int>(int_in_range(c, "model.params.encoder.num_bits", 1, 255));
  // Bit counts the encoder cannot take (a level code's range) fail here, before data is loaded.
  try {
    ThermometerEncoder(s.encoder, s.encoder_bits);
  } catch (const Error& e) {
    DIFFLUT_FAIL("config key 'model.params.encoder.num_bits': ", e.what());
  }
  s.encoder_feature_wise = c.get_bool("model.params.encoder.feature_wise");
  return s;
}

TrainSettings parse_train_settings(const Config& c) {
  TrainSettings s;
  s.epochs = int_at_least(c, "training.epochs", 1);
  s.batch_size = int_at_least(c, "training.batch_size", 1);
  s.lr = positive_number(c, "training.lr");
  s.optimizer = c.get_choice("training.optimizer", {"adam", "adamw", "sgd"});
  s.weight_decay = positive_number(c, "training.weight_decay", true);
  s.val_fraction = positive_number(c, "training.val_fraction", true);
  DIFFLUT_CHECK(s.val_fraction < 1.0, "config key 'training.val_fraction': expected a number in ",
                "[0, 1), found ", s.val_fraction);
  s.scheduler = c.get_choice("training.scheduler.type", {"step", "cosine", "none"});
  s.step_size = int_at_least(c, "training.scheduler.step_size", 1);
  s.gamma = positive_number(c, "training.scheduler.gamma");
  // The resume and checkpoint keys came later than the others: older configs lack them.
  s.resume = string_or(c, "training.resume", "");
  s.save_best = bool_or(c, "training.save_best", true);
  s.checkpoint_every = int_at_least_or(c, "training.checkpoint_every", 0, 1);
  // Augmentation came later still; whether the shift fits the images is checked with the data.
  s.augment.max_shift = int32_at_least_or(c, "training.augment.shift", 0, 0);
  s.augment.hflip = bool_or(c, "training.augment.hflip", false);
  // Whether the model has sparse layers it fits is checked with the model (train_refresh.h).
  s.sparse_refresh = int_at_least_or(c, "training.sparse_refresh", 0, 0);
  s.sparse_refresh_rule = string_or(c, "training.sparse_refresh_rule", "random");
  DIFFLUT_CHECK(s.sparse_refresh_rule == "random" || s.sparse_refresh_rule == "gradient",
                "config key 'training.sparse_refresh_rule': expected one of random, gradient, ",
                "found '", s.sparse_refresh_rule, "'");
  const TrainSettings defaults;
  s.sparse_probe_inputs =
      int_at_least_or(c, "training.sparse_probe.inputs", 1, defaults.sparse_probe_inputs);
  s.sparse_probe_steps =
      int_at_least_or(c, "training.sparse_probe.steps", 1, defaults.sparse_probe_steps);
  s.sparse_probe_min_t = double_or(c, "training.sparse_probe.min_t", defaults.sparse_probe_min_t);
  DIFFLUT_CHECK(std::isfinite(s.sparse_probe_min_t) && s.sparse_probe_min_t >= 0.0,
                "config key 'training.sparse_probe.min_t': expected a finite number >= 0, found ",
                s.sparse_probe_min_t);
  // |t| = |sum d| / sqrt(sum d^2) <= sqrt(steps): a threshold at or above it never passes.
  DIFFLUT_CHECK(
      s.sparse_probe_min_t < std::sqrt(static_cast<double>(s.sparse_probe_steps)),
      "config key 'training.sparse_probe.min_t': expected a value below sqrt(",
      "training.sparse_probe.steps) = ", std::sqrt(static_cast<double>(s.sparse_probe_steps)),
      " (|t| never exceeds it, so nothing would be replaced), found ", s.sparse_probe_min_t);
  if (s.sparse_refresh_rule != "gradient") {
    const char* changed = s.sparse_probe_inputs != defaults.sparse_probe_inputs ? "inputs"
                          : s.sparse_probe_steps != defaults.sparse_probe_steps ? "steps"
                          : s.sparse_probe_min_t != defaults.sparse_probe_min_t ? "min_t"
                                                                                : nullptr;
    DIFFLUT_CHECK(changed == nullptr, "config key 'training.sparse_probe.", changed ? changed : "",
                  "': expected its default with training.sparse_refresh_rule=",
                  s.sparse_refresh_rule, " (only the gradient rule probes), found a change");
  }
  return s;
}

TrackingSettings parse_tracking_settings(const Config& c) {
  TrackingSettings s;
  s.enabled = bool_or(c, "tracking.enabled", s.enabled);
  s.histograms = bool_or(c, "tracking.histograms", s.histograms);
  s.histogram_bins = int_or(c, "tracking.histogram_bins", s.histogram_bins);
  DIFFLUT_CHECK(s.histogram_bins >= 1 && s.histogram_bins <= 10000, "config key ",
                "'tracking.histogram_bins': expected an integer in [1, 10000], found ",
                s.histogram_bins);
  s.busy_timeout_s = double_or(c, "tracking.busy_timeout_s", s.busy_timeout_s);
  DIFFLUT_CHECK(
      std::isfinite(s.busy_timeout_s) && s.busy_timeout_s >= 0 && s.busy_timeout_s <= 86400,
      "config key 'tracking.busy_timeout_s': expected seconds in [0, 86400], found ",
      s.busy_timeout_s);
  s.db = string_or(c, "tracking.db", s.db);
  return s;
}

std::string derived_experiment_name(const Config& c) {
  const std::string name = c.get_string("experiment_name");
  if (name != "auto") return name;
  const std::string model = c.get_string("model.name"), data = c.get_string("dataloaders.name");
  const bool names_data = model.size() > data.size() &&
                          model.compare(model.size() - data.size(), data.size(), data) == 0 &&
                          model[model.size() - data.size() - 1] == '_';
  return names_data ? model : model + "_" + data;
}

Config resolve_experiment_name(Config c) {
  // Only "auto" changes: a config without the key (--print-config of a user's own experiment file)
  // or with any other value is left as written, for parse_experiment_settings to judge.
  const ConfigNode* n = c.find("experiment_name");
  if (n == nullptr || n->kind() != ConfigNode::Kind::kString || n->as_string() != "auto") return c;
  c.set("experiment_name", ConfigNode::string(derived_experiment_name(c)));
  return c;
}

ExperimentSettings parse_experiment_settings(const Config& c) {
  ExperimentSettings s;
  s.experiment_name = derived_experiment_name(c);
  DIFFLUT_CHECK(!s.experiment_name.empty() && s.experiment_name.find('/') == std::string::npos &&
                    s.experiment_name != "." && s.experiment_name != "..",
                "config key 'experiment_name': expected a non-empty name without '/', found '",
                s.experiment_name, "'");
  s.seed = static_cast<uint64_t>(int_at_least(c, "seed", 0));
  s.device = c.get_choice("device", {"auto", "cpu", "cuda"});
  s.output_dir = c.get_string("output_dir");
  DIFFLUT_CHECK(!s.output_dir.empty(), "config key 'output_dir': expected a directory, found ''");
  s.data = parse_data_settings(c);
  s.model = parse_model_settings(c);
  s.eval_circuit = c.get_bool("evaluation.circuit");
  s.training = parse_train_settings(c);
  s.tracking = parse_tracking_settings(c);
  return s;
}

LauncherSettings parse_launcher_settings(const Config& c) {
  LauncherSettings s;
  const ConfigNode* l = c.find("launcher");
  if (!l || !l->is_map()) return s;
  s.name = c.get_choice("launcher.name", {"local", "slurm"});
  s.n_jobs = int32_at_least_or(c, "launcher.n_jobs", 1, s.n_jobs);
  s.threads_per_job = int32_at_least_or(c, "launcher.threads_per_job", 0, s.threads_per_job);
  s.timeout_min = int_at_least_or(c, "launcher.timeout_min", 1, s.timeout_min);
  s.cpus_per_task = int32_at_least_or(c, "launcher.cpus_per_task", 1, s.cpus_per_task);
  s.mem_gb = int_or(c, "launcher.mem_gb", s.mem_gb);
  s.array_parallelism = int32_at_least_or(c, "launcher.array_parallelism",
                                          std::numeric_limits<int>::min(), s.array_parallelism);
  s.partition = string_or(c, "launcher.partition", "");
  s.gres = string_or(c, "launcher.gres", "");
  s.setup = string_or(c, "launcher.setup", "");
  if (has_value(c, "launcher.additional_parameters"))
    s.additional_parameters = c.get_string_list("launcher.additional_parameters");
  s.wait = bool_or(c, "launcher.wait", s.wait);
  return s;
}

}  // namespace difflut::app
