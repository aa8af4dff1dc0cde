// The training runner (see trainer.h): settings, data, model, optimizer, the step loop, evaluation
// and the run directory.
#include "common/trainer.h"

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <tuple>
#include <memory>
#include <ostream>

#include "autograd/ops.h"
#include "autograd/optim/adam.h"
#include "autograd/optim/lr_scheduler.h"
#include "autograd/optim/sgd.h"
#include "common/progress.h"
#include "common/run_dir.h"
#include "common/tracking_run.h"
#include "data/loader.h"
#include "data/registry.h"
#include "hdl/network_export.h"
#include "lut/node_registry.h"
#include "tensor/parallel.h"

namespace difflut::app {

namespace {

int64_t positive_int(const Config& c, const char* key, int64_t min = 1) {
  const int64_t v = c.get_int(key);
  DIFFLUT_CHECK(v >= min, "config key '", key, "': expected an integer >= ", min, ", found ", v);
  return v;
}

double positive_double(const Config& c, const char* key, bool allow_zero = false) {
  const double v = c.get_double(key);
  DIFFLUT_CHECK(std::isfinite(v) && (allow_zero ? v >= 0 : v > 0), "config key '", key,
                "': expected a finite number ", allow_zero ? ">= 0" : "> 0", ", found ", v);
  return v;
}

std::string fixed(double v, int digits) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}
std::string fmt4(double v) { return fixed(v, 4); }


// Test hook DIFFLUT_TEST_SIGNAL_AT=<epoch>:<step>:<KILL|STOP>: after step <step> (1-based) of
// epoch <epoch> the process sends itself SIGKILL or SIGSTOP. Tests use it to stop a run at a
// point the trainer defines (the checkpoint of every earlier epoch is durable by then) instead
// of guessing from timing, which failed on loaded machines.
struct SignalHook {
  int64_t epoch = 0, step = 0;
  int signal = 0;  // 0: no hook
};

SignalHook signal_hook_from_env() {
  SignalHook h;
  const char* v = std::getenv("DIFFLUT_TEST_SIGNAL_AT");
  if (!v || !*v) return h;
  long long e = 0, st = 0;
  char sig[8] = {0};
  char tail = 0;
  const bool ok = std::sscanf(v, "%lld:%lld:%7[A-Z]%c", &e, &st, sig, &tail) == 3 && e >= 1 &&
                  st >= 1 && (std::string(sig) == "KILL" || std::string(sig) == "STOP");
  DIFFLUT_CHECK(ok, "environment variable DIFFLUT_TEST_SIGNAL_AT: expected ",
                "<epoch>:<step>:<KILL|STOP> with epoch, step >= 1, found '", v, "'");
  h.epoch = e;
  h.step = st;
  h.signal = std::string(sig) == "KILL" ? SIGKILL : SIGSTOP;
  return h;
}

}  // namespace

