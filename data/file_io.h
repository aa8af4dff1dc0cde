// Whole-file reads for the dataset readers, gunzipping transparently where zlib is built in.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace difflut {

// The bytes of `path`; throws difflut::Error naming the path and the OS reason if it can't be read.
std::vector<uint8_t> read_file_bytes(const std::string& path);

// True when `bytes` start with the gzip magic 1f 8b.
bool is_gzip(const std::vector<uint8_t>& bytes);

// True when this build can decompress gzip (DIFFLUT_WITH_ZLIB).
bool gzip_supported();

// The bytes of `path`, gunzipped when the content is gzip (any number of concatenated members).
// Without zlib a gzip file throws an Error saying so and naming the path; plain files still work.
std::vector<uint8_t> read_file_maybe_gz(const std::string& path);

#ifdef DIFFLUT_WITH_ZLIB
// Decompresses a gzip stream read from `path` (used in messages); defined in data/idx_zlib.cpp.
// Corrupt or truncated data throws an Error naming the path, the compressed byte offset and zlib's
// reason.
std::vector<uint8_t> gunzip_bytes(const std::vector<uint8_t>& compressed, const std::string& path);
#endif

}  // namespace difflut
