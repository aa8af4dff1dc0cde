// Helpers for the data tests: write byte files and build IDX images in memory.
#pragma once
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "test_util.h"

namespace difflut::test {

// doctest::Contains for a std::string (doctest only converts C strings).
inline doctest::Contains has(const std::string& s) { return doctest::Contains(s.c_str()); }

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  REQUIRE(out.good());
}

// An IDX u8 file: 00 00 08 <ndims>, big-endian u32 extents, payload.
inline std::vector<uint8_t> make_idx(const std::vector<uint32_t>& dims,
                                     const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> b = {0, 0, 0x08, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(d >> s));
  }
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

// n * h * w bytes with a pattern that differs per sample and position.
inline std::vector<uint8_t> pattern_bytes(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>((i * 37 + i / 7) & 0xFF);
  return v;
}

}  // namespace difflut::test
