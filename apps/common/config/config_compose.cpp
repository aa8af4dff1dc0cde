// Composition of config groups, key=value overrides typed against the composed tree, sweep
// expansion for -m, and the config directory lookup (see config_compose.h).
#include "common/config/config_compose.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "tensor/error.h"

namespace difflut::app {

namespace fs = std::filesystem;

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? std::string(sep) : "") + parts[i];
  return out;
}

// Splits at `sep` where it is outside quotes and brackets. Throws (naming `what`) on unbalanced
// brackets or an unterminated quote.
std::vector<std::string_view> split_top_level(std::string_view s, char sep, std::string_view what) {
  std::vector<std::string_view> parts;
  int depth = 0;
  char quote = 0;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (quote) {
      if (c == '\\' && i + 1 < s.size())
        ++i;
      else if (c == quote)
        quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '[' || c == '{') {
      ++depth;
    } else if (c == ']' || c == '}') {
      DIFFLUT_CHECK(--depth >= 0, what, ": unbalanced '", c, "'");
    } else if (c == sep && depth == 0) {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  DIFFLUT_CHECK(!quote, what, ": unterminated ", quote, " quote");
  DIFFLUT_CHECK(depth == 0, what, ": unbalanced brackets");
  parts.push_back(s.substr(start));
  return parts;
}

// A quoted string without its quotes; backslash escapes the next character.
std::string unquote(std::string_view s, std::string_view what) {
  const char q = s.front();
  DIFFLUT_CHECK(s.size() >= 2 && s.back() == q, what, ": unterminated ", q, " quote");
  std::string out;
  for (size_t i = 1; i + 1 < s.size(); ++i) {
    if (s[i] == '\\' && i + 2 < s.size()) ++i;
    out += s[i];
  }
  return out;
}

bool is_quoted(std::string_view s) { return !s.empty() && (s[0] == '\'' || s[0] == '"'); }

ConfigNode parse_scalar_text(std::string_view s, std::string_view what) {
  if (is_quoted(s)) return ConfigNode::string(unquote(s, what));
  DIFFLUT_CHECK(s.empty() || (s[0] != '{' && s[0] != '['), what,
                ": nested lists and {..} maps are not supported in overrides");
  return parse_plain_scalar(s);
}

}  // namespace

// ---- overrides -----------------------------------------------------------------------------------

Override parse_override(std::string_view text) {
  const size_t eq = text.find('=');
  DIFFLUT_CHECK(eq != std::string_view::npos, "override '", text,
                "': expected key=value (e.g. training.epochs=20)");
  Override ov{std::string(text), std::string(trim(text.substr(0, eq))),
              std::string(trim(text.substr(eq + 1)))};
  DIFFLUT_CHECK(!ov.key.empty(), "override '", text, "': expected key=value, found no key");
  DIFFLUT_CHECK(ov.key[0] != '+' && ov.key[0] != '~', "override '", text,
                "': adding (+) or deleting (~) keys is not supported; override an existing key");
  bool ok = ov.key.front() != '.' && ov.key.back() != '.' && ov.key.find("..") == std::string::npos;
  for (char c : ov.key)
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.');
  DIFFLUT_CHECK(ok, "override '", text,
                "': expected a dotted key of letters, digits, '_' and '-', found '", ov.key, "'");
  return ov;
}

ConfigNode parse_override_value(const Override& ov) {
  const std::string_view v = ov.value;
  const auto parts = split_top_level(v, ',', ov.text);
  DIFFLUT_CHECK(parts.size() == 1, ov.text,
                ": a comma-separated value is a sweep; run it with -m, or quote the value");
  if (is_quoted(v)) return ConfigNode::string(unquote(v, ov.text));
  if (v.empty()) return ConfigNode::string("");  // Hydra: `key=` sets the empty string
  if (v.front() == '[') {
    DIFFLUT_CHECK(v.back() == ']', ov.text, ": expected a list ending in ']'");
    std::vector<ConfigNode> items;
    const std::string_view inner = trim(v.substr(1, v.size() - 2));
    if (!inner.empty()) {
      for (std::string_view item : split_top_level(inner, ',', ov.text)) {
        item = trim(item);
        DIFFLUT_CHECK(!item.empty(), ov.text, ": empty item in the list");
        items.push_back(parse_scalar_text(item, ov.text));
      }
    }
    return ConfigNode::list(std::move(items));
  }
  return parse_scalar_text(v, ov.text);
}

