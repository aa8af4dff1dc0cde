// gzip-compressing bytes for the data tests (the readers' .gz paths); needs zlib, so only the
// *_zlib and *_full test files include it.
#pragma once
#include <zlib.h>

#include <cstdint>
#include <vector>

#include "doctest/doctest.h"

namespace difflut::test {

// One gzip member holding `in` (deflate level 6, as gzip's default).
inline std::vector<uint8_t> gzip_bytes(const std::vector<uint8_t>& in) {
  z_stream zs{};
  REQUIRE(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::vector<uint8_t> out(deflateBound(&zs, static_cast<uLong>(in.size())));
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

}  // namespace difflut::test
