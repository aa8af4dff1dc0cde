// The config tree without files: scalar typing, typed getters and their errors, overrides applied
// to a hand-built tree, suggestions, the YAML emitter's text, and -m sweep expansion.
#include <doctest/doctest.h>

#include <cmath>

#include "common/config/config.h"
#include "common/config/config_compose.h"
#include "tensor/error.h"

namespace app = difflut::app;
using difflut::Error;
using K = app::ConfigNode::Kind;

namespace {

// training: {epochs: 15, lr: 0.01, name: adam, flag: true, sizes: [2000, 1000], rates: [0.5],
//            resume: null}
app::Config sample() {
  app::Config c;
  c.set("training.epochs", app::ConfigNode::integer(15));
  c.set("training.lr", app::ConfigNode::real(0.01));
  c.set("training.name", app::ConfigNode::string("adam"));
  c.set("training.flag", app::ConfigNode::boolean(true));
  c.set("training.sizes",
        app::ConfigNode::list({app::ConfigNode::integer(2000), app::ConfigNode::integer(1000)}));
  c.set("training.rates", app::ConfigNode::list({app::ConfigNode::real(0.5)}));
  c.set("training.resume", app::ConfigNode::null());
  return c;
}

void override_(app::Config& c, const std::string& text) {
  app::apply_override(c, app::parse_override(text));
}

}  // namespace

TEST_CASE("plain scalars are typed by the YAML 1.2 core schema") {
  CHECK(app::parse_plain_scalar("").kind() == K::kNull);
  CHECK(app::parse_plain_scalar("~").kind() == K::kNull);
  CHECK(app::parse_plain_scalar("null").kind() == K::kNull);
  CHECK(app::parse_plain_scalar("True").as_bool());
  CHECK(!app::parse_plain_scalar("false").as_bool());
  CHECK(app::parse_plain_scalar("yes").kind() == K::kString);  // YAML 1.1 booleans are strings
  CHECK(app::parse_plain_scalar("-42").as_int() == -42);
  CHECK(app::parse_plain_scalar("+7").as_int() == 7);
  CHECK(app::parse_plain_scalar("1e-2").as_double() == 0.01);
  CHECK(app::parse_plain_scalar(".5").as_double() == 0.5);
  CHECK(app::parse_plain_scalar("3.").as_double() == 3.0);
  CHECK(app::parse_plain_scalar("-.inf").as_double() == -INFINITY);
  CHECK(std::isnan(app::parse_plain_scalar(".nan").as_double()));
  CHECK(app::parse_plain_scalar("1e").kind() == K::kString);
  CHECK(app::parse_plain_scalar("1.2.3").kind() == K::kString);
  CHECK(app::parse_plain_scalar("99999999999999999999").kind() == K::kString);  // > int64
  CHECK(app::parse_plain_scalar("adam").as_string() == "adam");
}

TEST_CASE("typed getters return values and name key, expected type and found value on error") {
  const app::Config c = sample();
  CHECK(c.get_int("training.epochs") == 15);
  CHECK(c.get_double("training.epochs") == 15.0);  // an integer is a number
  CHECK(c.get_double("training.lr") == 0.01);
  CHECK(c.get_string("training.name") == "adam");
  CHECK(c.get_bool("training.flag"));
  CHECK(c.get_int_list("training.sizes") == std::vector<int64_t>{2000, 1000});
  CHECK(c.get_double_list("training.sizes") == std::vector<double>{2000.0, 1000.0});
  CHECK_THROWS_WITH_AS(c.get_int("training.lr"),
                       "config key 'training.lr': expected an integer, found 0.01 (a number)",
                       Error);
  CHECK_THROWS_WITH_AS(c.get_string("training.epochs"),
                       "config key 'training.epochs': expected a string, found 15 (an integer)",
                       Error);
  CHECK_THROWS_WITH_AS(c.get_bool("training.name"),
                       doctest::Contains("expected a boolean (true or false), found 'adam'"),
                       Error);
  CHECK_THROWS_WITH_AS(c.get_int_list("training.rates"),
                       doctest::Contains("expected a list of integers, found [0.5] (a list)"),
                       Error);
  CHECK_THROWS_WITH_AS(c.get_int("training.resume"),
                       doctest::Contains("expected an integer, found null"), Error);
  CHECK_THROWS_WITH_AS(c.get_string_list("training"),
                       doctest::Contains("found a group of keys (epochs, lr, name, flag, ...)"),
                       Error);
  CHECK_THROWS_WITH_AS(c.get_int("training.epoch"),
                       "unknown config key 'training.epoch' (did you mean 'training.epochs'?)",
                       Error);
  CHECK_THROWS_WITH_AS(c.get_int("zzzzzz"), "unknown config key 'zzzzzz'", Error);
  CHECK_THROWS_WITH_AS(c.get_int("training.epochs.x"), doctest::Contains("unknown config key"),
                       Error);
  CHECK(c.get_choice("training.name", {"adam", "sgd"}) == "adam");
  CHECK_THROWS_WITH_AS(c.get_choice("training.name", {"adamw", "sgd"}),
                       "config key 'training.name': expected one of adamw, sgd, found 'adam' (a "
                       "string)",
                       Error);
}

