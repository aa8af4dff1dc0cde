// The YAML-subset parser (used by builds without yaml-cpp) reads every shipped config file exactly
// as yaml-cpp does, reads the config dumps it must round-trip, and rejects what it does not support
// with file:line errors.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "apps_test_util.h"
#include "common/config_compose.h"
#include "test_util.h"

using namespace difflut;
using namespace difflut::app;

TEST_CASE("the YAML subset parser equals yaml-cpp on every shipped config") {
  namespace fs = std::filesystem;
  int files = 0;
  for (const auto& e : fs::recursive_directory_iterator(test::shipped_config_dir())) {
    if (e.path().extension() != ".yaml") continue;
    std::ifstream in(e.path());
    std::ostringstream text;
    text << in.rdbuf();
    CAPTURE(e.path().string());
    CHECK(parse_yaml_subset(text.str(), e.path().string()) ==
          parse_yaml_string(text.str(), e.path().string()));
    ++files;
  }
  CHECK(files >= 5);
}

TEST_CASE("the YAML subset parser handles the constructs configs use") {
  const std::string text =
      "# comment\n"
      "defaults:\n"
      "  - model: dwn\n"
      "  - _self_\n"
      "a:\n"
      "  b: 1   # trailing comment\n"
      "  c: [1, 2.5, 'x', \"y # not a comment\"]\n"
      "  d:\n"
      "  - first\n"
      "  - second\n"
      "  e: null\n"
      "  f:\n"
      "  g: ''\n"
      "items:\n"
      "  - name: one\n"
      "    size: 3\n"
      "  - name: two\n"
      "    size: 4\n";
  CHECK(parse_yaml_subset(text) == parse_yaml_string(text));
}

TEST_CASE("the YAML subset parser rejects unsupported input with file:line") {
  CHECK_THROWS_WITH_AS(parse_yaml_subset("a: 1\n  b: 2\n", "cfg.yaml"),
                       doctest::Contains("cfg.yaml:2"), Error);
  CHECK_THROWS_WITH_AS(parse_yaml_subset("a: {b: 1}\n", "cfg.yaml"),
                       doctest::Contains("flow maps"), Error);
  CHECK_THROWS_WITH_AS(parse_yaml_subset("a: 1\na: 2\n", "cfg.yaml"),
                       doctest::Contains("duplicate key 'a'"), Error);
  CHECK_THROWS_WITH_AS(parse_yaml_subset("a: [1, 2\n", "cfg.yaml"),
                       doctest::Contains("unterminated"), Error);
  CHECK_THROWS_WITH_AS(parse_yaml_subset("just text\n", "cfg.yaml"),
                       doctest::Contains("cfg.yaml:1"), Error);
}

TEST_CASE("the YAML subset parser reads back a resolved config dump") {
  const Config c = compose_config({test::shipped_config_dir(), "experiment"},
                                  {"dataloaders=mnist", "model.params.hidden_sizes=[64,32]",
                                   "experiment_name=with spaces: and # hash"});
  const std::string yaml = c.to_yaml();
  CHECK(parse_yaml_subset(yaml, "dump") == parse_yaml_string(yaml, "dump"));
}
