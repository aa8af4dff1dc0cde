// CIFAR-10 binary reader: the real batch 1 and the partial test file against raw-byte facts, the
// full training set through the registry, and generated files with a partial record / bad label.
#include <filesystem>

#include "data/cifar10.h"
#include "data/registry.h"
#include "data_files.h"
#include "test_util.h"

using namespace difflut;

namespace {
std::vector<int64_t> histogram(const Tensor& labels) {
  std::vector<int64_t> h(10, 0);
  for (int64_t y : labels.to_vector<int64_t>()) h.at(static_cast<size_t>(y))++;
  return h;
}

std::string cifar_dir() {
  const std::string dir = test::data_root() + "/cifar10";
  if (std::filesystem::is_directory(dir)) return dir;
  MESSAGE("skipped: no dataset folder " << dir);
  return "";
}

// One record: label, then R, G, B planes filled with r, g, b + pixel index.
std::vector<uint8_t> record(uint8_t label, uint8_t r, uint8_t g, uint8_t b) {
  std::vector<uint8_t> rec = {label};
  for (uint8_t base : {r, g, b}) {
    for (int p = 0; p < 1024; ++p) rec.push_back(static_cast<uint8_t>(base + p));
  }
  return rec;
}
}  // namespace

TEST_CASE("cifar10: data_batch_1 has 10000 records matching the raw bytes") {
  const std::string dir = cifar_dir();
  if (dir.empty()) return;
  Dataset ds = read_cifar10_files({dir + "/data_batch_1.bin"}, "batch1");
  CHECK(ds.features.shape() == Shape{10000, 3, 32, 32});
  CHECK(ds.num_classes == 10);
  // Facts read from the raw file with Python when this test was written.
  CHECK(histogram(ds.labels) ==
        std::vector<int64_t>{1005, 974, 1032, 1016, 999, 937, 1030, 1001, 1025, 981});
  std::vector<int64_t> first(ds.labels.data<int64_t>(), ds.labels.data<int64_t>() + 5);
  CHECK(first == std::vector<int64_t>{6, 9, 9, 4, 1});
  const uint8_t* x = ds.features.data<uint8_t>();
  uint64_t sum0 = 0;
  for (int i = 0; i < 3072; ++i) sum0 += x[i];
  CHECK(sum0 == 317790u);
  CHECK(x[9999 * 3072 + 1024 + 5] == 117);  // last record, G plane, pixel 5
  CHECK(ds.labels.to_vector<int64_t>()[9999] == 5);
}

TEST_CASE("cifar10: the test split falls back to the first 1000 records and says so") {
  const std::string dir = cifar_dir();
  if (dir.empty()) return;
  if (std::filesystem::exists(dir + "/test_batch.bin")) {
    Dataset full = load_dataset("cifar10", "test", test::data_root());
    CHECK(full.size() == 10000);
    CHECK(full.note.empty());
    return;
  }
  Dataset ds = load_dataset("cifar10", "test", test::data_root());
  CHECK(ds.size() == 1000);
  CHECK(ds.name == "cifar10/test");
  CHECK(ds.note.find("first 1000 of 10000") != std::string::npos);
  // Per-class counts from the data folder's README.
  CHECK(histogram(ds.labels) ==
        std::vector<int64_t>{103, 89, 100, 103, 90, 86, 112, 102, 106, 109});
  CHECK(ds.labels.to_vector<int64_t>()[0] == 3);
  REQUIRE(ds.class_names.size() == 10);
  CHECK(ds.class_names[3] == "cat");
}

TEST_CASE("cifar10: the registry's training split is 50000 images, 5000 per class") {
  const std::string dir = cifar_dir();
  if (dir.empty()) return;
  Dataset ds = load_dataset("cifar10", "train", test::data_root());
  CHECK(ds.features.shape() == Shape{50000, 3, 32, 32});
  CHECK(histogram(ds.labels) == std::vector<int64_t>(10, 5000));
  CHECK(ds.note.empty());
  CHECK(ds.class_names[0] == "airplane");
}

TEST_CASE("cifar10: records keep their channel planes and files concatenate in order") {
  const std::string dir = test::temp_dir("cifar-gen");
  std::vector<uint8_t> a = record(7, 10, 20, 30), b = record(2, 40, 50, 60);
  std::vector<uint8_t> ab = a;
  ab.insert(ab.end(), b.begin(), b.end());
  test::write_bytes(dir + "/one.bin", ab);
  test::write_bytes(dir + "/two.bin", record(9, 0, 0, 0));
  Dataset ds = read_cifar10_files({dir + "/one.bin", dir + "/two.bin"}, "gen");
  CHECK(ds.labels.to_vector<int64_t>() == std::vector<int64_t>{7, 2, 9});
  const uint8_t* x = ds.features.data<uint8_t>();
  CHECK(x[0] == 10);                   // record 0, R, pixel 0
  CHECK(x[1024 + 3] == 23);            // record 0, G, pixel 3
  CHECK(x[3072 + 2048 + 100] == 160);  // record 1, B, pixel 100
}

TEST_CASE("cifar10: a partial record names the file and the record index") {
  const std::string dir = test::temp_dir("cifar-partial");
  std::vector<uint8_t> bytes = record(1, 0, 0, 0);
  std::vector<uint8_t> second = record(2, 0, 0, 0);
  bytes.insert(bytes.end(), second.begin(), second.begin() + 500);
  test::write_bytes(dir + "/data_batch_1.bin", bytes);
  CHECK_THROWS_WITH_AS(read_cifar10_files({dir + "/data_batch_1.bin"}, "gen"),
                       test::has("data_batch_1.bin: expected a multiple of 3073 bytes"), Error);
  CHECK_THROWS_WITH_AS(read_cifar10_files({dir + "/data_batch_1.bin"}, "gen"),
                       test::has("found 3573 bytes: record 1 is partial (500 of 3073"), Error);
}

TEST_CASE("cifar10: a label >= 10 names the file, the record and the label") {
  const std::string dir = test::temp_dir("cifar-label");
  std::vector<uint8_t> bytes = record(1, 0, 0, 0);
  std::vector<uint8_t> bad = record(10, 0, 0, 0);
  bytes.insert(bytes.end(), bad.begin(), bad.end());
  test::write_bytes(dir + "/b.bin", bytes);
  CHECK_THROWS_WITH_AS(read_cifar10_files({dir + "/b.bin"}, "gen"),
                       test::has("b.bin: record 1 (byte offset 3073) has label 10, "
                                 "expected 0..9"),
                       Error);
}