TEST_CASE("overrides keep the type found in the tree") {
  app::Config c = sample();
  override_(c, "training.lr=1");
  CHECK(c.at("training.lr") == app::ConfigNode::real(1.0));
  override_(c, "training.name=42");
  CHECK(c.at("training.name") == app::ConfigNode::string("42"));
  override_(c, "training.name='x, y'");  // quoted: commas are text, not a sweep
  CHECK(c.get_string("training.name") == "x, y");
  override_(c, "training.rates=[1, 2.5]");
  CHECK(c.get_double_list("training.rates") == std::vector<double>{1.0, 2.5});
  CHECK(c.at("training.rates").items()[0].kind() == K::kDouble);
  override_(c, "training.sizes=[]");
  CHECK(c.get_int_list("training.sizes").empty());
  override_(c, "training.resume=[a, 'b c']");  // a null key takes any value
  CHECK(c.get_string_list("training.resume") == std::vector<std::string>{"a", "b c"});
  override_(c, "training.epochs=null");
  CHECK(c.is_null("training.epochs"));
  override_(c, "training.name=");
  CHECK(c.get_string("training.name").empty());

  app::Config d = sample();
  CHECK_THROWS_WITH_AS(override_(d, "training.flag=yes"),
                       "training.flag=yes: expected a boolean (true or false), found 'yes' (a "
                       "string)",
                       Error);
  CHECK_THROWS_WITH_AS(override_(d, "training.name=[a]"),
                       doctest::Contains("training.name=[a]: expected a string"), Error);
  CHECK_THROWS_WITH_AS(override_(d, "training.sizes=[[1]]"), doctest::Contains("nested lists"),
                       Error);
  CHECK_THROWS_WITH_AS(override_(d, "training.name={a: 1}"),
                       doctest::Contains("{..} maps are not supported"), Error);
  CHECK_THROWS_WITH_AS(override_(d, "training.name='abc"), doctest::Contains("unterminated"),
                       Error);
  CHECK_THROWS_WITH_AS(override_(d, "training.sizes=[1,,2]"), doctest::Contains("empty item"),
                       Error);
  CHECK_THROWS_WITH_AS(override_(d, "training.epochs=1,2"), doctest::Contains("-m"), Error);
  CHECK_THROWS_WITH_AS(app::parse_override("tra ining=1"),
                       doctest::Contains("expected a dotted key"), Error);
  CHECK_THROWS_WITH_AS(app::parse_override("training..lr=1"),
                       doctest::Contains("expected a dotted key"), Error);
  CHECK(d == sample());  // failed overrides changed nothing
}

TEST_CASE("closest_match suggests likely typos and missing prefixes only") {
  const std::vector<std::string> keys = {"training", "training.epochs", "training.lr",
                                         "model.params.num_inputs"};
  CHECK(app::edit_distance("kitten", "sitting") == 3);
  CHECK(app::edit_distance("", "abc") == 3);
  CHECK(app::closest_match("training.epoch", keys) == "training.epochs");
  CHECK(app::closest_match("trainig.lr", keys) == "training.lr");
  CHECK(app::closest_match("num_inputs", keys) == "model.params.num_inputs");
  CHECK(app::closest_match("optimizer", keys).empty());
}

