// Typed settings (apps/common/config/settings.h): the shipped config parses into the structs the
// trainer, the run recorder and the sweep launcher take; each bad value is one error naming the
// key, what was expected and what was found; keys older configs lack take their defaults.
#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

#include "apps_test_util.h"
#include "common/config/config_compose.h"
#include "common/config/config_values.h"
#include "common/config/settings.h"

using namespace difflut;
using namespace difflut::app;

namespace {

Config shipped(const std::vector<std::string>& overrides = {}) {
  return compose_config({test::shipped_config_dir(), "experiment"}, overrides);
}

}  // namespace

TEST_CASE("settings: the shipped experiment parses into every settings struct") {
  const ExperimentSettings s = parse_experiment_settings(
      shipped({"training.epochs=3", "training.lr=0.05", "dataloaders=mnist", "seed=7",
               "model.params.hidden_sizes=[100, 50]", "tracking.histogram_bins=12"}));
  CHECK(s.experiment_name == "dwn_mnist");  // experiment_name auto: model and data set
  CHECK(s.seed == 7);
  CHECK(s.device == "auto");
  CHECK(s.data.dataset == "mnist");
  CHECK(s.data.subset_size == 0);
  CHECK(s.model.hidden_sizes == std::vector<int64_t>{100, 50});
  CHECK(s.model.k == 6);
  CHECK(s.training.epochs == 3);
  CHECK(s.training.lr == doctest::Approx(0.05));
  CHECK(s.training.optimizer == "adam");
  CHECK(s.training.resume.empty());
  CHECK(s.training.save_best);
  CHECK(s.training.checkpoint_every == 1);
  CHECK(s.tracking.enabled);
  CHECK(s.tracking.histogram_bins == 12);
  CHECK(s.tracking.db == "results/experiments.db");
  CHECK_FALSE(s.eval_circuit);
  CHECK(s.model.flip_probability == 0.0);
  CHECK(s.model.grad_stabilization.mode == GradStabilization::none);
  const ExperimentSettings aids = parse_experiment_settings(
      shipped({"model.params.flip_probability=0.1", "model.params.grad_stabilization=batchwise",
               "model.params.grad_target_std=2", "model.params.grad_subtract_mean=true"}));
  CHECK(aids.model.flip_probability == doctest::Approx(0.1));
  CHECK(aids.model.grad_stabilization.mode == GradStabilization::batchwise);
  CHECK(aids.model.grad_stabilization.target == doctest::Approx(2.0));
  CHECK(aids.model.grad_stabilization.subtract_mean);
  CHECK(s.model.sparse_groups == 0);
  CHECK(s.model.sparse_candidate_prior == "uniform");
  CHECK(parse_experiment_settings(shipped({"model.params.layer_type=sparse",
                                           "model.params.sparse_candidate_prior=label_mi"}))
            .model.sparse_candidate_prior == "label_mi");
  const ExperimentSettings grouped = parse_experiment_settings(
      shipped({"model.params.layer_type=grouped", "model.params.num_groups=6"}));
  CHECK(grouped.model.first_mapping == MappingKind::sparse);
  CHECK(grouped.model.sparse_groups == 6);
  CHECK_THROWS_WITH_AS(parse_experiment_settings(shipped({"model.params.layer_type=grouped",
                                                          "model.params.later_layer_type=sparse"})),
                       doctest::Contains("expected grouped or sparse layers, found both"), Error);
}

TEST_CASE("settings: experiment_name auto names the run after its model and data set") {
  struct Case {
    std::vector<std::string> overrides;
    std::string name;
  };
  for (const Case& c :
       {Case{{}, "dwn_fashionmnist"}, Case{{"dataloaders=mnist"}, "dwn_mnist"},
        Case{{"model=sparse_wide", "dataloaders=cifar10"}, "sparse_wide_cifar10"},
        Case{{"model=conv_cifar10", "dataloaders=cifar10"}, "conv_cifar10"},
        Case{{"model=conv_mnist", "dataloaders=fashionmnist"}, "conv_mnist_fashionmnist"},
        Case{{"dataloaders=mnist", "experiment_name=mine"}, "mine"}}) {
    CAPTURE(c.name);
    const Config composed = shipped(c.overrides);
    CHECK(parse_experiment_settings(composed).experiment_name == c.name);
    // Resolved into the config itself (config.yaml and the tracking row read it from there).
    const Config resolved = resolve_experiment_name(composed);
    CHECK(resolved.get_string("experiment_name") == c.name);
    CHECK(resolve_experiment_name(resolved).get_string("experiment_name") == c.name);
  }
}

