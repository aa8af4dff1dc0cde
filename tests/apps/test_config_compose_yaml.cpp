// Composition of the shipped configs, group and value overrides, their errors, YAML round trips
// and the config directory lookup.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>

#include "apps_test_util.h"
#include "common/config/config_compose.h"
#include "tensor/error.h"
#include "test_util.h"

namespace app = difflut::app;
namespace fs = std::filesystem;
using difflut::Error;
using difflut::test::shipped_config_dir;
using difflut::test::write_file;

namespace {

app::Config compose(const std::vector<std::string>& overrides) {
  return app::compose_config({shipped_config_dir(), "experiment"}, overrides);
}

}  // namespace

TEST_CASE("shipped configs compose to torch_dwn's README model on Fashion-MNIST, hybrid nodes") {
  const app::Config c = compose({});
  CHECK(c.get_string("dataloaders.name") == "fashionmnist");
  CHECK(c.is_null("dataloaders.subset_size"));
  CHECK(c.get_string("model.name") == "dwn");
  CHECK(c.get_string("model.params.node_type") == "hybrid");  // issue 15: the default
  CHECK(c.get_int_list("model.params.hidden_sizes") == std::vector<int64_t>{2000, 1000});
  CHECK(c.get_int("model.params.num_inputs") == 6);
  CHECK(c.get_string("model.params.layer_type") == "learnable");
  CHECK(c.get_string("model.params.later_layer_type") == "random");
  CHECK(c.get_double("model.params.learnable_tau") == 0.001);
  CHECK(c.get_double("model.params.tau") == 1.0 / 0.3);  // the file holds 1/0.3 to the last bit
  CHECK(c.get_string("model.params.encoder.name") == "distributive");
  CHECK(c.get_int("model.params.encoder.num_bits") == 3);
  CHECK(c.get_bool("model.params.encoder.feature_wise"));
  CHECK(c.get_double("training.lr") == 0.01);
  CHECK(c.get_int("training.batch_size") == 32);
  CHECK(c.get_int("training.epochs") == 15);
  CHECK(c.get_string("training.optimizer") == "adam");
  CHECK(c.get_string("training.scheduler.type") == "step");
  CHECK(c.get_int("training.scheduler.step_size") == 14);
  CHECK(c.get_double("training.scheduler.gamma") == 0.1);
  CHECK(c.get_double("training.weight_decay") == 0.0);
  CHECK(c.get_double("training.val_fraction") == 0.0);
  CHECK(c.is_null("training.resume"));
  CHECK(c.get_int("seed") == 42);
  CHECK(c.get_choice("device", {"auto", "cpu", "cuda"}) == "auto");
  CHECK(c.get_string("output_dir") == "outputs");
  CHECK(c.is_null("data_root"));
  CHECK(!c.has("defaults"));
}

TEST_CASE("model=sparse_wide composes to the wide sparse model of docs/RESULTS.md") {
  const app::Config c = compose({"model=sparse_wide"});
  CHECK(c.get_string("model.name") == "sparse_wide");
  CHECK(c.get_int_list("model.params.hidden_sizes") == std::vector<int64_t>{16000, 16000});
  CHECK(c.get_string("model.params.layer_type") == "sparse");
  CHECK(c.get_string("model.params.later_layer_type") == "sparse");
  CHECK(c.get_int("model.params.encoder.num_bits") == 8);
  CHECK(c.get_int("model.params.num_inputs") == 4);
}

TEST_CASE("model=bitlogic_ablation composes to the node-type ablation setting") {
  CHECK(app::group_options(shipped_config_dir(), "model") ==
        std::vector<std::string>{"bitlogic_ablation", "conv_cifar10", "conv_fashionmnist",
                                 "conv_mnist", "dwn", "sparse_wide"});
  const app::Config c = compose({"model=bitlogic_ablation", "model.params.node_type=hybrid"});
  CHECK(c.get_string("model.name") == "bitlogic_ablation");
  CHECK(c.get_string("model.params.node_type") == "hybrid");
  CHECK(c.get_int_list("model.params.hidden_sizes") == std::vector<int64_t>{4000, 4000});
  CHECK(c.get_int("model.params.num_inputs") == 6);
  CHECK(c.get_string("model.params.layer_type") == "random");
  CHECK(c.get_string("model.params.later_layer_type") == "random");
  CHECK(c.get_string("dataloaders.name") == "fashionmnist");
}

