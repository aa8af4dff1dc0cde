// Reading YAML configs in builds without yaml-cpp (DIFFLUT_MINIMAL, e.g. on a GPU machine with only
// the CUDA toolkit): a parser for the block-YAML subset our config files use — nested maps by
// indentation, block lists ("- item", including "- key: value" items), flow lists of scalars
// ("[2000, 1000]"), quoted and plain scalars, comments. Anything else is an error naming file:line.
// Plain scalars are typed by parse_plain_scalar, exactly as in the yaml-cpp build. It is compiled
// in every build so tests can compare it with yaml-cpp on the shipped configs.
#include <sstream>
#include <string>
#include <vector>

#include "common/config/config_compose.h"
#include "tensor/error.h"

namespace difflut::app {

namespace {

struct Line {
  int indent;
  std::string text;  // without indentation and comment
  int number;        // 1-based
};

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t\r");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

// Drops a comment: '#' at the start or after whitespace, outside quotes.
std::string strip_comment(const std::string& s) {
  char quote = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '#' && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t')) {
      return s.substr(0, i);
    }
  }
  return s;
}

// Position of the ':' that separates a key from its value (followed by space or end), or npos.
size_t key_colon(const std::string& s) {
  if (s.empty() || s[0] == '"' || s[0] == '\'' || s[0] == '[' || s[0] == '{')
    return std::string::npos;
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] == ':' && (i + 1 == s.size() || s[i + 1] == ' ')) return i;
  return std::string::npos;
}

bool is_list_item(const std::string& s) { return s == "-" || s.rfind("- ", 0) == 0; }

class Parser {
 public:
  Parser(std::vector<Line> lines, std::string source)
      : lines_(std::move(lines)), source_(std::move(source)) {}

  ConfigNode parse_document() {
    if (lines_.empty()) return ConfigNode::null();
    ConfigNode root = parse_block(lines_[0].indent);
    if (pos_ < lines_.size()) fail(lines_[pos_], "unexpected indentation");
    return root;
  }

 private:
  [[noreturn]] void fail(const Line& l, const std::string& what) {
    DIFFLUT_FAIL(source_, ":", l.number, ": ", what,
                 " (this build reads a YAML subset: block maps and lists, flow lists of scalars)");
  }

  [[noreturn]] void no_alias(const Line& l, const std::string& text) {
    const size_t end = text.find_first_of(" \t,]");
    const std::string name = text.substr(0, end);
    DIFFLUT_FAIL(source_, ":", l.number, ": ", text[0] == '&' ? "an anchor (" : "an alias (", name,
                 ")", kNoAliasesNote);
  }

  // Nesting is bounded so a hostile file (thousands of ever deeper lines) cannot exhaust the stack;
  // configs nest four or five levels.
  static constexpr int kMaxDepth = 64;

  ConfigNode parse_block(int indent) {
    if (depth_ >= kMaxDepth)
      fail(lines_[pos_], "nesting deeper than " + std::to_string(kMaxDepth) + " levels");
    ++depth_;
    ConfigNode node = is_list_item(lines_[pos_].text) ? parse_list(indent) : parse_map(indent);
    --depth_;
    return node;
  }

  ConfigNode parse_map(int indent) {
    ConfigNode map = ConfigNode::map();
    while (pos_ < lines_.size() && lines_[pos_].indent == indent &&
           !is_list_item(lines_[pos_].text)) {
      const Line line = lines_[pos_];
      const size_t colon = key_colon(line.text);
      if (colon == std::string::npos)
        fail(line, "expected 'key: value', found '" + line.text + "'");
      const std::string key = trim(line.text.substr(0, colon));
      const std::string rest = trim(line.text.substr(colon + 1));
      if (key[0] == '&' || key[0] == '*') no_alias(line, key);
      if (map.find(key)) fail(line, "duplicate key '" + key + "'");
      if (key.find('.') != std::string::npos)
        fail(line, "key '" + key + "' contains '.', which separates the parts of dotted keys");
      ++pos_;
      map.set(key, rest.empty() ? nested_value(indent, line) : scalar_or_flow(rest, line));
    }
    return map;
  }

