// Reading one config key as a checked value: the range-checked and defaulted readers every
// settings parser uses (settings.cpp), so each rule ("an integer >= 1", "a finite number > 0",
// "absent or null means the default") is written once. Errors are one line naming the key, what
// was expected and what was found, e.g. "config key 'training.epochs': expected an integer >= 1,
// found 0".
#pragma once
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "common/config/config.h"

namespace difflut::app {

// True when `key` exists and is not null.
bool has_value(const Config& c, std::string_view key);

// An integer >= `min`.
int64_t int_at_least(const Config& c, std::string_view key, int64_t min);
// An integer in [lo, hi].
int64_t int_in_range(const Config& c, std::string_view key, int64_t lo, int64_t hi);
// An integer in [min, INT_MAX], for a setting held in an int: a larger value is refused, not
// wrapped by the cast (node_params.degree=4294967298 trained as degree 2).
int int32_at_least(const Config& c, std::string_view key,
                   int64_t min = std::numeric_limits<int>::min());
// A finite number > 0 (>= 0 with allow_zero); integers count.
double positive_number(const Config& c, std::string_view key, bool allow_zero = false);

// Keys that older configs (e.g. a resumed run's config.yaml) may lack: absent or null gives
// `dflt`, anything else must have the type (and, for int_at_least_or, the bound).
bool bool_or(const Config& c, std::string_view key, bool dflt);
int64_t int_or(const Config& c, std::string_view key, int64_t dflt);
int64_t int_at_least_or(const Config& c, std::string_view key, int64_t min, int64_t dflt);
int int32_at_least_or(const Config& c, std::string_view key, int64_t min, int dflt);
double double_or(const Config& c, std::string_view key, double dflt);
std::string string_or(const Config& c, std::string_view key, const std::string& dflt);

}  // namespace difflut::app