TEST_CASE("settings: the conv models parse into conv layer specs; bad lists name their key") {
  CHECK(parse_experiment_settings(shipped()).model.conv.empty());
  for (const char* model : {"conv_mnist", "conv_fashionmnist", "conv_cifar10"}) {
    CAPTURE(model);
    const ExperimentSettings s =
        parse_experiment_settings(shipped({std::string("model=") + model}));
    REQUIRE(s.model.conv.size() == 2);
    CHECK(s.model.conv[0].kernel == 3);
    CHECK(s.model.conv[0].padding == 1);
    CHECK(s.model.conv[0].tree_depth == 1);
    CHECK(s.model.conv[0].pool == 2);
    CHECK(s.model.conv[0].k == 0);  // null: the network's num_inputs
    CHECK(s.model.conv[1].channels == 2 * s.model.conv[0].channels);
  }
  const ExperimentSettings k3 =
      parse_experiment_settings(shipped({"model=conv_mnist", "model.params.conv.num_inputs=3"}));
  CHECK(k3.model.conv.at(1).k == 3);
  CHECK(k3.model.conv.at(0).field_candidates == 0);  // shipped: fixed fields
  const ExperimentSettings learnt = parse_experiment_settings(
      shipped({"model=conv_cifar10", "model.params.conv.field_candidates=[16, 8]"}));
  CHECK(learnt.model.conv.at(0).field_candidates == 16);
  CHECK(learnt.model.conv.at(1).field_candidates == 8);
  struct Case {
    std::string override_text, message;
  };
  for (const Case& c :
       {Case{"model.params.conv.stride=[1]",
             "config key 'model.params.conv.stride': expected 2 entries (one per conv layer, as "
             "channels), found 1"},
        Case{"model.params.conv.pool=[2, 3]",
             "config key 'model.params.conv.pool': expected entries in [1, 2], found 3"},
        Case{"model.params.conv.padding=[3, 1]",
             "config key 'model.params.conv.padding': expected padding below the receptive field "
             "(3) of conv layer 0, found 3"},
        Case{"model.params.conv.field_candidates=[8]",
             "config key 'model.params.conv.field_candidates': expected 2 entries (one per conv "
             "layer, as channels), found 1"},
        Case{"model.params.conv.channels=[]",
             "config key 'model.params.conv.channels': expected "
             "at least one conv layer, found []"}}) {
    CAPTURE(c.override_text);
    CHECK_THROWS_WITH_AS(parse_experiment_settings(shipped({"model=conv_mnist", c.override_text})),
                         c.message.c_str(), Error);
  }
}

