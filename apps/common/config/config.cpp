// The configuration tree: node kinds, scalar typing, dotted-key access, typed getters, YAML dump.
#include "common/config/config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "tensor/error.h"

namespace difflut::app {

// ---- nodes ---------------------------------------------------------------------------------------

ConfigNode ConfigNode::boolean(bool v) {
  ConfigNode n;
  n.kind_ = Kind::kBool;
  n.bool_ = v;
  return n;
}
ConfigNode ConfigNode::integer(int64_t v) {
  ConfigNode n;
  n.kind_ = Kind::kInt;
  n.int_ = v;
  return n;
}
ConfigNode ConfigNode::real(double v) {
  ConfigNode n;
  n.kind_ = Kind::kDouble;
  n.double_ = v;
  return n;
}
ConfigNode ConfigNode::string(std::string v) {
  ConfigNode n;
  n.kind_ = Kind::kString;
  n.string_ = std::move(v);
  return n;
}
ConfigNode ConfigNode::list(std::vector<ConfigNode> items) {
  ConfigNode n;
  n.kind_ = Kind::kList;
  n.items_ = std::move(items);
  return n;
}
ConfigNode ConfigNode::map() {
  ConfigNode n;
  n.kind_ = Kind::kMap;
  return n;
}

bool ConfigNode::as_bool() const {
  DIFFLUT_ASSERT(kind_ == Kind::kBool);
  return bool_;
}
int64_t ConfigNode::as_int() const {
  DIFFLUT_ASSERT(kind_ == Kind::kInt);
  return int_;
}
double ConfigNode::as_double() const {
  DIFFLUT_ASSERT(kind_ == Kind::kDouble || kind_ == Kind::kInt);
  return kind_ == Kind::kInt ? static_cast<double>(int_) : double_;
}
const std::string& ConfigNode::as_string() const {
  DIFFLUT_ASSERT(kind_ == Kind::kString);
  return string_;
}
const std::vector<ConfigNode>& ConfigNode::items() const {
  DIFFLUT_ASSERT(kind_ == Kind::kList);
  return items_;
}
std::vector<ConfigNode>& ConfigNode::items() {
  DIFFLUT_ASSERT(kind_ == Kind::kList);
  return items_;
}
const std::vector<ConfigNode::Entry>& ConfigNode::entries() const {
  DIFFLUT_ASSERT(kind_ == Kind::kMap);
  return entries_;
}

const ConfigNode* ConfigNode::find(std::string_view key) const {
  if (kind_ != Kind::kMap) return nullptr;
  for (const Entry& e : entries_)
    if (e.first == key) return &e.second;
  return nullptr;
}
ConfigNode* ConfigNode::find(std::string_view key) {
  return const_cast<ConfigNode*>(static_cast<const ConfigNode*>(this)->find(key));
}

ConfigNode& ConfigNode::set(std::string key, ConfigNode value) {
  DIFFLUT_ASSERT(kind_ == Kind::kMap);
  if (ConfigNode* existing = find(key)) {
    *existing = std::move(value);
    return *existing;
  }
  entries_.emplace_back(std::move(key), std::move(value));
  return entries_.back().second;
}

bool ConfigNode::erase(std::string_view key) {
  if (kind_ != Kind::kMap) return false;
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const Entry& e) { return e.first == key; });
  if (it == entries_.end()) return false;
  entries_.erase(it);
  return true;
}

void ConfigNode::merge(const ConfigNode& other) {
  if (kind_ != Kind::kMap || other.kind_ != Kind::kMap) {
    *this = other;
    return;
  }
  for (const Entry& e : other.entries_) {
    if (ConfigNode* mine = find(e.first))
      mine->merge(e.second);
    else
      entries_.push_back(e);
  }
}

bool ConfigNode::operator==(const ConfigNode& o) const {
  if (kind_ != o.kind_) return false;
  switch (kind_) {
    case Kind::kNull: return true;
    case Kind::kBool: return bool_ == o.bool_;
    case Kind::kInt: return int_ == o.int_;
    // Bitwise-equal values (NaN equals NaN), so a dump that loads back compares equal.
    case Kind::kDouble:
      return double_ == o.double_ || (std::isnan(double_) && std::isnan(o.double_));
    case Kind::kString: return string_ == o.string_;
    case Kind::kList: return items_ == o.items_;
    case Kind::kMap: return entries_ == o.entries_;
  }
  return false;
}

