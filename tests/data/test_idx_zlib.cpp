// IDX .gz files: generated with zlib here (round trip, concatenated members, truncated and corrupt
// streams), then the real MNIST and Fashion-MNIST files checked against facts computed
// independently (Python's gzip module and zcat | od when this test was written).

#include <filesystem>

#include "data/idx.h"
#include "data/registry.h"
#include "data_files.h"
#include "gzip_util.h"
#include "test_util.h"

using namespace difflut;

namespace {
using test::gzip_bytes;

std::vector<int64_t> histogram(const Tensor& labels, int classes) {
  std::vector<int64_t> h(static_cast<size_t>(classes), 0);
  for (int64_t y : labels.to_vector<int64_t>()) h.at(static_cast<size_t>(y))++;
  return h;
}

uint64_t byte_sum(const Tensor& t) {
  uint64_t s = 0;
  const uint8_t* p = t.data<uint8_t>();
  for (int64_t i = 0; i < t.numel(); ++i) s += p[i];
  return s;
}

bool have_dir(const std::string& dir) {
  if (std::filesystem::is_directory(dir)) return true;
  MESSAGE("skipped: no dataset folder " << dir);
  return false;
}
}  // namespace

TEST_CASE("idx gz: a gzip-compressed file reads back the same as the plain one") {
  const std::string dir = test::temp_dir("idxgz-roundtrip");
  const std::vector<uint8_t> plain = test::make_idx({7, 5, 6}, test::pattern_bytes(7 * 30));
  test::write_bytes(dir + "/img", plain);
  test::write_bytes(dir + "/img.gz", gzip_bytes(plain));
  test::check_equal(read_idx_u8(dir + "/img.gz", 3), read_idx_u8(dir + "/img", 3));
  // Two concatenated gzip members are one file, as gunzip reads them.
  std::vector<uint8_t> a(plain.begin(), plain.begin() + 50), b(plain.begin() + 50, plain.end());
  std::vector<uint8_t> two = gzip_bytes(a), second = gzip_bytes(b);
  two.insert(two.end(), second.begin(), second.end());
  test::write_bytes(dir + "/two.gz", two);
  test::check_equal(read_idx_u8(dir + "/two.gz", 3), read_idx_u8(dir + "/img", 3));
}

TEST_CASE("idx gz: a truncated .gz names the file and says the compressed data ends early") {
  const std::string dir = test::temp_dir("idxgz-trunc");
  const std::vector<uint8_t> plain = test::make_idx({50, 28, 28}, test::pattern_bytes(50 * 784));
  std::vector<uint8_t> gz = gzip_bytes(plain);
  gz.resize(gz.size() / 2);
  test::write_bytes(dir + "/train-images-idx3-ubyte.gz", gz);
  CHECK_THROWS_WITH_AS(read_idx_u8(dir + "/train-images-idx3-ubyte.gz", 3),
                       test::has("train-images-idx3-ubyte.gz: gzip data ends early"), Error);
  CHECK_THROWS_WITH_AS(read_idx_u8(dir + "/train-images-idx3-ubyte.gz", 3), test::has("truncated?"),
                       Error);
}

TEST_CASE("idx gz: corrupt compressed data names the file, the offset and zlib's reason") {
  const std::string dir = test::temp_dir("idxgz-corrupt");
  const std::vector<uint8_t> plain = test::make_idx({20, 28, 28}, test::pattern_bytes(20 * 784));
  std::vector<uint8_t> gz = gzip_bytes(plain);
  // Flip the CRC-32 in the trailer: the data inflates but fails the check.
  gz[gz.size() - 6] ^= 0xFF;
  test::write_bytes(dir + "/bad-crc.gz", gz);
  CHECK_THROWS_WITH_AS(read_idx_u8(dir + "/bad-crc.gz", 3),
                       test::has("bad-crc.gz: corrupt gzip data near compressed byte"), Error);
  CHECK_THROWS_WITH_AS(read_idx_u8(dir + "/bad-crc.gz", 3), test::has("incorrect data check"),
                       Error);
  // A gzip file holding a well-formed but too short IDX payload: the IDX check still applies.
  std::vector<uint8_t> short_idx = plain;
  short_idx.resize(16 + 5 * 784);
  test::write_bytes(dir + "/short.gz", gzip_bytes(short_idx));
  CHECK_THROWS_WITH_AS(read_idx_u8(dir + "/short.gz", 3),
                       test::has("short.gz: expected 15696 bytes of IDX data, found 3936"), Error);
}