TEST_CASE("every shipped dataloaders option composes and names itself") {
  const auto options = app::group_options(shipped_config_dir(), "dataloaders");
  CHECK(options == std::vector<std::string>{"cifar10", "fashionmnist", "mnist"});
  for (const std::string& o : options) {
    const app::Config c = compose({"dataloaders=" + o});
    CHECK(c.get_string("dataloaders.name") == o);
    CHECK(c.get_int_list("model.params.hidden_sizes") == std::vector<int64_t>{2000, 1000});
  }
}

TEST_CASE("group selections apply before value overrides wherever they stand") {
  // The value override names a key of the group file; it must survive the group swap after it.
  const app::Config c = compose({"dataloaders.subset_size=500", "dataloaders=mnist"});
  CHECK(c.get_string("dataloaders.name") == "mnist");
  CHECK(c.get_int("dataloaders.subset_size") == 500);
}

TEST_CASE("value overrides set typed values, lists included") {
  const app::Config c =
      compose({"training.epochs=3", "training.lr=1e-3", "model.params.tau=3",
               "model.params.hidden_sizes=[1500, 1500,10]", "experiment_name=007",
               "model.params.encoder.feature_wise=false", "training.resume=runs/a/last.ckpt",
               "data_root=null", "model.params.later_layer_type=null"});
  CHECK(c.get_int("training.epochs") == 3);
  CHECK(c.get_double("training.lr") == 1e-3);
  CHECK(c.at("model.params.tau").kind() == app::ConfigNode::Kind::kDouble);  // stays a number
  CHECK(c.get_double("model.params.tau") == 3.0);
  CHECK(c.get_int_list("model.params.hidden_sizes") == std::vector<int64_t>{1500, 1500, 10});
  CHECK(c.get_string("experiment_name") == "007");  // a string key keeps the text as written
  CHECK(!c.get_bool("model.params.encoder.feature_wise"));
  CHECK(c.get_string("training.resume") == "runs/a/last.ckpt");  // a null key takes any value
  CHECK(c.is_null("data_root"));
  CHECK(c.is_null("model.params.later_layer_type"));
}

TEST_CASE("later value overrides of the same key win") {
  const app::Config c = compose({"training.epochs=3", "training.epochs=4"});
  CHECK(c.get_int("training.epochs") == 4);
}

TEST_CASE("override errors are one clear line naming the problem") {
  CHECK_THROWS_WITH_AS(compose({"training.epoch=5"}),
                       doctest::Contains("unknown config key 'training.epoch' (did you mean "
                                         "'training.epochs'?)"),
                       Error);
  CHECK_THROWS_WITH_AS(compose({"trainng.lr=0.1"}),
                       doctest::Contains("did you mean 'training.lr'?"), Error);
  CHECK_THROWS_WITH_AS(compose({"epochs=5"}), doctest::Contains("did you mean 'training.epochs'?"),
                       Error);
  CHECK_THROWS_WITH_AS(compose({"training.epochs=abc"}),
                       doctest::Contains("training.epochs=abc: expected an integer"), Error);
  CHECK_THROWS_WITH_AS(compose({"training.epochs=2.5"}),
                       doctest::Contains("training.epochs=2.5: expected an integer, found 2.5"),
                       Error);
  CHECK_THROWS_WITH_AS(compose({"training.lr=fast"}),
                       doctest::Contains("training.lr=fast: expected a number"), Error);
  CHECK_THROWS_WITH_AS(compose({"model.params.encoder.feature_wise=1"}),
                       doctest::Contains("expected a boolean"), Error);
  CHECK_THROWS_WITH_AS(compose({"model.params.hidden_sizes=[2000,x]"}),
                       doctest::Contains("expected a list of integers"), Error);
  CHECK_THROWS_WITH_AS(compose({"model.params.hidden_sizes=2000"}),
                       doctest::Contains("expected a list like [1, 2]"), Error);
  CHECK_THROWS_WITH_AS(compose({"training=5"}),
                       doctest::Contains("'training' is a group of keys (epochs, batch_size"),
                       Error);
  CHECK_THROWS_WITH_AS(compose({"foo"}), doctest::Contains("override 'foo': expected key=value"),
                       Error);
  CHECK_THROWS_WITH_AS(compose({"=5"}), doctest::Contains("found no key"), Error);
  CHECK_THROWS_WITH_AS(compose({"+training.foo=1"}), doctest::Contains("not supported"), Error);
  CHECK_THROWS_WITH_AS(compose({"dataloaders=svhn"}),
                       doctest::Contains("dataloaders=svhn: unknown option 'svhn' for config "
                                         "group 'dataloaders' (known: cifar10, fashionmnist, "
                                         "mnist)"),
                       Error);
  CHECK_THROWS_WITH_AS(compose({"training.lr=0.1,0.01"}), doctest::Contains("run it with -m"),
                       Error);
  CHECK_THROWS_WITH_AS(compose({"model.params.hidden_sizes=[1,2"}),
                       doctest::Contains("unbalanced brackets"), Error);
}