  // The value of "key:" with nothing after it: a deeper block, a list at the same indent, or null.
  ConfigNode nested_value(int indent, const Line&) {
    if (pos_ >= lines_.size()) return ConfigNode::null();
    const Line& next = lines_[pos_];
    if (next.indent > indent) return parse_block(next.indent);
    if (next.indent == indent && is_list_item(next.text)) return parse_list(indent);
    return ConfigNode::null();
  }

  ConfigNode parse_list(int indent) {
    std::vector<ConfigNode> items;
    while (pos_ < lines_.size() && lines_[pos_].indent == indent &&
           is_list_item(lines_[pos_].text)) {
      Line& line = lines_[pos_];
      const std::string rest = trim(line.text.substr(1));
      if (rest.empty()) {
        ++pos_;
        items.push_back(pos_ < lines_.size() && lines_[pos_].indent > indent
                            ? parse_block(lines_[pos_].indent)
                            : ConfigNode::null());
      } else if (key_colon(rest) != std::string::npos) {
        // "- key: value": a map whose keys start at the column after "- ".
        const int column = indent + static_cast<int>(line.text.find(rest));
        line.indent = column;
        line.text = rest;
        items.push_back(parse_map(column));
      } else {
        ++pos_;
        items.push_back(scalar_or_flow(rest, line));
      }
    }
    return ConfigNode::list(std::move(items));
  }

  ConfigNode scalar_or_flow(const std::string& text, const Line& line) {
    if (text[0] == '{') fail(line, "flow maps are not supported");
    if (text[0] != '[') return scalar(text, line);
    if (text.back() != ']') fail(line, "unterminated flow list '" + text + "'");
    std::vector<ConfigNode> items;
    const std::string inner = trim(text.substr(1, text.size() - 2));
    if (inner.empty()) return ConfigNode::list();
    std::string item;
    char quote = 0;
    for (size_t i = 0; i <= inner.size(); ++i) {
      const char c = i < inner.size() ? inner[i] : ',';
      if (quote) {
        if (c == quote) quote = 0;
        item += c;
      } else if (c == '\'' || c == '"') {
        quote = c;
        item += c;
      } else if (c == '[' || c == '{') {
        fail(line, "nested flow collections are not supported");
      } else if (c == ',') {
        const std::string t = trim(item);
        if (t.empty()) fail(line, "empty item in flow list '" + text + "'");
        items.push_back(scalar(t, line));
        item.clear();
      } else {
        item += c;
      }
    }
    return ConfigNode::list(std::move(items));
  }

  ConfigNode scalar(const std::string& text, const Line& line) {
    const char q = text[0];
    // The same refusal as the yaml-cpp build (config_compose.h, kNoAliasesNote).
    if (q == '&' || q == '*') no_alias(line, text);
    if (q == '"' || q == '\'') {
      if (text.size() < 2 || text.back() != q) fail(line, "unterminated quoted string " + text);
      return ConfigNode::string(text.substr(1, text.size() - 2));
    }
    return parse_plain_scalar(text);
  }

  std::vector<Line> lines_;
  std::string source_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

ConfigNode parse_yaml_subset(const std::string& text, const std::string& source) {
  std::vector<Line> lines;
  std::istringstream in(text);
  std::string raw;
  int number = 0;
  while (std::getline(in, raw)) {
    ++number;
    if (raw.find('\t') != std::string::npos && raw.find_first_not_of(" \t") != std::string::npos &&
        raw.find_first_not_of(' ') < raw.find_first_not_of(" \t") + 1 &&
        raw[raw.find_first_not_of(' ')] == '\t')
      DIFFLUT_FAIL(source, ":", number, ": tabs are not allowed for indentation in YAML");
    const std::string body = strip_comment(raw);
    const std::string t = trim(body);
    if (t.empty() || t == "---") continue;
    lines.push_back(Line{static_cast<int>(body.find_first_not_of(' ')), t, number});
  }
  return Parser(std::move(lines), source).parse_document();
}

#if !defined(DIFFLUT_WITH_YAML)
ConfigNode parse_yaml_string(const std::string& text, const std::string& source) {
  return parse_yaml_subset(text, source);
}

ConfigNode load_yaml_file(const std::string& path) {
  return parse_yaml_string(read_config_text(path), path);
}

#endif

}  // namespace difflut::app
