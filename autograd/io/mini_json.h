// A minimal JSON reader/writer for file headers (safetensors), standard library only. The parser
// accepts RFC 8259 JSON, keeps object keys in file order, rejects duplicate keys, and records each
// value's byte offset so callers can point at the exact spot in error messages.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace difflut::json {

struct Value {
  enum class Kind { null, boolean, number, string, array, object };
  Kind kind = Kind::null;
  bool boolean = false;
  std::string text;          // string: the decoded UTF-8 text; number: the literal as written
  std::vector<Value> items;  // array
  std::vector<std::pair<std::string, Value>> members;  // object, in file order
  size_t offset = 0;  // byte offset of the value's first character in the parsed text

  bool is_object() const { return kind == Kind::object; }
  bool is_array() const { return kind == Kind::array; }
  bool is_string() const { return kind == Kind::string; }
  bool is_number() const { return kind == Kind::number; }
  // The member called `key`, or null.
  const Value* find(std::string_view key) const;
  // True when this is a number written as a plain non-negative integer that fits in uint64 (no
  // sign, fraction or exponent); stores it in `out`.
  bool as_uint64(uint64_t& out) const;
};

const char* kind_name(Value::Kind k);

// Parses exactly one JSON value from `text` (surrounding whitespace allowed). On failure throws
// difflut::Error "<what>: invalid JSON at byte <k>: expected ..., found ...".
Value parse(std::string_view text, const std::string& what);

// Appends `s` as a JSON string literal (quotes and escapes) to `out`.
void write_string(std::string& out, std::string_view s);

}  // namespace difflut::json
