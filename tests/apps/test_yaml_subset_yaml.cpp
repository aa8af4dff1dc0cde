// The YAML-subset parser (used by builds without yaml-cpp) reads every shipped config file exactly
// as yaml-cpp does, reads the config dumps it must round-trip, and rejects what it does not support
// with file:line errors; both parsers refuse YAML anchors and aliases (alias bombs).
#include <filesystem>
#include <fstream>
#include <sstream>

#include "apps_test_util.h"
#include "common/config/config_compose.h"
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
  CHECK_THROWS_WITH_AS(parse_yaml_subset("a: {b: 1}\n", "cfg.yaml"), doctest::Contains("flow maps"),
                       Error);
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

// A "billion laughs": nine levels of nine aliases each, 9^9 = 387 million leaves once expanded.
// Before aliases were refused, converting it took 17 s and 8 GB.
std::string alias_bomb() {
  std::string s =
      "a: &a [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n";
  for (char c = 'b'; c <= 'i'; ++c) {
    const char p = static_cast<char>(c - 1);
    s += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 9; ++i) s += std::string(i ? ", *" : "*") + p;
    s += "]\n";
  }
  return s;
}

TEST_CASE("anchors and aliases are refused by both parsers at once, with file:line") {
  // Refused at the first anchor, line 1: nothing is expanded.
  const std::string bomb = alias_bomb();
  CHECK_THROWS_WITH_AS(
      parse_yaml_string(bomb, "bomb.yaml"),
      "bomb.yaml:1: an anchor (&a) is not allowed in DiffLUT configs (anchors and "
      "aliases can expand exponentially; write the values out, or use a config group)",
      Error);
  CHECK_THROWS_WITH_AS(
      parse_yaml_subset(bomb, "bomb.yaml"),
      "bomb.yaml:1: an anchor (&a) is not allowed in DiffLUT configs (anchors and "
      "aliases can expand exponentially; write the values out, or use a config group)",
      Error);

  // Every place an anchor or alias can stand, in both parsers, names the line.
  const char* cases[][2] = {
      {"x: 1\nbase: &b\n  lr: 0.1\n", "cfg.yaml:2: an anchor (&b)"},
      {"x: 1\ny: *b\n", "cfg.yaml:2: an alias (*b)"},
      {"x:\n  - 1\n  - *b\n", "cfg.yaml:3: an alias (*b)"},
      {"x: [1, *b]\n", "cfg.yaml:1: an alias (*b)"},
      {"x:\n  - &i name: 3\n", "cfg.yaml:2: an anchor (&i)"},
  };
  for (const auto& c : cases) {
    CAPTURE(c[0]);
    CHECK_THROWS_WITH_AS(parse_yaml_subset(c[0], "cfg.yaml"), doctest::Contains(c[1]), Error);
    // yaml-cpp reports an undefined alias as a syntax error first; either way it is refused.
    CHECK_THROWS_AS(parse_yaml_string(c[0], "cfg.yaml"), Error);
  }
  CHECK_THROWS_WITH_AS(parse_yaml_string("x: &b 1\ny: *b\n", "cfg.yaml"),
                       doctest::Contains("cfg.yaml:1: an anchor (&b)"), Error);
  // Quoted text and '&'/'*' inside a plain scalar are ordinary strings.
  const std::string ok = "x: '*b'\ny: \"&c\"\nz: a*b&c\n";
  CHECK(parse_yaml_subset(ok) == parse_yaml_string(ok));
  CHECK(parse_yaml_string(ok).find("x")->as_string() == "*b");
}

TEST_CASE("a config file with an alias bomb is refused by the composer") {
  const std::string dir = test::temp_dir("yaml_bomb");
  {
    std::ofstream out(dir + "/experiment.yaml");
    out << "seed: 1\n" << alias_bomb();
  }
  CHECK_THROWS_WITH_AS(compose_config({dir, "experiment"}, {}),
                       doctest::Contains("experiment.yaml:2: an anchor (&a) is not allowed"),
                       Error);
}

TEST_CASE("deeply nested YAML is an error, not a stack overflow, in both parsers") {
  std::string deep;
  for (int i = 0; i < 3000; ++i) deep += std::string(static_cast<size_t>(i), ' ') + "k:\n";
  CHECK_THROWS_WITH_AS(parse_yaml_subset(deep, "deep.yaml"),
                       doctest::Contains("deep.yaml:65: nesting deeper than 64 levels"), Error);
  CHECK_THROWS_AS(parse_yaml_string(deep, "deep.yaml"), Error);
  std::string flow(100000, '[');
  CHECK_THROWS_AS(parse_yaml_string("a: " + flow + "\n", "deep.yaml"), Error);
  CHECK_THROWS_AS(parse_yaml_subset("a: " + flow + "\n", "deep.yaml"), Error);
}

TEST_CASE("a config file over 16 MiB is refused before it is read") {
  const std::string dir = test::temp_dir("yaml_big");
  const std::string path = dir + "/experiment.yaml";
  { std::ofstream(path) << "seed: 1\n"; }
  std::filesystem::resize_file(path, (16u << 20) + 1);  // sparse: nothing is written
  CHECK_THROWS_WITH_AS(
      load_yaml_file(path),
      ("config file '" + path + "': expected at most 16777216 bytes, found 16777217").c_str(),
      Error);
  CHECK_THROWS_WITH_AS(compose_config({dir, "experiment"}, {}),
                       doctest::Contains("at most 16777216 bytes"), Error);
  CHECK_THROWS_WITH_AS(load_yaml_file(dir + "/missing.yaml"), doctest::Contains("cannot open it"),
                       Error);
}
