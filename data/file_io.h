// Whole-file reads for the dataset readers, gunzipping transparently where zlib is built in, with
// a limit on the decompressed size so a gzip bomb is refused instead of filling memory.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace difflut {

// The bytes of `path`; throws difflut::Error naming the path and the OS reason if it can't be read.
std::vector<uint8_t> read_file_bytes(const std::string& path);

// True when `bytes` start with the gzip magic 1f 8b.
bool is_gzip(const std::vector<uint8_t>& bytes);

// True when this build can decompress gzip (DIFFLUT_WITH_ZLIB).
bool gzip_supported();

// The hard cap on the decompressed size of one gzip file, whatever it declares: 1 GiB (more than
// any data set this library reads into memory), or DIFFLUT_GUNZIP_MAX_BYTES when that is set to a
// positive integer (anything else in it is an Error naming the variable).
constexpr uint64_t kGunzipDefaultMaxBytes = uint64_t{1} << 30;
uint64_t gunzip_max_bytes();

// The size a content format declares for itself in its first bytes (an IDX header does): `bytes`
// is the exact size the whole content must have, `what` says where it comes from in messages
// ("the IDX header ([60000, 28, 28])").
struct DeclaredSize {
  uint64_t bytes = 0;
  std::string what;
};
// Given the first `size` decompressed bytes, the declared size, or nullopt while it needs more
// bytes. It may throw difflut::Error for a malformed header (decompression then stops there).
using DeclaredSizeFn = std::function<std::optional<DeclaredSize>(const uint8_t* data, size_t size)>;

// The bytes of `path`, gunzipped when the content is gzip (any number of concatenated members).
// Without zlib a gzip file throws an Error saying so and naming the path; plain files still work.
// `declared` (optional) bounds the decompressed size by what the content's header declares.
std::vector<uint8_t> read_file_maybe_gz(const std::string& path,
                                        const DeclaredSizeFn& declared = {});

#ifdef DIFFLUT_WITH_ZLIB
// Decompresses a gzip stream read from `path` (used in messages); defined in data/idx_zlib.cpp.
// Corrupt or truncated data throws an Error naming the path, the compressed byte offset and zlib's
// reason. Output beyond `max_bytes`, or beyond the size `declared` reports once enough of the
// content is out, stops decompression at once with an Error naming both sizes: memory use is
// bounded by the limit, not by what the compressed stream expands to.
std::vector<uint8_t> gunzip_bytes(const std::vector<uint8_t>& compressed, const std::string& path,
                                  const DeclaredSizeFn& declared = {},
                                  uint64_t max_bytes = gunzip_max_bytes());
#endif

}  // namespace difflut
