// Argument splitting and --help text for the apps (see cli.h).
#include "common/config/cli.h"

#include <cstdio>

#include "common/config/config_compose.h"
#include "tensor/error.h"

namespace difflut::app {

int run_guarded(const char* program, const std::function<int()>& body, const char* prefix) {
  try {
    return body();
  } catch (const Error& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s%s: error: %s\n", prefix, program, e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s%s: error: internal error: %s\n", prefix, program, e.what());
    return 3;
  }
}

bool FlagCursor::next() {
  if (++i_ >= argc_) return false;
  name_ = argv_[i_];
  const size_t eq = name_.find('=');
  has_inline_ = name_.rfind("--", 0) == 0 && eq != std::string::npos;
  if (has_inline_) {
    inline_value_ = name_.substr(eq + 1);
    name_ = name_.substr(0, eq);
  }
  return true;
}

std::string FlagCursor::value() {
  if (has_inline_) return inline_value_;
  DIFFLUT_CHECK(i_ + 1 < argc_, name_, ": expected a value after it");
  // "--out --min-seconds" (the value forgotten) wrote the predictions to a file named
  // "--min-seconds"; a value that really starts with "--" can be given inline.
  const std::string v = argv_[++i_];
  DIFFLUT_CHECK(v.rfind("--", 0) != 0, name_, ": expected a value after it, found the option '", v,
                "' (write ", name_, "=", v, " for a value that starts with --)");
  return v;
}

CliArgs parse_cli(int argc, const char* const* argv) {
  CliArgs args;
  // A flag's value: `--flag=value` or the next argument.
  const auto value_of = [&](int& i, std::string_view arg, std::string_view flag) -> std::string {
    if (arg.size() > flag.size() && arg[flag.size()] == '=')
      return std::string(arg.substr(flag.size() + 1));
    DIFFLUT_CHECK(i + 1 < argc, flag, ": expected a value after it (", flag, " VALUE)");
    return argv[++i];
  };
  const auto is_flag = [](std::string_view arg, std::string_view flag) {
    return arg == flag || (arg.size() > flag.size() && arg.substr(0, flag.size()) == flag &&
                           arg[flag.size()] == '=');
  };
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      args.help = true;
    } else if (arg == "-m" || arg == "--multirun") {
      args.multirun = true;
    } else if (arg == "--print-config") {
      args.print_config = true;
    } else if (is_flag(arg, "--config-dir")) {
      args.config_dir = value_of(i, arg, "--config-dir");
    } else if (is_flag(arg, "--config-name")) {
      std::string name = value_of(i, arg, "--config-name");
      if (name.size() > 5 && name.substr(name.size() - 5) == ".yaml") name.resize(name.size() - 5);
      DIFFLUT_CHECK(!name.empty(), "--config-name: expected a config name, found ''");
      args.config_name = name;
    } else if (!arg.empty() && arg[0] == '-') {
      DIFFLUT_FAIL("unknown option '", arg, "' (see --help)");
    } else {
      (void)parse_override(arg);  // checks key=value now, before any work starts
      args.overrides.emplace_back(arg);
    }
  }
  return args;
}

std::string help_text(std::string_view program) {
  std::string s;
  s += "usage: ";
  s += program;
  s += R"( [--config-dir DIR] [--config-name NAME] [-m] [--print-config] [key=value ...]

Trains a DiffLUT model from a composed YAML configuration (Hydra-style).

options:
  --config-dir DIR    config directory (default: $DIFFLUT_CONFIG_DIR, else ./configs, else the
                      installed <prefix>/share/difflut/configs, else <exe>/../configs, else
                      the nearest configs/ above the executable)
  --config-name NAME  base config file NAME.yaml in the config directory (default: experiment)
  -m, --multirun      sweep: key=a,b values run every combination of the listed values
  --print-config      print the resolved configuration as YAML and exit
  -h, --help          this text

overrides (group selections apply first, then values in order):
  dataloaders=mnist                      pick configs/dataloaders/mnist.yaml
  training.epochs=30                     set a value (the key must exist; types are checked)
  'model.params.hidden_sizes=[2000,1000]'  lists in brackets (quote them for the shell)
  experiment_name='my run'               quoted strings; key=null sets null

main keys (see docs/CONFIG.md for all):
  experiment_name               run name (outputs go to output_dir/experiment_name/...);
                                auto: <model>_<data set>, e.g. dwn_fashionmnist
  seed, device                  RNG seed; auto | cpu | cuda
  dataloaders                   group: fashionmnist | mnist | cifar10
  dataloaders.subset_size       train on N samples drawn by the seed (null: all)
  model.params.node_type        LUT node type (dwn, ...)
  model.params.num_inputs       LUT inputs per node (k)
  model.params.hidden_sizes     nodes per layer, e.g. [2000, 1000]
  model.params.layer_type       mapping of the first layer: learnable | sparse | grouped | random | cyclic
  model.params.later_layer_type mapping of the later layers (null: same as layer_type)
  model.params.learnable_tau    softmax temperature of learnable mappings
  model.params.sparse_candidates  sparse mappings: candidate inputs per slot (C)
  model.params.later_sparse_candidates  C of the later layers' sparse mappings (null: the same)
  model.params.sparse_candidate_prior  uniform | label_mi (a sparse first layer's candidates
                                weighted by each input bit's information about the label)
  model.params.num_groups       grouped mappings: node/input groups (group_overlap)
  model.params.tau              GroupSum temperature (logits divided by tau)
  model.params.encoder.name     thermometer | gaussian | distributive | binary | gray | onehot |
                                sign_magnitude | logarithmic
  model.params.encoder.num_bits encoded bits per feature
  training.epochs, training.batch_size, training.lr
  training.optimizer            adam | adamw | sgd  (training.weight_decay)
  training.scheduler.type       step | cosine | none (step_size, gamma)
  training.val_fraction         share of the training set held out for validation
  training.augment.shift        random shifts of training images by up to N pixels (0: none)
  training.augment.hflip        random left-right mirroring of training images
  training.sparse_refresh       sparse mappings: candidates per slot replaced after each epoch
  training.sparse_refresh_rule  random | gradient (training.sparse_probe.inputs, steps, min_t)
)";
  return s;
}

}  // namespace difflut::app