TEST_CASE("settings: a bad value is one line naming the key, the expectation and the value") {
  struct Case {
    std::string override_text, message;
  };
  const std::vector<Case> cases = {
      {"training.epochs=0", "config key 'training.epochs': expected an integer >= 1, found 0"},
      {"training.lr=-1", "config key 'training.lr': expected a finite number > 0, found -1"},
      {"training.val_fraction=1.5",
       "config key 'training.val_fraction': expected a number in [0, 1), found 1.5"},
      {"model.params.num_inputs=9",
       "config key 'model.params.num_inputs': expected an integer in [1, 8], found 9"},
      {"model.params.encoder.num_bits=0",
       "config key 'model.params.encoder.num_bits': expected an integer in [1, 255], found 0"},
      {"training.checkpoint_every=-1",
       "config key 'training.checkpoint_every': expected an integer >= 0, found -1"},
      {"tracking.histogram_bins=0",
       "config key 'tracking.histogram_bins': expected an integer in [1, 10000], found 0"},
      {"tracking.busy_timeout_s=-2",
       "config key 'tracking.busy_timeout_s': expected seconds in [0, 86400], found -2"},
      {"dataloaders.subset_size=0",
       "config key 'dataloaders.subset_size': expected an integer >= 1, found 0"},
      {"training.optimizer=lbfgs",
       "config key 'training.optimizer': expected one of adam, adamw, sgd, found 'lbfgs' (a string)"},
      {"model.params.flip_probability=1.5",
       "config key 'model.params.flip_probability': expected a probability in [0, 1], found 1.5"},
      {"model.params.grad_stabilization=often",
       "config key 'model.params.grad_stabilization': expected one of none, layerwise, batchwise, "
       "found 'often'"},
      {"model.params.grad_epsilon=0",
       "config key 'model.params.grad_*': grad_stabilization: expected a positive epsilon "
       "(grad_epsilon), found 0"},
      {"model.params.layer_type=groupd",
       "config key 'model.params.layer_type': expected one of random, cyclic, learnable, sparse, "
       "grouped, found 'groupd'"},
      {"model.params.group_overlap=0.6",
       "config key 'model.params.group_overlap': expected a number in [0, 0.5], found 0.6"},
      {"model.params.sparse_candidate_prior=mi",
       "config key 'model.params.sparse_candidate_prior': expected one of uniform, label_mi, "
       "found 'mi'"},
      // The default model's first layer is learnable: there are no candidates to draw.
      {"model.params.sparse_candidate_prior=label_mi",
       "config key 'model.params.sparse_candidate_prior': label_mi draws the candidates of a "
       "sparse first layer behind the encoder; expected model.params.layer_type=sparse and no "
       "conv layers, found layer_type=learnable"},
      // Int settings: values an int cannot hold were wrapped by the cast (degree 4294967298
      // trained as degree 2, n_jobs 4294967297 ran 1 job).
      {"model.params.node_params.degree=4294967298",
       "config key 'model.params.node_params.degree': expected an integer in [-2147483648, "
       "2147483647], found 4294967298"},
      {"model.params.node_params.hidden_width=4294967304",
       "config key 'model.params.node_params.hidden_width': expected an integer in "
       "[-2147483648, 2147483647], found 4294967304"},
      {"model.params.node_params.depth=-4294967294",
       "config key 'model.params.node_params.depth': expected an integer in [-2147483648, "
       "2147483647], found -4294967294"},
      {"model.params.node_params.skip_interval=2147483648",
       "config key 'model.params.node_params.skip_interval': expected an integer in "
       "[-2147483648, 2147483647], found 2147483648"},
      // Decided by the layer sizes alone: refused before any run of a sweep starts.
      {"model.params.layer_type=grouped model.params.num_groups=1500",
       "config key 'model.params.num_groups': expected a group count that gives every group of "
       "layer 0 a node (its 2000 nodes fill 1000 groups of 2), found 1500"},
      {"model.params.later_layer_type=grouped model.params.num_groups=1001",
       "config key 'model.params.num_groups': expected a group count that gives every group of "
       "layer 1 a node (its 1000 nodes fill 1000 groups of 1), found 1001"},
      {"model.params.later_layer_type=sparse model.params.sparse_candidates=2001",
       "config key 'model.params.sparse_candidates': expected at most 2000 (the inputs of layer "
       "1, whose mapping is sparse), found 2001"},
      {"model.params.later_layer_type=sparse model.params.later_sparse_candidates=2001",
       "config key 'model.params.later_sparse_candidates': expected at most 2000 (the inputs of "
       "layer 1, whose mapping is sparse), found 2001"},
      {"model.params.later_sparse_candidates=0",
       "config key 'model.params.later_sparse_candidates': expected an integer >= 1, found 0"},
      {"tracking.enabled=null", ""},  // null: the default, not an error
  };
  for (const Case& c : cases) {
    CAPTURE(c.override_text);
    std::vector<std::string> overrides;  // space-separated
    std::istringstream words(c.override_text);
    for (std::string w; words >> w;) overrides.push_back(w);
    const Config cfg = shipped(overrides);
    if (c.message.empty()) {
      CHECK(parse_experiment_settings(cfg).tracking.enabled);
      continue;
    }
    CHECK_THROWS_WITH_AS(parse_experiment_settings(cfg), c.message.c_str(), Error);
  }
  // A value of the wrong type (here from a hand-edited config.yaml; an override is refused
  // earlier) is refused by the typed getter, with the same shape of message.
  Config wrong_type = shipped();
  wrong_type.set("tracking.enabled", ConfigNode::string("yes"));
  CHECK_THROWS_WITH_AS(parse_experiment_settings(wrong_type),
                       "config key 'tracking.enabled': expected a boolean (true or false), found "
                       "'yes' (a string)",
                       Error);
  // Unknown keys are still refused where they enter, by the override.
  CHECK_THROWS_WITH_AS(shipped({"training.epoch=3"}), doctest::Contains("training.epochs"), Error);
}

