// Hydra-style composition for the apps: load a base YAML file, pick one option per config group
// from its `defaults:` list (or from `group=option` overrides), merge, then apply `key=value`
// overrides typed against the composed tree. Also: `-m` sweep expansion and the config directory
// lookup. See docs/CONFIG.md for the keys and the grammar.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config/config.h"

namespace difflut::app {

// ---- YAML files (config_yaml.cpp; yaml-cpp) --------------------------------------------------------
// Parse YAML text / a file into a tree. Plain scalars are typed by parse_plain_scalar, quoted ones
// stay strings. Errors name the file (or `source`) and line. Builds without yaml-cpp throw.
// Anchors (&name) and aliases (*name) are errors in both parsers: expanding nested aliases into a
// tree is exponential (a YAML "billion laughs" took 17 s and 8 GB), and configs never need them.
inline constexpr const char* kNoAliasesNote =
    " is not allowed in DiffLUT configs (anchors and aliases can expand exponentially; write the "
    "values out, or use a config group)";
ConfigNode parse_yaml_string(const std::string& text, const std::string& source = "<string>");
ConfigNode load_yaml_file(const std::string& path);
// The text of a config file; files over kMaxConfigBytes, unreadable or missing ones throw.
inline constexpr uintmax_t kMaxConfigBytes = 16u << 20;
std::string read_config_text(const std::string& path);
// The block-YAML subset parser that builds without yaml-cpp use for the two functions above.
ConfigNode parse_yaml_subset(const std::string& text, const std::string& source = "<string>");
// Reads a resolved config file (e.g. a run directory's config.yaml); a `defaults:` list in it is
// an error, use compose_config for files that have one.
Config load_config_file(const std::string& path);
// Writes config.to_yaml() to `path` (creating parent directories), with a comment header.
void save_config_file(const Config& config, const std::string& path);

// ---- overrides -----------------------------------------------------------------------------------
// One command-line override. `key=value`; the value grammar: a plain scalar (typed like YAML),
// 'single' or "double" quoted strings, or a list [a, b, 'c'] (flat lists only).
struct Override {
  std::string text;  // as given, for messages
  std::string key;
  std::string value;  // the raw text after '='
};
// Splits `text` at the first '='. Throws for a missing '=', an empty key, a key with characters
// outside [A-Za-z0-9_.-], or the unsupported Hydra prefixes '+', '++', '~'.
Override parse_override(std::string_view text);
// The typed value of an override: scalars typed like YAML plain scalars, quotes give strings,
// [..] gives a list. A comma outside brackets and quotes is a sweep and throws (use -m).
ConfigNode parse_override_value(const Override& ov);

// Applies a value override to `config`: the key must exist (unknown keys throw with a closest-match
// suggestion) and the new value must fit the type found there: an int stays an int ("expected an
// integer"), a number accepts ints, a string accepts any scalar text, a list must get a list whose
// items fit the old items' type; null may replace any non-map value and a null key takes any value.
void apply_override(Config& config, const Override& ov);

// ---- composition ---------------------------------------------------------------------------------
struct ComposeOptions {
  std::string config_dir;                  // holds <config_name>.yaml and one folder per group
  std::string config_name = "experiment";  // base file, without .yaml
};
// Loads <config_dir>/<config_name>.yaml, resolves its `defaults:` list (entries `group: option`
// and `_self_`; `_self_` is implicitly last), replacing options by group overrides
// (`dataloaders=mnist`) wherever they appear on the command line, merges <group>/<option>.yaml
// under the key `group`, then applies the value overrides in command-line order.
Config compose_config(const ComposeOptions& options, const std::vector<std::string>& overrides);
// The options of a config group: the *.yaml file stems under <config_dir>/<group>/, sorted.
std::vector<std::string> group_options(const std::string& config_dir, const std::string& group);

// ---- multirun ------------------------------------------------------------------------------------
// Expands Hydra sweep syntax: every override whose value has top-level commas (outside [] and
// quotes) is a sweep axis, e.g. `-m training.lr=0.1,0.01 dataloaders=mnist,cifar10`. Returns the
// override sets of the Cartesian product in Hydra's order: the first swept key varies slowest, the
// last fastest; each set keeps the command-line order of the overrides, and fixed overrides appear
// in every set. With no sweep axis there is exactly one set.
std::vector<std::vector<std::string>> expand_multirun(const std::vector<std::string>& overrides);

// ---- the config directory ------------------------------------------------------------------------
// First match of: `flag` (--config-dir), $DIFFLUT_CONFIG_DIR, ./configs (in `cwd`, default the
// current directory), <exe dir>/../share/difflut/configs (an installed app), <exe dir>/../configs,
// then the nearest `configs/` in the executable's directory or any parent (the source tree when
// run from a build directory); a directory counts only if it holds <config_name>.yaml. An explicit
// flag or env var that lacks <config_name>.yaml is an error rather than silently skipped.
// `exe_path` defaults to /proc/self/exe.
std::string resolve_config_dir(const std::optional<std::string>& flag,
                               const std::string& config_name = "experiment",
                               const std::optional<std::string>& exe_path = std::nullopt,
                               const std::optional<std::string>& cwd = std::nullopt);

}  // namespace difflut::app