TEST_CASE("the YAML dump is block style with flow lists and quotes only where needed") {
  app::Config c;
  c.set("name", app::ConfigNode::string("dwn"));
  c.set("params.sizes",
        app::ConfigNode::list({app::ConfigNode::integer(2000), app::ConfigNode::integer(1000)}));
  c.set("params.tau", app::ConfigNode::real(1.0 / 0.3));
  c.set("params.lr", app::ConfigNode::real(1e-5));
  c.set("params.whole", app::ConfigNode::real(3.0));
  c.set("params.text", app::ConfigNode::string("true"));
  c.set("params.odd", app::ConfigNode::string("a: \"b\""));
  c.set("params.none", app::ConfigNode::null());
  c.set("params.empty", app::ConfigNode::map());
  CHECK(c.to_yaml() ==
        "name: dwn\n"
        "params:\n"
        "  sizes: [2000, 1000]\n"
        "  tau: 3.3333333333333335\n"
        "  lr: 1e-05\n"
        "  whole: 3.0\n"
        "  text: \"true\"\n"
        "  odd: \"a: \\\"b\\\"\"\n"
        "  none: null\n"
        "  empty: {}\n");
  CHECK(app::Config().to_yaml() == "{}\n");
}

TEST_CASE("merge replaces values and lists, and merges maps key by key") {
  app::ConfigNode a = sample().root();
  app::Config patch;
  patch.set("training.lr", app::ConfigNode::real(0.5));
  patch.set("training.sizes", app::ConfigNode::list({app::ConfigNode::integer(1)}));
  patch.set("other", app::ConfigNode::integer(1));
  a.merge(patch.root());
  const app::Config m(a);
  CHECK(m.get_double("training.lr") == 0.5);
  CHECK(m.get_int_list("training.sizes") == std::vector<int64_t>{1});
  CHECK(m.get_int("training.epochs") == 15);
  CHECK(m.get_int("other") == 1);
  CHECK(m.keys().front() == "training");
  CHECK(m.keys().back() == "other");
}

TEST_CASE("multirun expands a 2x2 grid with the first swept key slowest") {
  const auto sets =
      app::expand_multirun({"training.lr=0.1,0.01", "seed=1", "dataloaders=mnist, cifar10"});
  REQUIRE(sets.size() == 4);
  CHECK(sets[0] == std::vector<std::string>{"training.lr=0.1", "seed=1", "dataloaders=mnist"});
  CHECK(sets[1] == std::vector<std::string>{"training.lr=0.1", "seed=1", "dataloaders=cifar10"});
  CHECK(sets[2] == std::vector<std::string>{"training.lr=0.01", "seed=1", "dataloaders=mnist"});
  CHECK(sets[3] == std::vector<std::string>{"training.lr=0.01", "seed=1", "dataloaders=cifar10"});
}

TEST_CASE("multirun keeps lists and quoted commas whole and rejects empty sweep values") {
  const auto sets =
      app::expand_multirun({"model.params.hidden_sizes=[1000,1000],[2000,1000]", "name='a,b'"});
  REQUIRE(sets.size() == 2);
  CHECK(sets[0] == std::vector<std::string>{"model.params.hidden_sizes=[1000,1000]", "name='a,b'"});
  CHECK(sets[1] == std::vector<std::string>{"model.params.hidden_sizes=[2000,1000]", "name='a,b'"});
  CHECK(app::expand_multirun({}) == std::vector<std::vector<std::string>>{{}});
  CHECK(app::expand_multirun({"a=1", "b=2"}).size() == 1);
  CHECK(app::expand_multirun({"a=1,2,3", "b=x,y"}).size() == 6);
  CHECK_THROWS_WITH_AS(app::expand_multirun({"a=1,"}), doctest::Contains("empty value"), Error);
  CHECK_THROWS_WITH_AS(app::expand_multirun({"a"}), doctest::Contains("expected key=value"), Error);
}