namespace {

// The override's value converted to `kind`, or a one-line error naming the override.
ConfigNode coerce_scalar(const ConfigNode& v, std::string_view raw, ConfigNode::Kind kind,
                         const Override& ov) {
  using K = ConfigNode::Kind;
  const auto fail = [&](const char* expected) {
    DIFFLUT_FAIL(ov.text, ": expected ", expected, ", found ", v.describe());
  };
  switch (kind) {
    case K::kBool:
      if (v.kind() != K::kBool) fail("a boolean (true or false)");
      return v;
    case K::kInt:
      if (v.kind() != K::kInt) fail("an integer");
      return v;
    case K::kDouble:
      if (v.kind() != K::kInt && v.kind() != K::kDouble) fail("a number");
      return ConfigNode::real(v.as_double());
    case K::kString:
      if (!v.is_scalar()) fail("a string");
      // Keep the text as written (e.g. experiment_name=007 stays "007").
      return v.kind() == K::kString ? v : ConfigNode::string(std::string(raw));
    default: return v;
  }
}

}  // namespace

void apply_override(Config& config, const Override& ov) {
  using K = ConfigNode::Kind;
  ConfigNode* target = config.find(ov.key);
  if (!target) (void)config.at(ov.key);  // throws "unknown config key ... (did you mean ...)"
  DIFFLUT_CHECK(!target->is_map(), ov.text, ": '", ov.key, "' is ", target->describe(),
                ", not a value; override one of its keys");
  const ConfigNode value = parse_override_value(ov);
  if (value.is_null() || target->is_null()) {
    *target = value;
    return;
  }
  if (target->is_list()) {
    DIFFLUT_CHECK(value.is_list(), ov.text, ": expected a list like [1, 2], found ",
                  value.describe());
    // Items must fit the type the old items share (a list of ints stays a list of ints).
    const auto& old_items = target->items();
    const bool uniform =
        !old_items.empty() && old_items.front().is_scalar() && !old_items.front().is_null() &&
        std::all_of(old_items.begin(), old_items.end(),
                    [&](const ConfigNode& n) { return n.kind() == old_items.front().kind(); });
    std::vector<ConfigNode> items;
    for (const ConfigNode& item : value.items()) {
      if (!uniform) {
        items.push_back(item);
        continue;
      }
      const K kind = old_items.front().kind();
      const bool fits = item.kind() == kind || (kind == K::kDouble && item.kind() == K::kInt) ||
                        (kind == K::kString && item.is_scalar() && !item.is_null());
      DIFFLUT_CHECK(fits, ov.text, ": expected a list of ",
                    kind == K::kInt      ? "integers"
                    : kind == K::kDouble ? "numbers"
                    : kind == K::kBool   ? "booleans"
                                         : "strings",
                    ", found ", value.describe());
      items.push_back(coerce_scalar(item, item.to_flow(), kind, ov));
    }
    *target = ConfigNode::list(std::move(items));
    return;
  }
  *target = coerce_scalar(value, ov.value, target->kind(), ov);
}

// ---- composition ---------------------------------------------------------------------------------

std::vector<std::string> group_options(const std::string& config_dir, const std::string& group) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::path(config_dir) / group, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".yaml")
      out.push_back(entry.path().stem().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

struct DefaultsEntry {
  std::string group;  // empty for _self_
  std::string option;
};

// The `defaults:` list of the base file: `- group: option` entries and `- _self_`.
std::vector<DefaultsEntry> read_defaults(const ConfigNode& list, const std::string& file) {
  DIFFLUT_CHECK(list.is_list(), file, ": expected `defaults:` to be a list, found ",
                list.describe());
  std::vector<DefaultsEntry> out;
  for (const ConfigNode& item : list.items()) {
    if (item.kind() == ConfigNode::Kind::kString && item.as_string() == "_self_") {
      out.push_back({});
      continue;
    }
    DIFFLUT_CHECK(item.is_map() && item.entries().size() == 1 &&
                      item.entries()[0].second.kind() == ConfigNode::Kind::kString,
                  file, ": expected `defaults:` entries like `- model: dwn` or `- _self_`, found ",
                  item.to_flow());
    out.push_back({item.entries()[0].first, item.entries()[0].second.as_string()});
  }
  return out;
}

void check_option(const std::string& config_dir, const std::string& group,
                  const std::string& option, const std::string& context) {
  if (fs::is_regular_file(fs::path(config_dir) / group / (option + ".yaml"))) return;
  const std::vector<std::string> known = group_options(config_dir, group);
  DIFFLUT_FAIL(context, ": unknown option '", option, "' for config group '", group,
               "' (known: ", known.empty() ? std::string("none") : join(known, ", "), ")");
}

}  // namespace