TrainSettings parse_train_settings(const Config& c) {
  TrainSettings s;
  s.experiment_name = c.get_string("experiment_name");
  DIFFLUT_CHECK(!s.experiment_name.empty() && s.experiment_name.find('/') == std::string::npos &&
                    s.experiment_name != "." && s.experiment_name != "..",
                "config key 'experiment_name': expected a non-empty name without '/', found '",
                s.experiment_name, "'");
  s.seed = static_cast<uint64_t>(positive_int(c, "seed", 0));
  s.device = c.get_choice("device", {"auto", "cpu", "cuda"});
  s.output_dir = c.get_string("output_dir");
  DIFFLUT_CHECK(!s.output_dir.empty(), "config key 'output_dir': expected a directory, found ''");
  s.data_root = c.is_null("data_root") ? std::string() : c.get_string("data_root");
  try {
    s.dataset = canonical_dataset_name(c.get_string("dataloaders.name"));
  } catch (const Error& e) {
    DIFFLUT_FAIL("config key 'dataloaders.name': ", e.what());
  }
  s.subset_size = c.is_null("dataloaders.subset_size") ? 0 : positive_int(c, "dataloaders.subset_size");

  s.node_type = c.get_string("model.params.node_type");
  find_node_type(s.node_type, "model.params.node_type");  // unknown names fail here, listing the known
  const int64_t k = c.get_int("model.params.num_inputs");
  DIFFLUT_CHECK(k >= 1 && k <= 8, "config key 'model.params.num_inputs': expected an integer in ",
                "[1, 8], found ", k);
  s.k = static_cast<int>(k);
  s.eval_circuit = c.get_bool("evaluation.circuit");
  s.node_options.degree = static_cast<int>(c.get_int("model.params.node_params.degree"));
  s.node_options.hidden_width = static_cast<int>(c.get_int("model.params.node_params.hidden_width"));
  s.node_options.depth = static_cast<int>(c.get_int("model.params.node_params.depth"));
  s.node_options.skip_interval = static_cast<int>(c.get_int("model.params.node_params.skip_interval"));
  s.node_options.temperature = c.get_double("model.params.node_params.temperature");
  // Out-of-range options and k for the type (difflogic needs k = 2) fail here, naming the key.
  make_node_type(s.node_type, s.node_options, "model.params.node_type")->num_params(s.k);
  s.regularizer = c.get_choice("model.params.regularizer.kind", {"none", "functional", "spectral"});
  s.regularizer_weight = c.get_double("model.params.regularizer.weight");
  DIFFLUT_CHECK(s.regularizer_weight >= 0, "config key 'model.params.regularizer.weight': expected ",
                "a weight >= 0, found ", s.regularizer_weight);
  s.hidden_sizes = c.get_int_list("model.params.hidden_sizes");
  DIFFLUT_CHECK(!s.hidden_sizes.empty(), "config key 'model.params.hidden_sizes': expected at least ",
                "one layer size, found []");
  for (int64_t h : s.hidden_sizes)
    DIFFLUT_CHECK(h >= 1, "config key 'model.params.hidden_sizes': expected sizes >= 1, found ", h);
  s.first_mapping = parse_mapping_kind(c.get_string("model.params.layer_type"), "model.params.layer_type");
  s.later_mapping = c.is_null("model.params.later_layer_type")
                        ? s.first_mapping
                        : parse_mapping_kind(c.get_string("model.params.later_layer_type"),
                                             "model.params.later_layer_type");
  s.learnable_tau = positive_double(c, "model.params.learnable_tau");
  s.tau = positive_double(c, "model.params.tau");
  s.encoder = c.get_choice("model.params.encoder.name", {"thermometer", "uniform", "gaussian", "distributive"});
  const int64_t bits = c.get_int("model.params.encoder.num_bits");
  DIFFLUT_CHECK(bits >= 1 && bits <= 255, "config key 'model.params.encoder.num_bits': expected an "
                "integer in [1, 255], found ", bits);
  s.encoder_bits = static_cast<int>(bits);
  s.encoder_feature_wise = c.get_bool("model.params.encoder.feature_wise");

  s.epochs = positive_int(c, "training.epochs");
  s.batch_size = positive_int(c, "training.batch_size");
  s.lr = positive_double(c, "training.lr");
  s.optimizer = c.get_choice("training.optimizer", {"adam", "adamw", "sgd"});
  s.weight_decay = positive_double(c, "training.weight_decay", true);
  s.val_fraction = positive_double(c, "training.val_fraction", true);
  DIFFLUT_CHECK(s.val_fraction < 1.0, "config key 'training.val_fraction': expected a number in ",
                "[0, 1), found ", s.val_fraction);
  s.scheduler = c.get_choice("training.scheduler.type", {"step", "cosine", "none"});
  s.step_size = positive_int(c, "training.scheduler.step_size");
  s.gamma = positive_double(c, "training.scheduler.gamma");
  return s;
}

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

