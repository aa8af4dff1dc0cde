// Minimal JSON parser and string writer (see mini_json.h).
#include "autograd/io/mini_json.h"

#include "tensor/error.h"

namespace difflut::json {

const Value* Value::find(std::string_view key) const {
  for (const auto& [k, v] : members)
    if (k == key) return &v;
  return nullptr;
}

bool Value::as_uint64(uint64_t& out) const {
  if (kind != Kind::number || text.empty()) return false;
  uint64_t v = 0;
  for (char ch : text) {
    if (ch < '0' || ch > '9') return false;
    const uint64_t d = static_cast<uint64_t>(ch - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

const char* kind_name(Value::Kind k) {
  switch (k) {
    case Value::Kind::null: return "null";
    case Value::Kind::boolean: return "a boolean";
    case Value::Kind::number: return "a number";
    case Value::Kind::string: return "a string";
    case Value::Kind::array: return "an array";
    case Value::Kind::object: return "an object";
  }
  return "?";
}

namespace {

// Nesting limit: headers are two levels deep; this only guards the recursion against hostile input.
constexpr int kMaxDepth = 64;

std::string describe_char(std::string_view s, size_t pos) {
  if (pos >= s.size()) return "end of text";
  const unsigned char c = static_cast<unsigned char>(s[pos]);
  if (c >= 0x20 && c < 0x7f) return str_cat("'", static_cast<char>(c), "'");
  static const char* hex = "0123456789abcdef";
  return str_cat("byte 0x", hex[c >> 4], hex[c & 15]);
}

class Parser {
 public:
  Parser(std::string_view s, const std::string& what) : s_(s), what_(what) {}

  Value parse_document() {
    skip_ws();
    Value v = parse_value(0);
    skip_ws();
    if (pos_ != s_.size()) fail("end of JSON after the top-level value");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& expected) const {
    DIFFLUT_FAIL(what_, ": invalid JSON at byte ", pos_, ": expected ", expected, ", found ",
                 describe_char(s_, pos_));
  }
  void skip_ws() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }
  bool peek(char c) const { return pos_ < s_.size() && s_[pos_] == c; }
  void expect(char c, const char* what) {
    if (!peek(c)) fail(what);
    ++pos_;
  }
  void expect_word(std::string_view w) {
    if (s_.substr(pos_, w.size()) != w) fail(str_cat("'", w, "'"));
    pos_ += w.size();
  }

  Value parse_value(int depth) {
    if (depth > kMaxDepth) fail(str_cat("at most ", kMaxDepth, " levels of nesting"));
    Value v;
    v.offset = pos_;
    if (pos_ >= s_.size()) fail("a value");
    const char c = s_[pos_];
    if (c == '{') {
      v.kind = Value::Kind::object;
      parse_object(v, depth);
    } else if (c == '[') {
      v.kind = Value::Kind::array;
      parse_array(v, depth);
    } else if (c == '"') {
      v.kind = Value::Kind::string;
      v.text = parse_string();
    } else if (c == 't') {
      expect_word("true");
      v.kind = Value::Kind::boolean;
      v.boolean = true;
    } else if (c == 'f') {
      expect_word("false");
      v.kind = Value::Kind::boolean;
    } else if (c == 'n') {
      expect_word("null");
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      v.kind = Value::Kind::number;
      v.text = parse_number();
    } else {
      fail("a value (object, array, string, number, true, false or null)");
    }
    return v;
  }

  void parse_object(Value& v, int depth) {
    ++pos_;  // '{'
    skip_ws();
    if (peek('}')) {
      ++pos_;
      return;
    }
    for (;;) {
      skip_ws();
      const size_t key_at = pos_;
      if (!peek('"')) fail("a string key");
      std::string key = parse_string();
      for (const auto& [k, _] : v.members) {
        if (k == key) {
          pos_ = key_at;
          fail(str_cat("a key not used before in this object (\"", key, "\" is a duplicate)"));
        }
      }
      skip_ws();
      expect(':', "':' after an object key");
      skip_ws();
      Value member = parse_value(depth + 1);
      v.members.emplace_back(std::move(key), std::move(member));
      skip_ws();
      if (peek(',')) {
        ++pos_;
        continue;
      }
      expect('}', "',' or '}' in an object");
      return;
    }
  }

  void parse_array(Value& v, int depth) {
    ++pos_;  // '['
    skip_ws();
    if (peek(']')) {
      ++pos_;
      return;
    }
    for (;;) {
      skip_ws();
      v.items.push_back(parse_value(depth + 1));
      skip_ws();
      if (peek(',')) {
        ++pos_;
        continue;
      }
      expect(']', "',' or ']' in an array");
      return;
    }
  }

  unsigned parse_hex4() {
    unsigned u = 0;
    for (int i = 0; i < 4; ++i) {
      if (pos_ >= s_.size()) fail("4 hex digits after \\u");
      const char h = s_[pos_];
      unsigned d;
      if (h >= '0' && h <= '9')
        d = static_cast<unsigned>(h - '0');
      else if (h >= 'a' && h <= 'f')
        d = static_cast<unsigned>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F')
        d = static_cast<unsigned>(h - 'A' + 10);
      else
        fail("4 hex digits after \\u");
      u = u * 16 + d;
      ++pos_;
    }
    return u;
  }

  static void append_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::string parse_string() {
    ++pos_;  // opening quote
    std::string out;
    for (;;) {
      if (pos_ >= s_.size()) fail("a closing '\"'");
      const unsigned char c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c < 0x20) fail("no raw control characters inside a string (escape them)");
      if (c != '\\') {
        out += static_cast<char>(c);  // UTF-8 bytes pass through unchanged
        ++pos_;
        continue;
      }
      ++pos_;
      if (pos_ >= s_.size()) fail("an escape character after '\\'");
      const char e = s_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp = parse_hex4();
          if (cp >= 0xD800 && cp < 0xDC00) {  // high surrogate: a low one must follow
            if (s_.substr(pos_, 2) != "\\u") fail("a low surrogate \\uDC00-\\uDFFF");
            pos_ += 2;
            const unsigned lo = parse_hex4();
            if (lo < 0xDC00 || lo >= 0xE000) fail("a low surrogate \\uDC00-\\uDFFF");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp < 0xE000) {
            fail("no lone low surrogate");
          }
          append_utf8(out, cp);
          break;
        }
        default: --pos_; fail("one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u");
      }
    }
  }

  std::string parse_number() {
    const size_t start = pos_;
    auto digit = [&] { return pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9'; };
    if (peek('-')) ++pos_;
    if (peek('0')) {
      ++pos_;
    } else if (digit()) {
      while (digit()) ++pos_;
    } else {
      fail("a digit");
    }
    if (peek('.')) {
      ++pos_;
      if (!digit()) fail("a digit after '.'");
      while (digit()) ++pos_;
    }
    if (peek('e') || peek('E')) {
      ++pos_;
      if (peek('+') || peek('-')) ++pos_;
      if (!digit()) fail("a digit in the exponent");
      while (digit()) ++pos_;
    }
    return std::string(s_.substr(start, pos_ - start));
  }

  std::string_view s_;
  const std::string& what_;
  size_t pos_ = 0;
};

}  // namespace

Value parse(std::string_view text, const std::string& what) {
  return Parser(text, what).parse_document();
}

void write_string(std::string& out, std::string_view s) {
  static const char* hex = "0123456789abcdef";
  out += '"';
  for (char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

}  // namespace difflut::json