TEST_CASE("a resolved dump loads back to the same config") {
  app::Config c = compose({"dataloaders=cifar10", "experiment_name=a run: #1",
                           "training.resume='true'", "dataloaders.subset_size=100"});
  c.set("extra.values",
        app::ConfigNode::list({app::ConfigNode::real(0.1), app::ConfigNode::string("123"),
                               app::ConfigNode::string(""), app::ConfigNode::null()}));
  c.set("extra.nan_inf",
        app::ConfigNode::list({app::ConfigNode::real(std::numeric_limits<double>::infinity()),
                               app::ConfigNode::real(std::nan("")), app::ConfigNode::real(-1e-7)}));
  c.set("extra.empty", app::ConfigNode::map());
  const std::string dir = difflut::test::temp_dir("config-dump");
  const std::string path = dir + "/run/config.yaml";
  app::save_config_file(c, path);
  const app::Config back = app::load_config_file(path);
  CHECK(back == c);
  CHECK(back.to_yaml() == c.to_yaml());
  CHECK(back.get_string("training.resume") == "true");
  // The dump is plain YAML that yaml-cpp parses the same way from a string, too.
  CHECK(app::Config(app::parse_yaml_string(c.to_yaml())) == c);
  fs::remove_all(dir);
}

TEST_CASE("YAML typing: quoted scalars stay strings, plain ones follow the core schema") {
  const app::Config c(app::parse_yaml_string(
      "a: '1'\nb: 1\nc: 1.0\nd: 1e-2\ne: \"true\"\nf: True\ng: ~\nh:\ni: [1, '2', x]\n"
      "j: !!str 5\nk: .inf\n"));
  CHECK(c.get_string("a") == "1");
  CHECK(c.get_int("b") == 1);
  CHECK(c.at("c").kind() == app::ConfigNode::Kind::kDouble);
  CHECK(c.get_double("d") == 0.01);
  CHECK(c.get_string("e") == "true");
  CHECK(c.get_bool("f"));
  CHECK(c.is_null("g"));
  CHECK(c.is_null("h"));
  CHECK(c.at("i") ==
        app::ConfigNode::list({app::ConfigNode::integer(1), app::ConfigNode::string("2"),
                               app::ConfigNode::string("x")}));
  CHECK(c.get_string("j") == "5");
  CHECK(std::isinf(c.get_double("k")));
}

TEST_CASE("YAML errors name the file and line") {
  CHECK_THROWS_WITH_AS(app::parse_yaml_string("a: 1\na: 2\n", "x.yaml"),
                       doctest::Contains("x.yaml:2: duplicate key 'a'"), Error);
  CHECK_THROWS_WITH_AS(app::parse_yaml_string("a: [1, 2\n", "y.yaml"), doctest::Contains("y.yaml:"),
                       Error);
  CHECK_THROWS_WITH_AS(app::load_yaml_file("/nonexistent/difflut.yaml"),
                       doctest::Contains("/nonexistent/difflut.yaml"), Error);
}

