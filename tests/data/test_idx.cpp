// IDX reader on generated plain files: round trip, and each malformed file gives an Error that
// names the file and says what was expected vs found.
#include "data/file_io.h"
#include "data/idx.h"
#include "data_files.h"
#include "test_util.h"

using namespace difflut;

TEST_CASE("idx: a plain images/labels pair reads back byte for byte") {
  const std::string dir = test::temp_dir("idx-plain");
  const std::vector<uint8_t> pixels = test::pattern_bytes(5 * 4 * 3);
  test::write_bytes(dir + "/img", test::make_idx({5, 4, 3}, pixels));
  test::write_bytes(dir + "/lab", test::make_idx({5}, {3, 0, 9, 1, 3}));
  Dataset ds = read_idx_dataset(dir + "/img", dir + "/lab", 10, "toy", {4, 3});
  CHECK(ds.features.shape() == Shape{5, 4, 3});
  CHECK(ds.features.dtype() == DType::u8);
  CHECK(ds.features.to_vector<uint8_t>() == pixels);
  CHECK(ds.labels.to_vector<int64_t>() == std::vector<int64_t>{3, 0, 9, 1, 3});
  CHECK(ds.num_classes == 10);
  CHECK(ds.feature_dim() == 12);
  ds.validate();
  // f32 view: sample 2, pixel 5 scaled by 1/255.
  Tensor f = ds.features_f32();
  CHECK(f.shape() == Shape{5, 12});
  CHECK(f.to_vector<float>()[2 * 12 + 5] == static_cast<float>(pixels[2 * 12 + 5]) / 255.0f);
}

TEST_CASE("idx: a truncated payload names the file, the expected and found sizes and the record") {
  const std::string dir = test::temp_dir("idx-trunc");
  std::vector<uint8_t> b = test::make_idx({10, 28, 28}, test::pattern_bytes(10 * 784));
  b.resize(16 + 3 * 784 + 100);  // 3 whole records and part of the 4th
  test::write_bytes(dir + "/t10k-images-idx3-ubyte", b);
  CHECK_THROWS_WITH_AS(read_idx_u8(dir + "/t10k-images-idx3-ubyte", 3),
                       test::has("t10k-images-idx3-ubyte: expected 7856 bytes of IDX "
                                 "data, found 2468 (truncated?"),
                       Error);
  CHECK_THROWS_WITH_AS(read_idx_u8(dir + "/t10k-images-idx3-ubyte", 3),
                       test::has("ends in record 3 of 10"), Error);
  // A header cut inside the extents.
  test::write_bytes(dir + "/short", {0, 0, 8, 3, 0, 0});
  CHECK_THROWS_WITH_AS(read_idx_u8(dir + "/short", 3),
                       test::has("short: expected an IDX header of 16 bytes (3 dimensions), "
                                 "found 6 bytes"),
                       Error);
  test::write_bytes(dir + "/empty", {});
  CHECK_THROWS_WITH_AS(read_idx_u8(dir + "/empty"), test::has("found 0 bytes"), Error);
}

TEST_CASE("idx: trailing bytes after the payload are an error, not ignored") {
  const std::string dir = test::temp_dir("idx-trailing");
  std::vector<uint8_t> b = test::make_idx({4}, {1, 2, 3, 4});
  b.push_back(7);
  test::write_bytes(dir + "/lab", b);
  CHECK_THROWS_WITH_AS(read_idx_u8(dir + "/lab", 1),
                       test::has("expected 12 bytes of IDX data, found 13 (1 unexpected "
                                 "trailing bytes"),
                       Error);
}

TEST_CASE("idx: bad magic reports found and expected values in hex") {
  const std::string dir = test::temp_dir("idx-magic");
  // A 4-dim file where images (3 dims) are expected.
  test::write_bytes(dir + "/img", test::make_idx({1, 1, 2, 2}, {1, 2, 3, 4}));
  CHECK_THROWS_WITH_AS(read_idx_u8(dir + "/img", 3),
                       test::has("img: bad magic 0x00000804, expected 0x00000803"), Error);
  // An i32 IDX file (type 0x0C) is not u8 data.
  test::write_bytes(dir + "/i32", {0, 0, 0x0C, 1, 0, 0, 0, 1, 0, 0, 0, 5});
  CHECK_THROWS_WITH_AS(read_idx_u8(dir + "/i32", 1),
                       test::has("bad magic 0x00000C01, expected 0x00000801"), Error);
  CHECK_THROWS_WITH_AS(read_idx_u8(dir + "/i32"), test::has("bad magic 0x00000C01"), Error);
  // Images and labels swapped.
  test::write_bytes(dir + "/lab", test::make_idx({1}, {0}));
  CHECK_THROWS_WITH_AS(read_idx_dataset(dir + "/lab", dir + "/img", 10, "toy"),
                       test::has("bad magic 0x00000801, expected 0x00000803"), Error);
}

TEST_CASE("idx: wrong image extents, mismatched counts and out-of-range labels are named") {
  const std::string dir = test::temp_dir("idx-dims");
  test::write_bytes(dir + "/img", test::make_idx({2, 28, 27}, test::pattern_bytes(2 * 28 * 27)));
  test::write_bytes(dir + "/lab2", test::make_idx({2}, {0, 1}));
  CHECK_THROWS_WITH_AS(read_idx_dataset(dir + "/img", dir + "/lab2", 10, "toy", {28, 28}),
                       test::has("expected images of [28, 28], found [28, 27]"), Error);
  test::write_bytes(dir + "/lab3", test::make_idx({3}, {0, 1, 2}));
  CHECK_THROWS_WITH_AS(read_idx_dataset(dir + "/img", dir + "/lab3", 10, "toy"),
                       test::has("holds 2 images but " + dir + "/lab3 holds 3 labels"), Error);
  test::write_bytes(dir + "/lab-bad", test::make_idx({2}, {4, 12}));
  CHECK_THROWS_WITH_AS(read_idx_dataset(dir + "/img", dir + "/lab-bad", 10, "toy"),
                       test::has("lab-bad: record 1 has label 12, expected 0..9"), Error);
}

TEST_CASE("idx: a missing file names the path and the OS reason") {
  CHECK_THROWS_WITH_AS(read_idx_u8("/nonexistent/dir/train-images-idx3-ubyte.gz"),
                       test::has("/nonexistent/dir/train-images-idx3-ubyte.gz: cannot open"),
                       Error);
}

TEST_CASE("idx: gzip content is gunzipped with zlib, or refused clearly without it") {
  const std::string dir = test::temp_dir("idx-nozlib");
  // gzip magic followed by garbage: corrupt with zlib, unsupported without it.
  test::write_bytes(dir + "/x.gz", {0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3, 0xFF, 0xFF, 0xFF});
#ifdef DIFFLUT_WITH_ZLIB
  CHECK(gzip_supported());
  CHECK_THROWS_WITH_AS(read_idx_u8(dir + "/x.gz"), test::has(dir + "/x.gz: "), Error);
#else
  CHECK_FALSE(gzip_supported());
  CHECK_THROWS_WITH_AS(read_idx_u8(dir + "/x.gz"),
                       test::has("x.gz: is gzip-compressed, but this DiffLUT build has no "
                                 "zlib"),
                       Error);
#endif
}