TrainResult run_training(const Config& config, const TrainerIo& io) {
  const TrainSettings s = parse_train_settings(config);
  const Device device = resolve_device(s.device);
  auto info = [&](const std::string& line) {
    if (io.log) *io.log << line << '\n' << std::flush;
  };
  // ---- data ----
  Dataset train_full = load_dataset(s.dataset, "train", s.data_root);
  Dataset test = load_dataset(s.dataset, "test", s.data_root);
  // A subset larger than the dataset is an error, not a clamp: the run would be recorded (config,
  // database, sweep tables) as trained on a number of samples it never saw.
  DIFFLUT_CHECK(s.subset_size <= train_full.size(), "config key 'dataloaders.subset_size': ",
                "expected at most the ", train_full.size(), " training samples of '", s.dataset,
                "', found ", s.subset_size, " (set it to null for all of them)");
  if (s.subset_size > 0) train_full = subset(train_full, s.subset_size, s.seed);
  // An empty test set would report test_accuracy=0 for a completed run.
  DIFFLUT_CHECK(test.size() >= 1, "dataset '", s.dataset, "': expected test samples, found none");
  Dataset train, val;
  if (s.val_fraction > 0) {
    std::tie(train, val) = split_validation(train_full, s.val_fraction, s.seed + 1);
  } else {
    train = std::move(train_full);
  }
  DIFFLUT_CHECK(train.size() >= 1, "training set '", train.name, "' is empty");
  const int64_t F = train.feature_dim();
  DIFFLUT_CHECK(test.feature_dim() == F, "dataset '", s.dataset, "': train samples have ", F,
                " features but test samples ", test.feature_dim());
  info(str_cat("difflut-train: ", s.dataset, ": ", train.size(), " train, ", val.size(),
               " validation, ", test.size(), " test samples, ", F, " features, ", train.num_classes,
               " classes", test.note.empty() ? "" : " (note: " + test.note + ")"));

  // ---- model ----
  ThermometerEncoder encoder(s.encoder, s.encoder_bits, s.encoder_feature_wise);
  encoder.fit(train.features_f32());  // the f32 copy of the training set is dropped right after
  LUTNetworkConfig mc;
  mc.num_features = F;
  mc.num_classes = train.num_classes;
  mc.hidden_sizes = s.hidden_sizes;
  mc.k = s.k;
  mc.node_type = s.node_type;
  mc.node_options = s.node_options;
  mc.first_mapping = s.first_mapping;
  mc.later_mapping = s.later_mapping;
  mc.learnable_tau = s.learnable_tau;
  mc.tau = s.tau;
  mc.device = device;
  Generator gen(s.seed);
  LUTNetwork model(mc, encoder, gen);
  std::string arch = str_cat(encoder.kind_name(), " thermometer (", s.encoder_bits, " bits) -> ");
  for (size_t i = 0; i < model.num_layers(); ++i)
    arch += str_cat(model.layer(i).num_nodes(), " x ", s.node_type, " k=", s.k, " (",
                    mapping_kind_name(model.layer(i).mapping_kind()), ") -> ");
  arch += str_cat("GroupSum(", mc.num_classes, ", tau=", mc.tau, ")");
  info(str_cat("difflut-train: model ", arch, ", ", model.num_parameters(), " parameters; device ",
               device_name(device), device == Device::cpu ? str_cat(" (", num_threads(), " threads)")
                                                          : std::string()));

  // ---- optimizer and schedule ----
  std::unique_ptr<Optimizer> opt;
  if (s.optimizer == "sgd") {
    SGDOptions o;
    o.lr = s.lr;
    o.weight_decay = s.weight_decay;
    opt = std::make_unique<SGD>(model, o);
  } else {
    AdamOptions o;
    o.lr = s.lr;
    o.weight_decay = s.weight_decay;
    if (s.optimizer == "adamw") {
      opt = std::make_unique<AdamW>(model, o);
    } else {
      opt = std::make_unique<Adam>(model, o);
    }
  }
  std::unique_ptr<LRScheduler> sched;
  if (s.scheduler == "step") sched = std::make_unique<StepLR>(*opt, s.step_size, s.gamma);
  if (s.scheduler == "cosine") sched = std::make_unique<CosineAnnealingLR>(*opt, s.epochs);

  // Run directory, tracking database, checkpoints and resume (tracking_run.h). Created only now:
  // a bad dataset, subset or model setting above fails with nothing written (no run directory,
  // no experiment row).
  RunRecorder recorder(config, s, std::string(device_name(device)), io.log);

  // ---- training ----
  DataLoader loader(train, s.batch_size, /*shuffle=*/true, s.seed + 2, /*drop_last=*/false, device);
  const Tensor val_x = val.size() > 0 ? val.features_f32() : Tensor();
  ProgressOptions po;
  po.live = io.live_progress;
  po.interval_s = io.plain_interval_s;
  std::ostream null_stream(nullptr);
  ProgressReporter progress(io.log ? *io.log : null_stream, po);
  // On the GPU the loss is read (a host sync) only every kLossEvery steps; the CPU reads it free.
  const int64_t loss_every = device == Device::cuda ? 50 : 1;
  const int64_t eval_batch = 4096;

  const SignalHook hook = signal_hook_from_env();
  TrainResult result;
  result.device = std::string(device_name(device));
  const int64_t first_epoch = recorder.restore(model, *opt, sched.get(), gen, result);
  loader.set_epoch(first_epoch - 1);  // the loader's epochs count from 0
  Graph g;
  for (int64_t epoch = first_epoch; epoch <= s.epochs; ++epoch) {
    EpochRecord rec;
    rec.epoch = epoch;
    rec.lr = opt->lr();
    model.train();
    progress.begin_epoch(static_cast<int>(epoch), static_cast<int>(s.epochs), loader.size());
    double loss_sum = 0.0, shown_loss = 0.0;
    int64_t loss_count = 0, done = 0, step = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (const Batch& batch : loader) {
      g.clear();
      Var x = g.input(batch.features, "x");
      Var logits = model.forward(g, x);
      Var loss = cross_entropy(logits, g.input(batch.labels, "labels"));
      if (s.regularizer != "none" && s.regularizer_weight > 0)
        loss = add(loss, model.regularization(g, parse_lut_regularizer(s.regularizer),
                                              s.regularizer_weight));
      opt->zero_grad();  // one memset: custom-update parameters own no gradient storage
      g.backward(loss);
      opt->step();
      done += batch.labels.numel();
      if (step % loss_every == 0 || done == loader.size()) {
        shown_loss = loss.value().item_as_double();
        DIFFLUT_CHECK(std::isfinite(shown_loss), "training diverged: loss ", shown_loss,
                      " at epoch ", epoch, " step ", step + 1);
        loss_sum += shown_loss;
        ++loss_count;
      }
      ++step;
      if (hook.signal && epoch == hook.epoch && step == hook.step) ::raise(hook.signal);
      progress.update(done, loss_count ? loss_sum / static_cast<double>(loss_count) : shown_loss);
    }
    g.clear();
    rec.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rec.samples_per_second = rec.seconds > 0 ? static_cast<double>(done) / rec.seconds : 0.0;
    rec.train_loss = loss_count ? loss_sum / static_cast<double>(loss_count) : 0.0;
    result.train_seconds += rec.seconds;

    std::string summary = str_cat("epoch ", epoch, "/", s.epochs, ": loss ", fmt4(rec.train_loss),
                                  ", ", fixed(rec.seconds, 1),
                                  " s, ", static_cast<int64_t>(rec.samples_per_second),
                                  " samples/s, lr ", rec.lr);
    if (val.size() > 0) {
      model.eval();
      rec.val_accuracy = accuracy(model.predict(val_x, eval_batch), val.labels);
      if (rec.val_accuracy > result.best_val_accuracy) {
        result.best_val_accuracy = rec.val_accuracy;
        result.best_val_epoch = epoch;
      }
      summary += ", val_accuracy " + fmt4(rec.val_accuracy);
    }
    progress.end_epoch(summary);
    result.history.push_back(rec);
    if (sched) sched->step();
    recorder.end_epoch(rec, model, *opt, sched.get(), gen, result, [&](const std::string& path) {
      LUTNetworkSaveOptions so;
      so.config_yaml = config.to_yaml();
      save_lut_network(model, path, so);
    });
  }
  result.epochs = s.epochs;
  const double samples = static_cast<double>(loader.size()) * static_cast<double>(s.epochs);
  result.samples_per_second = result.train_seconds > 0 ? samples / result.train_seconds : 0.0;

  // ---- test ----
  model.eval();
  result.test_accuracy = accuracy(model.predict(test.features_f32(), eval_batch), test.labels);
  if (s.eval_circuit) {
    // "What the FPGA would say": the exported circuit's bit-exact software model (hdl/).
    result.circuit_test_accuracy = hdl::evaluate_circuit(model, test).accuracy;
  }

  // ---- run directory ----
  RunDirContents rd;
  rd.config = &config;
  rd.model = &model;
  rd.result = &result;
  rd.settings = &s;
  rd.dataset_note = test.note;
  rd.num_train = train.size();
  rd.num_val = val.size();
  rd.num_test = test.size();
  result.run_dir = write_run_files(recorder.run_dir(), rd);
  recorder.finish(result);
  return result;
}

}  // namespace difflut::app
