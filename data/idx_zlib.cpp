// gzip decompression for the dataset readers (MNIST / Fashion-MNIST ship as .gz IDX files), with
// the output bounded by a hard cap and by the size the content declares (see file_io.h).
#include <zlib.h>

#include <algorithm>
#include <limits>

#include "data/file_io.h"
#include "tensor/error.h"

namespace difflut {

namespace {
// Each gzip member ends with ISIZE, its uncompressed size mod 2^32 (little endian): a good first
// guess for the output buffer of single-member files. Deflate expands at most ~1032x, so a larger
// value is corrupt and is capped rather than trusted. It is only a hint for the first allocation:
// zlib checks every member's ISIZE when the member ends, and the output limits below do the rest.
size_t isize_hint(const std::vector<uint8_t>& c) {
  if (c.size() < 18) return 0;
  const size_t n = c.size();
  const size_t isize = static_cast<size_t>(c[n - 4]) | static_cast<size_t>(c[n - 3]) << 8 |
                       static_cast<size_t>(c[n - 2]) << 16 | static_cast<size_t>(c[n - 1]) << 24;
  return std::min(isize, n * 1032);
}

struct InflateGuard {
  z_stream* zs;
  ~InflateGuard() { inflateEnd(zs); }
};
}  // namespace

std::vector<uint8_t> gunzip_bytes(const std::vector<uint8_t>& compressed, const std::string& path,
                                  const DeclaredSizeFn& declared, uint64_t max_bytes) {
  DIFFLUT_CHECK(compressed.size() <= std::numeric_limits<uInt>::max(), path,
                ": compressed file of ", compressed.size(), " bytes is too large for one pass");
  z_stream zs{};
  // 15 + 16: a gzip wrapper (not raw deflate, not zlib) with the largest window.
  DIFFLUT_CHECK(inflateInit2(&zs, 15 + 16) == Z_OK, path, ": zlib could not start inflating");
  InflateGuard guard{&zs};
  zs.next_in = const_cast<Bytef*>(compressed.data());
  zs.avail_in = static_cast<uInt>(compressed.size());

  // limit + 1 must not wrap, whatever DIFFLUT_GUNZIP_MAX_BYTES says.
  max_bytes = std::min<uint64_t>(max_bytes, std::numeric_limits<size_t>::max() / 2);
  // The output may hold at most `limit` bytes: the hard cap until the content declares its size,
  // then that size. Inflating into a buffer of limit + 1 bytes is what detects "more than the
  // limit" without ever producing (or allocating) more than one byte beyond it.
  uint64_t limit = max_bytes;
  std::optional<DeclaredSize> decl;
  auto fail_over_limit = [&](uint64_t produced) {
    if (decl) {
      DIFFLUT_FAIL(path, ": the decompressed data is longer than the ", decl->bytes, " bytes ",
                   decl->what,
                   " declares (unexpected trailing bytes or a gzip bomb; stopped "
                   "after ",
                   produced, " bytes)");
    }
    DIFFLUT_FAIL(path, ": gzip data decompresses to more than ", max_bytes,
                 " bytes, the limit for decompressed inputs (a gzip bomb? set "
                 "DIFFLUT_GUNZIP_MAX_BYTES to raise it)");
  };

  // Without a declared size, ISIZE sizes the first buffer; with one, the declaration does.
  constexpr size_t kProbeBytes = 4096;
  const size_t first = declared ? (1 << 16) : std::max<size_t>(isize_hint(compressed), 1 << 16);
  std::vector<uint8_t> out;
  out.resize(static_cast<size_t>(std::min<uint64_t>(first, limit + 1)));
  size_t produced = 0;
  for (;;) {
    if (produced == out.size()) {
      if (produced > limit) fail_over_limit(produced);
      out.resize(static_cast<size_t>(std::min<uint64_t>(uint64_t{out.size()} * 2, limit + 1)));
    }
    size_t room = std::min<size_t>(out.size() - produced, std::numeric_limits<uInt>::max());
    // Until the content has declared its size, inflate in small steps: the header is in the
    // first bytes, and a bomb must not expand into a large buffer before it is looked at.
    if (declared && !decl && produced < kProbeBytes) room = std::min(room, kProbeBytes);
    zs.next_out = out.data() + produced;
    zs.avail_out = static_cast<uInt>(room);
    const int ret = inflate(&zs, Z_NO_FLUSH);
    produced += room - zs.avail_out;
    if (produced > limit) fail_over_limit(produced);
    if (declared && !decl) {
      decl = declared(out.data(), produced);
      if (decl) {
        DIFFLUT_CHECK(decl->bytes <= max_bytes, path, ": ", decl->what, " declares ", decl->bytes,
                      " bytes, more than the limit of ", max_bytes,
                      " bytes for decompressed inputs (set DIFFLUT_GUNZIP_MAX_BYTES to raise it)");
        limit = decl->bytes;
        if (produced > limit) fail_over_limit(produced);
        // The declared size is now the exact target: one allocation, plus the detecting byte.
        out.resize(static_cast<size_t>(limit + 1));
      }
    }
    const size_t at = compressed.size() - zs.avail_in;  // compressed bytes consumed so far
    if (ret == Z_STREAM_END) {
      // Concatenated members are one file to gunzip; anything else after the stream is an error
      // unless it is zero padding (written by some tape/archive tools).
      if (zs.avail_in == 0) break;
      if (zs.avail_in >= 2 && zs.next_in[0] == 0x1f && zs.next_in[1] == 0x8b) {
        DIFFLUT_CHECK(inflateReset(&zs) == Z_OK, path, ": zlib could not restart at byte ", at);
        continue;
      }
      const bool zeros =
          std::all_of(zs.next_in, zs.next_in + zs.avail_in, [](Bytef b) { return b == 0; });
      DIFFLUT_CHECK(zeros, path, ": unexpected ", zs.avail_in,
                    " bytes after the end of the gzip data at compressed byte ", at);
      break;
    }
    if (ret == Z_OK) continue;
    if (ret == Z_BUF_ERROR && zs.avail_in == 0) {
      DIFFLUT_FAIL(path, ": gzip data ends early: the stream is incomplete after all ", at,
                   " compressed bytes (", produced, " bytes decompressed so far; truncated?)");
    }
    if (ret == Z_BUF_ERROR) continue;  // output full: grow and go on
    DIFFLUT_FAIL(path, ": corrupt gzip data near compressed byte ", at, " of ", compressed.size(),
                 ": ", zs.msg ? zs.msg : "zlib error", " (zlib code ", ret, ")");
  }
  out.resize(produced);
  return out;
}

}  // namespace difflut