Config compose_config(const ComposeOptions& options, const std::vector<std::string>& overrides) {
  const std::string& dir = options.config_dir;
  const std::string base_file = (fs::path(dir) / (options.config_name + ".yaml")).string();
  ConfigNode base = load_yaml_file(base_file);
  if (base.is_null()) base = ConfigNode::map();
  DIFFLUT_CHECK(base.is_map(), base_file, ": expected a map of keys at the top level, found ",
                base.describe());
  std::vector<DefaultsEntry> defaults;
  if (const ConfigNode* list = base.find("defaults")) {
    defaults = read_defaults(*list, base_file);
    base.erase("defaults");
  }
  for (const DefaultsEntry& d : defaults)
    if (!d.group.empty()) check_option(dir, d.group, d.option, base_file);

  // Group selections first, wherever they stand on the command line (as in Hydra).
  std::vector<Override> values;
  for (const std::string& text : overrides) {
    Override ov = parse_override(text);
    const bool in_defaults = std::any_of(defaults.begin(), defaults.end(),
                                         [&](const DefaultsEntry& d) { return d.group == ov.key; });
    const bool is_group = ov.key.find('.') == std::string::npos &&
                          (in_defaults || fs::is_directory(fs::path(dir) / ov.key));
    if (!is_group) {
      values.push_back(std::move(ov));
      continue;
    }
    const ConfigNode option = parse_override_value(ov);
    DIFFLUT_CHECK(option.kind() == ConfigNode::Kind::kString, ov.text,
                  ": expected the name of a config in ", ov.key, "/, found ", option.describe());
    check_option(dir, ov.key, option.as_string(), ov.text);
    auto it = std::find_if(defaults.begin(), defaults.end(),
                           [&](const DefaultsEntry& d) { return d.group == ov.key; });
    if (it != defaults.end())
      it->option = option.as_string();
    else
      defaults.push_back({ov.key, option.as_string()});
  }
  // `_self_` unlisted means last: the base file's own values win over its groups'.
  if (std::none_of(defaults.begin(), defaults.end(),
                   [](const DefaultsEntry& d) { return d.group.empty(); }))
    defaults.push_back({});

  ConfigNode composed = ConfigNode::map();
  for (const DefaultsEntry& d : defaults) {
    if (d.group.empty()) {
      composed.merge(base);
      continue;
    }
    const std::string file = (fs::path(dir) / d.group / (d.option + ".yaml")).string();
    ConfigNode group = load_yaml_file(file);
    if (group.is_null()) group = ConfigNode::map();
    DIFFLUT_CHECK(!group.is_map() || !group.find("defaults"), file,
                  ": `defaults:` lists inside config groups are not supported");
    ConfigNode wrapped = ConfigNode::map();
    wrapped.set(d.group, std::move(group));
    composed.merge(wrapped);
  }
  Config config(std::move(composed));
  for (const Override& ov : values) apply_override(config, ov);
  return config;
}

// ---- multirun ------------------------------------------------------------------------------------

std::vector<std::vector<std::string>> expand_multirun(const std::vector<std::string>& overrides) {
  struct Axis {
    std::vector<std::string> texts;  // one full "key=value" per swept value
  };
  std::vector<Axis> axes;  // one per override, fixed ones have a single text
  for (const std::string& text : overrides) {
    const Override ov = parse_override(text);
    Axis axis;
    for (std::string_view part : split_top_level(ov.value, ',', ov.text)) {
      part = trim(part);
      DIFFLUT_CHECK(!part.empty() || ov.value.empty(), ov.text, ": empty value in the sweep");
      axis.texts.push_back(ov.key + "=" + std::string(part));
    }
    axes.push_back(std::move(axis));
  }
  // Odometer over the axes, the last one turning fastest.
  std::vector<std::vector<std::string>> sets;
  std::vector<size_t> index(axes.size(), 0);
  while (true) {
    std::vector<std::string> set;
    for (size_t a = 0; a < axes.size(); ++a) set.push_back(axes[a].texts[index[a]]);
    sets.push_back(std::move(set));
    size_t a = axes.size();
    while (a > 0) {
      --a;
      if (++index[a] < axes[a].texts.size()) break;
      index[a] = 0;
      if (a == 0) return sets;
    }
    if (axes.empty()) return sets;
  }
}

