// Checked readers of single config keys (see config_values.h).
#include "common/config/config_values.h"

#include <cmath>

#include "tensor/error.h"

namespace difflut::app {

bool has_value(const Config& c, std::string_view key) {
  const ConfigNode* n = c.find(key);
  return n && !n->is_null();
}

int64_t int_at_least(const Config& c, std::string_view key, int64_t min) {
  const int64_t v = c.get_int(key);
  DIFFLUT_CHECK(v >= min, "config key '", key, "': expected an integer >= ", min, ", found ", v);
  return v;
}

int64_t int_in_range(const Config& c, std::string_view key, int64_t lo, int64_t hi) {
  const int64_t v = c.get_int(key);
  DIFFLUT_CHECK(v >= lo && v <= hi, "config key '", key, "': expected an integer in [", lo, ", ",
                hi, "], found ", v);
  return v;
}

int int32_at_least(const Config& c, std::string_view key, int64_t min) {
  return static_cast<int>(int_in_range(c, key, min, std::numeric_limits<int>::max()));
}

double positive_number(const Config& c, std::string_view key, bool allow_zero) {
  const double v = c.get_double(key);
  DIFFLUT_CHECK(std::isfinite(v) && (allow_zero ? v >= 0 : v > 0), "config key '", key,
                "': expected a finite number ", allow_zero ? ">= 0" : "> 0", ", found ", v);
  return v;
}

bool bool_or(const Config& c, std::string_view key, bool dflt) {
  return has_value(c, key) ? c.get_bool(key) : dflt;
}

int64_t int_or(const Config& c, std::string_view key, int64_t dflt) {
  return has_value(c, key) ? c.get_int(key) : dflt;
}

int64_t int_at_least_or(const Config& c, std::string_view key, int64_t min, int64_t dflt) {
  return has_value(c, key) ? int_at_least(c, key, min) : dflt;
}

int int32_at_least_or(const Config& c, std::string_view key, int64_t min, int dflt) {
  return has_value(c, key) ? int32_at_least(c, key, min) : dflt;
}

double double_or(const Config& c, std::string_view key, double dflt) {
  return has_value(c, key) ? c.get_double(key) : dflt;
}

std::string string_or(const Config& c, std::string_view key, const std::string& dflt) {
  return has_value(c, key) ? c.get_string(key) : dflt;
}

}  // namespace difflut::app