TEST_CASE("fashion-mnist: the real files have 60000/10000 28x28 images, 6000/1000 per class") {
  const std::string dir = test::fashion_mnist_dir();
  if (!have_dir(dir)) return;
  Dataset train = read_idx_dataset(dir + "/train-images-idx3-ubyte.gz",
                                   dir + "/train-labels-idx1-ubyte.gz", 10, "fmnist", {28, 28});
  CHECK(train.features.shape() == Shape{60000, 28, 28});
  CHECK(histogram(train.labels, 10) == std::vector<int64_t>(10, 6000));
  // First labels (zcat | od): 9 0 0 3 0; pixel sum of all training images (Python gzip).
  std::vector<int64_t> first(train.labels.data<int64_t>(), train.labels.data<int64_t>() + 5);
  CHECK(first == std::vector<int64_t>{9, 0, 0, 3, 0});
  CHECK(byte_sum(train.features) == 3431114169ull);
  Dataset test = read_idx_dataset(dir + "/t10k-images-idx3-ubyte.gz",
                                  dir + "/t10k-labels-idx1-ubyte.gz", 10, "fmnist", {28, 28});
  CHECK(test.size() == 10000);
  CHECK(histogram(test.labels, 10) == std::vector<int64_t>(10, 1000));
  CHECK(byte_sum(test.features) == 573469082ull);
}

TEST_CASE("mnist: the registry loads the real files with the official class counts") {
  const std::string root = test::data_root();
  if (!have_dir(root + "/mnist")) return;
  Dataset train = load_dataset("mnist", "train", root);
  CHECK(train.name == "mnist/train");
  CHECK(train.features.shape() == Shape{60000, 28, 28});
  CHECK(histogram(train.labels, 10) ==
        std::vector<int64_t>{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949});
  CHECK(train.labels.to_vector<int64_t>()[0] == 5);
  CHECK(byte_sum(train.features) == 1567298545ull);
  // Row 14 of image 7 (Python gzip): 8 zeros, 0x2d, 0xde, 0xfc x4, 0xfd, 0xfc x3, 0xb1, zeros.
  const uint8_t* row = train.features.data<uint8_t>() + 7 * 784 + 14 * 28;
  CHECK(std::vector<uint8_t>(row + 7, row + 12) ==
        std::vector<uint8_t>{0x00, 0x2d, 0xde, 0xfc, 0xfc});
  Dataset test = load_dataset("MNIST", "test", root);
  CHECK(histogram(test.labels, 10) ==
        std::vector<int64_t>{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009});
  CHECK(byte_sum(test.features) == 264923200ull);
}

TEST_CASE("fashion-mnist: the registry finds it through DIFFLUT_FASHION_MNIST_DIR or the package") {
  if (!have_dir(test::fashion_mnist_dir())) return;
  // Aliases resolve to one name; the test split is small enough to load twice.
  Dataset a = load_dataset("fashion-mnist", "test", test::data_root());
  Dataset b = load_dataset("Fashion_MNIST", "test", test::data_root());
  CHECK(a.name == "fashionmnist/test");
  test::check_equal(a.labels, b.labels);
  REQUIRE(a.class_names.size() == 10);
  CHECK(a.class_names[9] == "Ankle boot");
  CHECK(a.labels.to_vector<int64_t>()[0] == 9);
}
