// Damaged-input corpus, gzip: damaged .gz IDX and CSV files, gzip bombs (refused at the size the
// IDX header declares, or at the hard cap), the cap's environment override. Same checks as
// test_damaged_inputs.cpp: exact message, files untouched.
#include <zlib.h>

#include <cstdlib>

#include "damaged_corpus.h"
#include "data/csv.h"
#include "data/file_io.h"
#include "data/idx.h"

using namespace difflut;
using test::DamagedCase;

namespace {
// gzip of `in` (one member). `repeat` feeds `in` that many times: a bomb from a small buffer.
std::vector<uint8_t> gz(const std::vector<uint8_t>& in, int repeat = 1) {
  z_stream zs{};
  REQUIRE(deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::vector<uint8_t> out;
  std::vector<uint8_t> buf(1 << 16);
  for (int r = 0; r < repeat; ++r) {
    zs.next_in = const_cast<Bytef*>(in.data());
    zs.avail_in = static_cast<uInt>(in.size());
    const int flush = r + 1 == repeat ? Z_FINISH : Z_NO_FLUSH;
    int ret = Z_OK;
    do {
      zs.next_out = buf.data();
      zs.avail_out = static_cast<uInt>(buf.size());
      ret = deflate(&zs, flush);
      out.insert(out.end(), buf.data(), buf.data() + (buf.size() - zs.avail_out));
    } while (zs.avail_out == 0 || (flush == Z_FINISH && ret != Z_STREAM_END));
  }
  deflateEnd(&zs);
  return out;
}

std::vector<uint8_t> cat(std::vector<uint8_t> a, const std::vector<uint8_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Sets an environment variable for one scope and restores it afterwards.
struct ScopedEnv {
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old, had_ = true;
    if (value) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (had_) {
      ::setenv(name_, old_.c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  const char* name_;
  std::string old_;
  bool had_ = false;
};

auto idx_images(const std::string& file) {
  return [file](const std::string& dir) { read_idx_u8(dir + "/" + file, 3); };
}

std::vector<DamagedCase> gz_cases() {
  const std::vector<uint8_t> plain = test::make_idx({20, 28, 28}, test::pattern_bytes(20 * 784));
  const std::vector<uint8_t> good = gz(plain);
  std::vector<uint8_t> half(good.begin(), good.begin() + good.size() / 2);
  std::vector<uint8_t> bad_crc = good;
  bad_crc[bad_crc.size() - 6] ^= 0xFF;
  std::vector<uint8_t> bad_isize = good;
  bad_isize[bad_isize.size() - 1] ^= 0x01;
  std::vector<uint8_t> bad_method = good;
  bad_method[2] = 7;
  std::vector<uint8_t> bad_block = good;
  bad_block[10] = 0xFF;  // first deflate byte: block type 3 is reserved
  const std::vector<uint8_t> trailing_idx = gz(cat(plain, {9, 9, 9, 9}));
  // 1 MiB of zeros 64 times behind a header declaring one 28x28 image: a 64 MiB bomb in ~64 KB.
  // It is looked at after the first 4096 bytes (the probe before the header is known).
  std::vector<uint8_t> bomb_header = test::make_idx({1, 28, 28}, {});
  std::vector<uint8_t> zeros(1 << 20, 0);
  const std::vector<uint8_t> bomb = [&] {
    z_stream zs{};
    REQUIRE(deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    std::vector<uint8_t> out(1 << 20);
    zs.next_out = out.data();
    zs.avail_out = static_cast<uInt>(out.size());
    zs.next_in = bomb_header.data();
    zs.avail_in = static_cast<uInt>(bomb_header.size());
    REQUIRE(deflate(&zs, Z_NO_FLUSH) == Z_OK);
    for (int r = 0; r < 64; ++r) {
      zs.next_in = zeros.data();
      zs.avail_in = static_cast<uInt>(zeros.size());
      REQUIRE(deflate(&zs, r == 63 ? Z_FINISH : Z_NO_FLUSH) >= Z_OK);
    }
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return out;
  }();
  return {
      {"idx gz: only the gzip magic",
       {{"f.gz", {0x1f, 0x8b}}},
       idx_images("f.gz"),
       "{dir}/f.gz: gzip data ends early: the stream is incomplete after all 2 compressed bytes "
       "(0 bytes decompressed so far; truncated?)"},
      {"idx gz: cut in half",
       {{"f.gz", half}},
       idx_images("f.gz"),
       "{dir}/f.gz: gzip data ends early: the stream is incomplete after all {n} compressed bytes "
       "({n} bytes decompressed so far; truncated?)"},
      {"idx gz: trailer CRC flipped",
       {{"f.gz", bad_crc}},
       idx_images("f.gz"),
       "{dir}/f.gz: corrupt gzip data near compressed byte {n} of {n}: incorrect data check (zlib "
       "code -3)"},
      {"idx gz: trailer length flipped",
       {{"f.gz", bad_isize}},
       idx_images("f.gz"),
       "{dir}/f.gz: corrupt gzip data near compressed byte {n} of {n}: incorrect length check "
       "(zlib code -3)"},
      {"idx gz: unknown compression method",
       {{"f.gz", bad_method}},
       idx_images("f.gz"),
       "{dir}/f.gz: corrupt gzip data near compressed byte {n} of {n}: unknown compression method "
       "(zlib code -3)"},
      {"idx gz: reserved block type",
       {{"f.gz", bad_block}},
       idx_images("f.gz"),
       "{dir}/f.gz: corrupt gzip data near compressed byte {n} of {n}: invalid block type (zlib "
       "code -3)"},
      {"idx gz: garbage after the stream",
       {{"f.gz", cat(good, {1, 2, 3})}},
       idx_images("f.gz"),
       "{dir}/f.gz: unexpected 3 bytes after the end of the gzip data at compressed byte {n}"},
      {"idx gz: empty content",
       {{"f.gz", gz({})}},
       idx_images("f.gz"),
       "{dir}/f.gz: expected an IDX header of at least 4 bytes, found 0 bytes (truncated?)"},
      {"idx gz: bad magic inside",
       {{"f.gz", gz(test::bytes_of("not an idx file"))}},
       idx_images("f.gz"),
       "{dir}/f.gz: bad magic 0x6E6F7420, expected 0x00000803 (IDX u8 data with 3 dimensions)"},
      {"idx gz: payload cut",
       {{"f.gz", gz(std::vector<uint8_t>(plain.begin(), plain.end() - 9))}},
       idx_images("f.gz"),
       "{dir}/f.gz: expected 15696 bytes of IDX data, found 15687 (truncated? header says [20, "
       "28, 28]; the data ends in record 19 of 20)"},
      {"idx gz: trailing bytes inside",
       {{"f.gz", trailing_idx}},
       idx_images("f.gz"),
       "{dir}/f.gz: the decompressed data is longer than the 15696 bytes the IDX header ([20, 28, "
       "28]) declares (unexpected trailing bytes or a gzip bomb; stopped after 15697 bytes)"},
      {"idx gz: bomb behind a small header",
       {{"f.gz", bomb}},
       idx_images("f.gz"),
       "{dir}/f.gz: the decompressed data is longer than the 800 bytes the IDX header ([1, 28, "
       "28]) declares (unexpected trailing bytes or a gzip bomb; stopped after 4096 bytes)"},
      {"idx gz: header declaring 47 GB",
       {{"f.gz", gz(test::make_idx({60000, 28000, 28}, {}))}},
       idx_images("f.gz"),
       "{dir}/f.gz: the IDX header ([60000, 28000, 28]) declares 47040000016 bytes, more than the "
       "limit of 1073741824 bytes for decompressed inputs (set DIFFLUT_GUNZIP_MAX_BYTES to raise "
       "it)"},
      {"idx gz: wrapping extents",
       {{"f.gz", gz(test::make_idx({1u << 20, 1u << 19, 1u << 25}, {}))}},
       [](const std::string& dir) { read_idx_u8(dir + "/f.gz"); },
       "{dir}/f.gz: dimension 2 of the IDX header (33554432) gives an implausible size [1048576, "
       "524288, 33554432]"},
      {"csv gz: cut",
       {{"c.csv.gz", std::vector<uint8_t>(good.begin(), good.begin() + 30)}},
       [](const std::string& dir) { read_csv(dir + "/c.csv.gz"); },
       "{dir}/c.csv.gz: gzip data ends early: the stream is incomplete after all 30 compressed "
       "bytes ({n} bytes decompressed so far; truncated?)"},
  };
}
}  // namespace

TEST_CASE("damaged inputs: gzip files are refused with exact messages, files untouched") {
  ScopedEnv unset("DIFFLUT_GUNZIP_MAX_BYTES", nullptr);
  // The bombs' exact messages say where they stopped (at the declared size or the cap), so no
  // case inflates its 64 MiB.
  for (const DamagedCase& c : gz_cases()) test::run_case(c);
}

TEST_CASE("gzip: the hard cap stops content without a declared size, overridable by env") {
  const std::vector<uint8_t> zeros(1 << 20, 0);
  std::vector<uint8_t> bomb = gz(zeros, 32);  // 32 MiB of zeros
  // The cap applies whatever the content; the default cap is exercised by the IDX header case.
  CHECK_THROWS_WITH_AS(gunzip_bytes(bomb, "z.gz", {}, 1000000),
                       "z.gz: gzip data decompresses to more than 1000000 bytes, the limit for "
                       "decompressed inputs (a gzip bomb? set DIFFLUT_GUNZIP_MAX_BYTES to raise "
                       "it)",
                       Error);
  CHECK(gunzip_bytes(bomb, "z.gz", {}, 32u << 20).size() == 32u << 20);
  const std::string dir = test::temp_dir("gz-env");
  test::write_bytes(dir + "/c.csv.gz", gz(test::bytes_of("x,y\n1,0\n2,1\n"), 1000));
  {
    ScopedEnv env("DIFFLUT_GUNZIP_MAX_BYTES", "100");
    CHECK(gunzip_max_bytes() == 100);
    CHECK_THROWS_WITH_AS(read_csv(dir + "/c.csv.gz"),
                         test::has(dir + "/c.csv.gz: gzip data decompresses to more than 100 "
                                         "bytes"),
                         Error);
  }
  for (const char* bad : {"abc", "0", "-5", "12kB"}) {
    ScopedEnv env("DIFFLUT_GUNZIP_MAX_BYTES", bad);
    CHECK_THROWS_WITH_AS(gunzip_max_bytes(),
                         ("DIFFLUT_GUNZIP_MAX_BYTES: expected a positive number of bytes, found '" +
                          std::string(bad) + "'")
                             .c_str(),
                         Error);
  }
  ScopedEnv unset("DIFFLUT_GUNZIP_MAX_BYTES", nullptr);
  CHECK(gunzip_max_bytes() == kGunzipDefaultMaxBytes);
}