TEST_CASE("composition follows the defaults list and _self_ placement") {
  const fs::path dir = difflut::test::temp_dir("config-compose");
  write_file(dir / "g" / "one.yaml", "x: 1\ny: 1\n");
  write_file(dir / "g" / "two.yaml", "x: 2\ny: 2\n");
  write_file(dir / "self_last.yaml", "defaults:\n  - g: one\ng:\n  y: 10\n");
  write_file(dir / "self_first.yaml", "defaults:\n  - _self_\n  - g: one\ng:\n  y: 10\n");
  write_file(dir / "bad_option.yaml", "defaults:\n  - g: three\n");
  write_file(dir / "nested.yaml", "defaults:\n  - g: one\n");
  write_file(dir / "h" / "inner.yaml", "defaults:\n  - g: one\n");
  write_file(dir / "k" / "plain.yaml", "z: 7\n");

  const app::Config last = app::compose_config({dir.string(), "self_last"}, {});
  CHECK(last.get_int("g.x") == 1);
  CHECK(last.get_int("g.y") == 10);  // the base file's own values win by default
  const app::Config first = app::compose_config({dir.string(), "self_first"}, {});
  CHECK(first.get_int("g.y") == 1);  // _self_ first: the group wins
  const app::Config swapped = app::compose_config({dir.string(), "self_last"}, {"g=two"});
  CHECK(swapped.get_int("g.x") == 2);
  CHECK(swapped.get_int("g.y") == 10);
  // A group directory not in the defaults list can be selected too.
  const app::Config added = app::compose_config({dir.string(), "nested"}, {"k=plain"});
  CHECK(added.get_int("k.z") == 7);
  CHECK(added.get_int("g.x") == 1);
  CHECK_THROWS_WITH_AS(app::compose_config({dir.string(), "nested"}, {"h=inner"}),
                       doctest::Contains("inner.yaml: `defaults:` lists inside config groups"),
                       Error);
  CHECK_THROWS_WITH_AS(app::compose_config({dir.string(), "bad_option"}, {}),
                       doctest::Contains("bad_option.yaml: unknown option 'three' for config "
                                         "group 'g' (known: one, two)"),
                       Error);
  CHECK_THROWS_WITH_AS(app::compose_config({dir.string(), "missing"}, {}),
                       doctest::Contains("missing.yaml"), Error);
  CHECK_THROWS_WITH_AS(app::load_config_file((dir / "nested.yaml").string()),
                       doctest::Contains("has a `defaults:` list"), Error);
  fs::remove_all(dir);
}