// ---- files and directories -----------------------------------------------------------------------

std::string read_config_text(const std::string& path) {
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  // A size limit before reading: a multi-gigabyte "config" would otherwise be read and parsed
  // whole. Shipped configs and run dumps are a few kB.
  DIFFLUT_CHECK(ec || size <= kMaxConfigBytes, "config file '", path, "': expected at most ",
                kMaxConfigBytes, " bytes, found ", size);
  std::ifstream in(path, std::ios::binary);
  DIFFLUT_CHECK(in.good(), "config file '", path, "': cannot open it (missing or unreadable)");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  DIFFLUT_CHECK(!in.bad(), "config file '", path, "': read error");
  return text;
}

Config load_config_file(const std::string& path) {
  ConfigNode root = load_yaml_file(path);
  if (root.is_null()) root = ConfigNode::map();
  DIFFLUT_CHECK(root.is_map(), path, ": expected a map of keys at the top level, found ",
                root.describe());
  DIFFLUT_CHECK(!root.find("defaults"), path,
                ": has a `defaults:` list; compose it (--config-dir/--config-name) instead");
  return Config(std::move(root));
}

void save_config_file(const Config& config, const std::string& path) {
  const fs::path p(path);
  std::error_code ec;
  if (p.has_parent_path()) fs::create_directories(p.parent_path(), ec);
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  DIFFLUT_CHECK(out.good(), path, ": cannot open for writing");
  out << "# Resolved DiffLUT configuration: every key after composition and overrides.\n"
      << config.to_yaml();
  out.flush();
  DIFFLUT_CHECK(out.good(), path, ": write failed");
}

std::string resolve_config_dir(const std::optional<std::string>& flag,
                               const std::string& config_name,
                               const std::optional<std::string>& exe_path,
                               const std::optional<std::string>& cwd) {
  const std::string base = config_name + ".yaml";
  const auto has_base = [&](const fs::path& dir) {
    std::error_code ec;
    return fs::is_regular_file(dir / base, ec);
  };
  const auto normal = [](const fs::path& p) {
    std::error_code ec;
    const fs::path abs = fs::absolute(p, ec);
    return (ec ? p : abs).lexically_normal().string();
  };
  const auto explicit_dir = [&](const std::string& dir, const char* source) {
    DIFFLUT_CHECK(has_base(dir), source, " '", dir, "': expected a directory holding ", base,
                  ", found ",
                  fs::is_directory(dir) ? "no " + base : std::string("no such directory"));
    return normal(dir);
  };
  if (flag) return explicit_dir(*flag, "--config-dir");
  if (const char* env = std::getenv("DIFFLUT_CONFIG_DIR"); env && *env)
    return explicit_dir(env, "DIFFLUT_CONFIG_DIR");

  // ./configs: a project directory with its own configs wins over the installed ones.
  fs::path here;
  if (cwd) {
    here = *cwd;
  } else {
    std::error_code ec;
    here = fs::current_path(ec);
  }
  if (!here.empty() && has_base(here / "configs")) return normal(here / "configs");

  fs::path exe;
  if (exe_path) {
    exe = *exe_path;
  } else {
    std::error_code ec;
    exe = fs::read_symlink("/proc/self/exe", ec);
  }
  if (!exe.empty()) {
    const fs::path exe_dir = fs::absolute(exe).parent_path();
    // Installed: <prefix>/bin/<app> with <prefix>/share/difflut/configs (CMake's install rule);
    // then a copied tree <dir>/bin + <dir>/configs; then the source tree above a build directory.
    for (const fs::path& dir :
         {exe_dir / ".." / "share" / "difflut" / "configs", exe_dir / ".." / "configs"})
      if (has_base(dir)) return normal(dir);
    for (fs::path p = exe_dir;; p = p.parent_path()) {
      if (has_base(p / "configs")) return normal(p / "configs");
      if (p == p.parent_path()) break;
    }
  }
  DIFFLUT_FAIL("no config directory found: looked for ", base, " in $DIFFLUT_CONFIG_DIR (unset), ",
               "./configs, <executable dir>/../share/difflut/configs, <executable dir>/../configs ",
               "and configs/ beside every parent of ",
               exe.empty() ? std::string("the executable") : exe.parent_path().string(),
               "; pass --config-dir DIR or set DIFFLUT_CONFIG_DIR");
}

// Builds without yaml-cpp read configs with the subset parser in config_yaml_subset.cpp.

}  // namespace difflut::app
