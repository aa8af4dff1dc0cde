// The configuration tree of the apps: typed YAML-like values (null, bool, int, double, string,
// list, map with insertion order), dotted-key access with typed getters, and a YAML dump.
// Loading files and composing config groups with overrides lives in config_compose.h.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace difflut::app {

// One node of the tree. Maps keep their keys in insertion order so a dump reads like the files.
class ConfigNode {
 public:
  enum class Kind { kNull, kBool, kInt, kDouble, kString, kList, kMap };
  using Entry = std::pair<std::string, ConfigNode>;

  ConfigNode() = default;  // null
  static ConfigNode null() { return ConfigNode(); }
  static ConfigNode boolean(bool v);
  static ConfigNode integer(int64_t v);
  static ConfigNode real(double v);
  static ConfigNode string(std::string v);
  static ConfigNode list(std::vector<ConfigNode> items = {});
  static ConfigNode map();

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::kNull; }
  bool is_map() const { return kind_ == Kind::kMap; }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_scalar() const { return kind_ != Kind::kList && kind_ != Kind::kMap; }

  // Raw accessors; they assert the kind (callers go through Config's getters for user errors).
  bool as_bool() const;
  int64_t as_int() const;
  double as_double() const;  // int or double
  const std::string& as_string() const;
  const std::vector<ConfigNode>& items() const;
  std::vector<ConfigNode>& items();
  const std::vector<Entry>& entries() const;

  // Map access: nullptr when absent. set() replaces in place or appends (keeps the order).
  const ConfigNode* find(std::string_view key) const;
  ConfigNode* find(std::string_view key);
  ConfigNode& set(std::string key, ConfigNode value);
  bool erase(std::string_view key);

  // Recursive merge: maps merge key by key, anything else in `other` replaces this node.
  void merge(const ConfigNode& other);

  bool operator==(const ConfigNode& other) const;

  // The value as written in YAML flow style (strings quoted only where needed), e.g. [2000, 1000].
  std::string to_flow() const;
  // For error messages: "'abc' (a string)", "[2000, 1000] (a list)", "null".
  std::string describe() const;

 private:
  Kind kind_ = Kind::kNull;
  bool bool_ = false;
  int64_t int_ = 0;
  double double_ = 0.0;
  std::string string_;
  std::vector<ConfigNode> items_;
  std::vector<Entry> entries_;
};

// "a string", "an integer", ... for messages.
const char* kind_noun(ConfigNode::Kind kind);

// Type of a plain (unquoted) YAML scalar under the YAML 1.2 core schema: null (null, ~, empty),
// bool (true/false in three casings), int (decimal), double (1.5, 1e-2, .inf, .nan), else string.
ConfigNode parse_plain_scalar(std::string_view text);

// Levenshtein distance (for "did you mean" suggestions).
size_t edit_distance(std::string_view a, std::string_view b);
// The candidate closest to `key` if it is close enough to be a likely typo, else "". A candidate
// whose last dotted component equals the key's last component also counts (a missing prefix).
std::string closest_match(std::string_view key, const std::vector<std::string>& candidates);

// A resolved configuration: a map at the root, addressed with dotted keys ("training.lr").
class Config {
 public:
  Config() : root_(ConfigNode::map()) {}
  explicit Config(ConfigNode root);

  const ConfigNode& root() const { return root_; }
  ConfigNode& root() { return root_; }

  bool has(std::string_view key) const { return find(key) != nullptr; }
  const ConfigNode* find(std::string_view key) const;
  ConfigNode* find(std::string_view key);
  // The node at `key`; throws "unknown config key 'x' (did you mean 'y'?)" when absent.
  const ConfigNode& at(std::string_view key) const;
  bool is_null(std::string_view key) const { return at(key).is_null(); }

  // Typed getters. Errors name the key, the expected type and the value found, e.g.
  // "config key 'training.epochs': expected an integer, found 'abc' (a string)".
  int64_t get_int(std::string_view key) const;
  double get_double(std::string_view key) const;  // accepts integers too
  std::string get_string(std::string_view key) const;
  bool get_bool(std::string_view key) const;
  std::vector<int64_t> get_int_list(std::string_view key) const;
  std::vector<double> get_double_list(std::string_view key) const;
  std::vector<std::string> get_string_list(std::string_view key) const;
  // A string that must be one of `choices`, e.g. get_choice("device", {"auto", "cpu", "cuda"});
  // error: "config key 'device': expected one of auto, cpu, cuda, found 'gpu'".
  std::string get_choice(std::string_view key,
                         std::initializer_list<std::string_view> choices) const;

  // Sets `key`, creating intermediate maps (for values the program decides, e.g. a resolved path).
  void set(std::string_view key, ConfigNode value);

  // Every dotted key of the tree, maps included ("training", "training.lr", ...), in tree order.
  std::vector<std::string> keys() const;

  // The whole tree as a block-style YAML document that loads back to an equal Config.
  std::string to_yaml() const;

  bool operator==(const Config& other) const { return root_ == other.root_; }

 private:
  [[noreturn]] void fail_unknown(std::string_view key) const;
  ConfigNode root_;
};

}  // namespace difflut::app