TEST_CASE(
    "config directory lookup: flag, env, ./configs, installed share/, <exe>/../configs, "
    "then upward search") {
  const fs::path root = difflut::test::temp_dir("config-dir");
  write_file(root / "install" / "configs" / "experiment.yaml", "a: 1\n");
  write_file(root / "src" / "configs" / "experiment.yaml", "a: 2\n");
  write_file(root / "other" / "experiment.yaml", "a: 3\n");
  write_file(root / "prefix" / "share" / "difflut" / "configs" / "experiment.yaml", "a: 4\n");
  write_file(root / "project" / "configs" / "experiment.yaml", "a: 5\n");
  write_file(root / "project2" / "configs" / "other_name.yaml", "a: 6\n");
  fs::create_directories(root / "install" / "bin");
  fs::create_directories(root / "prefix" / "bin");
  fs::create_directories(root / "src" / "build" / "tests");
  fs::create_directories(root / "empty");

  const char* old_env = std::getenv("DIFFLUT_CONFIG_DIR");
  const std::string saved = old_env ? old_env : "";
  ::unsetenv("DIFFLUT_CONFIG_DIR");

  // A working directory without configs/, so the results do not depend on where the test runs.
  const std::string nowhere = (root / "empty").string();
  const std::string install_exe = (root / "install" / "bin" / "difflut-train").string();
  const std::string prefix_exe = (root / "prefix" / "bin" / "difflut-train").string();
  const std::string build_exe = (root / "src" / "build" / "tests" / "test_apps").string();
  CHECK(app::resolve_config_dir(std::nullopt, "experiment", install_exe, nowhere) ==
        (root / "install" / "configs").string());
  CHECK(app::resolve_config_dir(std::nullopt, "experiment", prefix_exe, nowhere) ==
        (root / "prefix" / "share" / "difflut" / "configs").string());
  CHECK(app::resolve_config_dir(std::nullopt, "experiment", build_exe, nowhere) ==
        (root / "src" / "configs").string());
  // ./configs comes before anything found from the executable; it must hold the base file.
  const std::string project = (root / "project").string();
  CHECK(app::resolve_config_dir(std::nullopt, "experiment", prefix_exe, project) ==
        (root / "project" / "configs").string());
  CHECK(app::resolve_config_dir(std::nullopt, "experiment", build_exe, project) ==
        (root / "project" / "configs").string());
  CHECK(app::resolve_config_dir(std::nullopt, "experiment", prefix_exe,
                                (root / "project2").string()) ==
        (root / "prefix" / "share" / "difflut" / "configs").string());
  CHECK(app::resolve_config_dir(std::nullopt, "other_name", prefix_exe,
                                (root / "project2").string()) ==
        (root / "project2" / "configs").string());
  CHECK(app::resolve_config_dir((root / "other").string(), "experiment", build_exe, project) ==
        (root / "other").string());
  CHECK_THROWS_WITH_AS(
      app::resolve_config_dir((root / "empty").string(), "experiment", build_exe, project),
      doctest::Contains("--config-dir '"), Error);
  CHECK_THROWS_WITH_AS(
      app::resolve_config_dir(std::nullopt, "experiment", (root / "empty" / "exe").string(),
                              nowhere),
      doctest::Contains(
          "no config directory found: looked for experiment.yaml in $DIFFLUT_CONFIG_DIR "
          "(unset), ./configs, <executable dir>/../share/difflut/configs"),
      Error);

  // The environment variable still wins over ./configs (an explicit setting).
  ::setenv("DIFFLUT_CONFIG_DIR", (root / "other").string().c_str(), 1);
  CHECK(app::resolve_config_dir(std::nullopt, "experiment", build_exe, project) ==
        (root / "other").string());
  ::setenv("DIFFLUT_CONFIG_DIR", (root / "empty").string().c_str(), 1);
  CHECK_THROWS_WITH_AS(app::resolve_config_dir(std::nullopt, "experiment", build_exe, project),
                       doctest::Contains("DIFFLUT_CONFIG_DIR '"), Error);

  if (old_env)
    ::setenv("DIFFLUT_CONFIG_DIR", saved.c_str(), 1);
  else
    ::unsetenv("DIFFLUT_CONFIG_DIR");
  fs::remove_all(root);
}

TEST_CASE("an installed or copied difflut-train finds its configs without environment variables") {
  const fs::path root = difflut::test::temp_dir("config-install");
  // The layout `cmake --install` makes: <prefix>/bin/difflut-train, <prefix>/share/difflut/configs.
  fs::create_directories(root / "prefix" / "bin");
  fs::create_directories(root / "prefix" / "share" / "difflut");
  fs::copy_file(difflut::test::built_program("difflut-train"),
                root / "prefix" / "bin" / "difflut-train");
  fs::copy(difflut::test::shipped_config_dir(), root / "prefix" / "share" / "difflut" / "configs",
           fs::copy_options::recursive);
  fs::create_directories(root / "elsewhere");
  const std::string exe = (root / "prefix" / "bin" / "difflut-train").string();
  const auto run_in = [&](const fs::path& dir, const std::string& args) {
    return difflut::test::run_command("cd " + dir.string() + " && env -u DIFFLUT_CONFIG_DIR " +
                                      exe + " --print-config " + args + " 2>&1");
  };
  difflut::test::CommandResult r = run_in(root / "elsewhere", "seed=7");
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("seed: 7") != std::string::npos);
  CHECK(r.output.find("hidden_sizes: [2000, 1000]") != std::string::npos);

  // ./configs in the working directory wins; --config-dir overrides both.
  write_file(root / "project" / "configs" / "experiment.yaml", "seed: 11\nname_here: project\n");
  r = run_in(root / "project", "");
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("name_here: project") != std::string::npos);
  r = run_in(root / "project",
             "--config-dir " + (root / "prefix" / "share" / "difflut" / "configs").string());
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("name_here") == std::string::npos);
  fs::remove_all(root);
}