const char* kind_noun(ConfigNode::Kind kind) {
  switch (kind) {
    case ConfigNode::Kind::kNull: return "null";
    case ConfigNode::Kind::kBool: return "a boolean";
    case ConfigNode::Kind::kInt: return "an integer";
    case ConfigNode::Kind::kDouble: return "a number";
    case ConfigNode::Kind::kString: return "a string";
    case ConfigNode::Kind::kList: return "a list";
    case ConfigNode::Kind::kMap: return "a group of keys";
  }
  return "?";
}

// ---- scalar typing -------------------------------------------------------------------------------

namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// YAML 1.2 core float: [-+]? ( \.[0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
bool looks_like_float(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  size_t int_digits = 0, frac_digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++int_digits;
  bool dot = false;
  if (i < s.size() && s[i] == '.') {
    dot = true;
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return false;
  if (int_digits == 0 && !dot) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!all_digits(s.substr(i))) return false;
    i = s.size();
  }
  return i == s.size();
}

bool one_of(std::string_view s, std::initializer_list<std::string_view> options) {
  return std::find(options.begin(), options.end(), s) != options.end();
}

}  // namespace

ConfigNode parse_plain_scalar(std::string_view s) {
  if (one_of(s, {"", "~", "null", "Null", "NULL"})) return ConfigNode::null();
  if (one_of(s, {"true", "True", "TRUE"})) return ConfigNode::boolean(true);
  if (one_of(s, {"false", "False", "FALSE"})) return ConfigNode::boolean(false);
  std::string_view digits = s;
  if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) digits.remove_prefix(1);
  if (all_digits(digits)) {
    int64_t v = 0;
    const char* begin = s.data() + (s[0] == '+' ? 1 : 0);
    auto [ptr, ec] = std::from_chars(begin, s.data() + s.size(), v);
    if (ec == std::errc() && ptr == s.data() + s.size()) return ConfigNode::integer(v);
    return ConfigNode::string(std::string(s));  // out of int64 range: keep the text
  }
  if (looks_like_float(s)) return ConfigNode::real(std::strtod(std::string(s).c_str(), nullptr));
  std::string_view mag = s;
  const bool neg = !mag.empty() && mag[0] == '-';
  if (!mag.empty() && (mag[0] == '+' || mag[0] == '-')) mag.remove_prefix(1);
  if (one_of(mag, {".inf", ".Inf", ".INF"}))
    return ConfigNode::real(neg ? -std::numeric_limits<double>::infinity()
                                : std::numeric_limits<double>::infinity());
  if (one_of(s, {".nan", ".NaN", ".NAN"}))
    return ConfigNode::real(std::numeric_limits<double>::quiet_NaN());
  return ConfigNode::string(std::string(s));
}

// ---- formatting ----------------------------------------------------------------------------------

