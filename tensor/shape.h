// Shapes are plain vectors of extents; helpers to count elements and print them in error messages.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tensor/error.h"

namespace difflut {

using Shape = std::vector<int64_t>;

inline std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(s[i]);
  }
  return out + "]";
}

// Out of line and cold so the hot path of shape_numel stays a few multiplies.
[[noreturn, gnu::cold, gnu::noinline]] inline void shape_numel_overflow(const Shape& s) {
  DIFFLUT_FAIL("shape ", shape_str(s), ": the element count overflows int64 (more than ", INT64_MAX,
               " elements)");
}

// The product of the extents. Every multiply is overflow-checked: shapes come from files (IDX
// headers, checkpoints) as well as from code, and a wrapped product would make a tensor whose shape
// claims more elements than its storage holds. Throws difflut::Error on overflow.
inline int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    if (__builtin_mul_overflow(n, d, &n)) shape_numel_overflow(s);
  }
  return n;
}

}  // namespace difflut
