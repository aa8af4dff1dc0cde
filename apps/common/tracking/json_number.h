// The JSON text of a double as the tracking records write it: %.17g (round-trips exactly), null
// for NaN and infinities. The database's config column, the checkpoint's history metadata and
// difflut-query's JSON output all use it, so a value reads the same everywhere (and the config
// fingerprints of stored rows stay valid).
#pragma once
#include <cmath>
#include <cstdio>
#include <string>

namespace difflut::app {

inline std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace difflut::app