namespace {

// Shortest text that reads back to the same double, always recognisable as a float.
std::string format_double(double v) {
  if (std::isnan(v)) return ".nan";
  if (std::isinf(v)) return v > 0 ? ".inf" : "-.inf";
  char buf[64];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  DIFFLUT_ASSERT(ec == std::errc());
  std::string s(buf, ptr);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

// Plain only for a conservative character set that means the same in block and flow context
// and reads back as a string; everything else is double-quoted.
bool needs_quotes(const std::string& s) {
  if (s.empty()) return true;
  const auto plain_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
           c == '/' || c == '+';
  };
  if (!std::all_of(s.begin(), s.end(), plain_char)) return true;
  if (!(std::isalnum(static_cast<unsigned char>(s[0])) || s[0] == '_' || s[0] == '/' ||
        s[0] == '.'))
    return true;
  return parse_plain_scalar(s).kind() != ConfigNode::Kind::kString;
}

std::string quote_string(const std::string& s) {
  if (!needs_quotes(s)) return s;
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string format_scalar(const ConfigNode& n) {
  switch (n.kind()) {
    case ConfigNode::Kind::kNull: return "null";
    case ConfigNode::Kind::kBool: return n.as_bool() ? "true" : "false";
    case ConfigNode::Kind::kInt: return std::to_string(n.as_int());
    case ConfigNode::Kind::kDouble: return format_double(n.as_double());
    case ConfigNode::Kind::kString: return quote_string(n.as_string());
    default: DIFFLUT_ASSERT(false);
  }
  return {};
}

void emit_block(const ConfigNode& map, int indent, std::string& out) {
  for (const auto& [key, value] : map.entries()) {
    out.append(indent, ' ');
    out += quote_string(key);
    out += ':';
    if (value.is_map() && !value.entries().empty()) {
      out += '\n';
      emit_block(value, indent + 2, out);
    } else {
      out += ' ';
      out += value.to_flow();
      out += '\n';
    }
  }
}

}  // namespace

std::string ConfigNode::to_flow() const {
  if (kind_ == Kind::kList) {
    std::string s = "[";
    for (size_t i = 0; i < items_.size(); ++i) s += (i ? ", " : "") + items_[i].to_flow();
    return s + "]";
  }
  if (kind_ == Kind::kMap) {
    std::string s = "{";
    for (size_t i = 0; i < entries_.size(); ++i)
      s += (i ? ", " : "") + quote_string(entries_[i].first) + ": " + entries_[i].second.to_flow();
    return s + "}";
  }
  return format_scalar(*this);
}

std::string ConfigNode::describe() const {
  if (kind_ == Kind::kNull) return "null";
  if (kind_ == Kind::kString) return "'" + string_ + "' (a string)";
  if (kind_ == Kind::kMap) {
    std::string keys;
    for (size_t i = 0; i < entries_.size() && i < 4; ++i)
      keys += (i ? ", " : "") + entries_[i].first;
    if (entries_.size() > 4) keys += ", ...";
    return "a group of keys (" + keys + ")";
  }
  return to_flow() + " (" + kind_noun(kind_) + ")";
}

// ---- suggestions ---------------------------------------------------------------------------------

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string closest_match(std::string_view key, const std::vector<std::string>& candidates) {
  // A typo of a handful of characters, scaled with the key's length.
  const size_t limit = key.size() <= 4 ? 1 : key.size() <= 10 ? 2 : 3;
  std::string best;
  size_t best_d = limit + 1;
  for (const std::string& c : candidates) {
    const size_t d = edit_distance(key, c);
    if (d < best_d) best_d = d, best = c;
  }
  if (!best.empty()) return best;
  const size_t dot = key.rfind('.');
  const std::string_view last = dot == std::string_view::npos ? key : key.substr(dot + 1);
  for (const std::string& c : candidates) {
    const size_t cdot = c.rfind('.');
    if (cdot != std::string::npos && std::string_view(c).substr(cdot + 1) == last) return c;
  }
  return {};
}

// ---- Config --------------------------------------------------------------------------------------

namespace {

std::vector<std::string_view> split_key(std::string_view key) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t dot = key.find('.', start);
    parts.push_back(key.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts;
}

void collect_keys(const ConfigNode& map, const std::string& prefix, std::vector<std::string>& out) {
  for (const auto& [k, v] : map.entries()) {
    std::string full = prefix.empty() ? k : prefix + "." + k;
    out.push_back(full);
    if (v.is_map()) collect_keys(v, full, out);
  }
}

}  // namespace

Config::Config(ConfigNode root) : root_(std::move(root)) {
  DIFFLUT_CHECK(root_.is_map(), "config: expected a map of keys at the top level, found ",
                root_.describe());
}

const ConfigNode* Config::find(std::string_view key) const {
  const ConfigNode* node = &root_;
  for (std::string_view part : split_key(key)) {
    node = node->find(part);
    if (!node) return nullptr;
  }
  return node;
}

ConfigNode* Config::find(std::string_view key) {
  return const_cast<ConfigNode*>(static_cast<const Config*>(this)->find(key));
}

void Config::fail_unknown(std::string_view key) const {
  const std::string suggestion = closest_match(key, keys());
  if (suggestion.empty()) DIFFLUT_FAIL("unknown config key '", key, "'");
  DIFFLUT_FAIL("unknown config key '", key, "' (did you mean '", suggestion, "'?)");
}

const ConfigNode& Config::at(std::string_view key) const {
  const ConfigNode* node = find(key);
  if (!node) fail_unknown(key);
  return *node;
}

namespace {

[[noreturn]] void fail_type(std::string_view key, const char* expected, const ConfigNode& found) {
  DIFFLUT_FAIL("config key '", key, "': expected ", expected, ", found ", found.describe());
}

}  // namespace

int64_t Config::get_int(std::string_view key) const {
  const ConfigNode& n = at(key);
  if (n.kind() != ConfigNode::Kind::kInt) fail_type(key, "an integer", n);
  return n.as_int();
}

double Config::get_double(std::string_view key) const {
  const ConfigNode& n = at(key);
  if (n.kind() != ConfigNode::Kind::kInt && n.kind() != ConfigNode::Kind::kDouble)
    fail_type(key, "a number", n);
  return n.as_double();
}

std::string Config::get_string(std::string_view key) const {
  const ConfigNode& n = at(key);
  if (n.kind() != ConfigNode::Kind::kString) fail_type(key, "a string", n);
  return n.as_string();
}

bool Config::get_bool(std::string_view key) const {
  const ConfigNode& n = at(key);
  if (n.kind() != ConfigNode::Kind::kBool) fail_type(key, "a boolean (true or false)", n);
  return n.as_bool();
}

std::vector<int64_t> Config::get_int_list(std::string_view key) const {
  const ConfigNode& n = at(key);
  std::vector<int64_t> out;
  if (!n.is_list()) fail_type(key, "a list of integers", n);
  for (const ConfigNode& item : n.items()) {
    if (item.kind() != ConfigNode::Kind::kInt) fail_type(key, "a list of integers", n);
    out.push_back(item.as_int());
  }
  return out;
}

std::vector<double> Config::get_double_list(std::string_view key) const {
  const ConfigNode& n = at(key);
  std::vector<double> out;
  if (!n.is_list()) fail_type(key, "a list of numbers", n);
  for (const ConfigNode& item : n.items()) {
    if (item.kind() != ConfigNode::Kind::kInt && item.kind() != ConfigNode::Kind::kDouble)
      fail_type(key, "a list of numbers", n);
    out.push_back(item.as_double());
  }
  return out;
}

std::vector<std::string> Config::get_string_list(std::string_view key) const {
  const ConfigNode& n = at(key);
  std::vector<std::string> out;
  if (!n.is_list()) fail_type(key, "a list of strings", n);
  for (const ConfigNode& item : n.items()) {
    if (item.kind() != ConfigNode::Kind::kString) fail_type(key, "a list of strings", n);
    out.push_back(item.as_string());
  }
  return out;
}

std::string Config::get_choice(std::string_view key,
                               std::initializer_list<std::string_view> choices) const {
  std::string list;
  for (std::string_view c : choices) list += (list.empty() ? "" : ", ") + std::string(c);
  const ConfigNode& n = at(key);
  if (n.kind() != ConfigNode::Kind::kString || !one_of(n.as_string(), choices))
    DIFFLUT_FAIL("config key '", key, "': expected one of ", list, ", found ", n.describe());
  return n.as_string();
}

void Config::set(std::string_view key, ConfigNode value) {
  const std::vector<std::string_view> parts = split_key(key);
  ConfigNode* node = &root_;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    ConfigNode* next = node->find(parts[i]);
    if (!next) next = &node->set(std::string(parts[i]), ConfigNode::map());
    DIFFLUT_CHECK(next->is_map(), "config: cannot set '", key, "': '", parts[i],
                  "' holds a value, not a group of keys");
    node = next;
  }
  node->set(std::string(parts.back()), std::move(value));
}

std::vector<std::string> Config::keys() const {
  std::vector<std::string> out;
  collect_keys(root_, "", out);
  return out;
}

std::string Config::to_yaml() const {
  if (root_.entries().empty()) return "{}\n";
  std::string out;
  emit_block(root_, 0, out);
  return out;
}

}  // namespace difflut::app