TEST_CASE("settings: keys a resumed run's older config.yaml lacks take their defaults") {
  Config c = shipped();
  for (const char* key : {"training.resume", "training.save_best", "training.checkpoint_every"}) {
    CHECK(c.find("training")->erase(std::string(key).substr(9)));
  }
  c.root().erase("tracking");
  const ExperimentSettings s = parse_experiment_settings(c);
  const TrackingSettings defaults;
  CHECK(s.training.resume.empty());
  CHECK(s.training.save_best);
  CHECK(s.training.checkpoint_every == 1);
  CHECK(s.tracking.enabled == defaults.enabled);
  CHECK(s.tracking.histogram_bins == defaults.histogram_bins);
  CHECK(s.tracking.busy_timeout_s == defaults.busy_timeout_s);
  CHECK(s.tracking.db == defaults.db);
}

TEST_CASE("settings: the checked readers of config_values.h") {
  Config c;
  c.set("n", ConfigNode::integer(5));
  c.set("x", ConfigNode::real(0.0));
  c.set("none", ConfigNode::null());
  CHECK(int_at_least(c, "n", 5) == 5);
  CHECK_THROWS_WITH_AS(int_at_least(c, "n", 6), "config key 'n': expected an integer >= 6, found 5",
                       Error);
  CHECK_THROWS_WITH_AS(int_in_range(c, "n", 1, 4),
                       "config key 'n': expected an integer in [1, 4], found 5", Error);
  CHECK(positive_number(c, "x", /*allow_zero=*/true) == 0.0);
  CHECK_THROWS_WITH_AS(positive_number(c, "x"),
                       "config key 'x': expected a finite number > 0, found 0", Error);
  CHECK(int_or(c, "none", 3) == 3);
  CHECK(int_or(c, "absent", 4) == 4);
  CHECK(int_at_least_or(c, "n", 1, 9) == 5);
  CHECK_THROWS_AS(int_at_least_or(c, "n", 6, 9), Error);
  CHECK(int32_at_least(c, "n") == 5);
  CHECK(int32_at_least_or(c, "none", 0, 7) == 7);
  c.set("big", ConfigNode::integer(int64_t{1} << 32));
  CHECK_THROWS_WITH_AS(int32_at_least(c, "big", 0),
                       "config key 'big': expected an integer in [0, 2147483647], found 4294967296",
                       Error);
  CHECK(bool_or(c, "none", true));
  CHECK(string_or(c, "absent", "d") == "d");
  CHECK_THROWS_WITH_AS(bool_or(c, "n", false), doctest::Contains("expected a boolean"), Error);
  CHECK_FALSE(has_value(c, "none"));
  CHECK(has_value(c, "n"));
}

TEST_CASE("settings: the optional-library switches stay private to the app libraries") {
  // yaml-cpp and SQLite are linked by difflut_app_config / difflut_app_tracking only, so their
  // DIFFLUT_WITH_* definitions must not reach code that links the apps (or the library).
#if defined(DIFFLUT_WITH_YAML) || defined(DIFFLUT_WITH_SQLITE) || defined(DIFFLUT_WITH_JSON)
  FAIL("DIFFLUT_WITH_YAML / _SQLITE / _JSON leaked into a consumer of the app libraries");
#else
  CHECK(true);
#endif
}
