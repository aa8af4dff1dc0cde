// Whole-file reads for the dataset readers (see file_io.h).
#include "data/file_io.h"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>

#include "tensor/error.h"

namespace difflut {

std::vector<uint8_t> read_file_bytes(const std::string& path) {
  std::error_code ec;
  DIFFLUT_CHECK(!std::filesystem::is_directory(path, ec), path,
                ": expected a file, found a directory");
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  DIFFLUT_CHECK(f != nullptr, path, ": cannot open for reading: ", std::strerror(errno));
  std::vector<uint8_t> bytes;
  DIFFLUT_CHECK(std::fseek(f.get(), 0, SEEK_END) == 0, path,
                ": cannot seek: ", std::strerror(errno));
  const long size = std::ftell(f.get());
  DIFFLUT_CHECK(size >= 0, path, ": cannot determine the file size: ", std::strerror(errno));
  std::rewind(f.get());
  bytes.resize(static_cast<size_t>(size));
  const size_t got = size ? std::fread(bytes.data(), 1, bytes.size(), f.get()) : 0;
  DIFFLUT_CHECK(got == bytes.size(), path, ": read ", got, " of ", bytes.size(),
                " bytes: ", std::ferror(f.get()) ? std::strerror(errno) : "unexpected end of file");
  return bytes;
}

bool is_gzip(const std::vector<uint8_t>& bytes) {
  return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
}

bool gzip_supported() {
#ifdef DIFFLUT_WITH_ZLIB
  return true;
#else
  return false;
#endif
}

uint64_t gunzip_max_bytes() {
  const char* env = std::getenv("DIFFLUT_GUNZIP_MAX_BYTES");
  if (!env || !*env) return kGunzipDefaultMaxBytes;
  uint64_t v = 0;
  const char* end = env + std::strlen(env);
  const auto [ptr, ec] = std::from_chars(env, end, v);
  DIFFLUT_CHECK(ec == std::errc() && ptr == end && v > 0,
                "DIFFLUT_GUNZIP_MAX_BYTES: expected a positive number of bytes, found '", env, "'");
  return v;
}

std::vector<uint8_t> read_file_maybe_gz(const std::string& path, const DeclaredSizeFn& declared) {
  std::vector<uint8_t> bytes = read_file_bytes(path);
  if (!is_gzip(bytes)) return bytes;
#ifdef DIFFLUT_WITH_ZLIB
  return gunzip_bytes(bytes, path, declared);
#else
  (void)declared;
  DIFFLUT_FAIL(path,
               ": is gzip-compressed, but this DiffLUT build has no zlib (DIFFLUT_MINIMAL); "
               "decompress it first (gunzip -k) or use a full build");
#endif
}

}  // namespace difflut
