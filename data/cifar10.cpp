// CIFAR-10 binary-version reader (see cifar10.h).
#include "data/cifar10.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "data/file_io.h"

namespace difflut {

const std::vector<std::string>& cifar10_class_names() {
  static const std::vector<std::string> names = {
      "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
  return names;
}

Dataset read_cifar10_files(const std::vector<std::string>& paths, const std::string& name) {
  namespace fs = std::filesystem;
  DIFFLUT_CHECK(!paths.empty(), name, ": no CIFAR-10 batch files given");
  // Sizes first, so the dataset is allocated once and each file is held in memory only while it
  // is copied (the training set is 150 MB).
  std::vector<int64_t> records;
  int64_t total = 0;
  for (const std::string& path : paths) {
    std::error_code ec;
    const auto size = static_cast<int64_t>(fs::file_size(path, ec));
    DIFFLUT_CHECK(!ec, path, ": cannot read the CIFAR-10 batch: ", ec.message());
    DIFFLUT_CHECK(size % kCifar10RecordBytes == 0, path, ": expected a multiple of ",
                  kCifar10RecordBytes, " bytes (1 label + 3072 pixels per record), found ", size,
                  " bytes: record ", size / kCifar10RecordBytes, " is partial (",
                  size % kCifar10RecordBytes, " of ", kCifar10RecordBytes, " bytes; truncated?)");
    // An empty batch adds nothing without a word: a training set silently short of a batch, or a
    // test set on which every accuracy is 0.
    DIFFLUT_CHECK(size > 0, path, ": expected CIFAR-10 records of ", kCifar10RecordBytes,
                  " bytes, found an empty file");
    records.push_back(size / kCifar10RecordBytes);
    total += records.back();
  }
  Dataset ds;
  ds.name = name;
  ds.num_classes = 10;
  ds.class_names = cifar10_class_names();
  ds.features = Tensor::empty({total, 3, 32, 32}, DType::u8);
  ds.labels = Tensor::empty({total}, DType::i64);
  uint8_t* x = ds.features.data<uint8_t>();
  int64_t* y = ds.labels.data<int64_t>();
  constexpr int64_t kPixels = kCifar10RecordBytes - 1;
  int64_t row = 0;
  for (size_t f = 0; f < paths.size(); ++f) {
    const std::vector<uint8_t> bytes = read_file_bytes(paths[f]);
    DIFFLUT_CHECK(static_cast<int64_t>(bytes.size()) == records[f] * kCifar10RecordBytes, paths[f],
                  ": file changed size while being read");
    for (int64_t r = 0; r < records[f]; ++r, ++row) {
      const uint8_t* rec = bytes.data() + r * kCifar10RecordBytes;
      DIFFLUT_CHECK(rec[0] < 10, paths[f], ": record ", r, " (byte offset ",
                    r * kCifar10RecordBytes, ") has label ", static_cast<int>(rec[0]),
                    ", expected 0..9");
      y[row] = rec[0];
      std::memcpy(x + row * kPixels, rec + 1, kPixels);
    }
  }
  return ds;
}

namespace {
// batches.meta.txt: one class name a line, in label order (a trailing empty line is allowed).
std::vector<std::string> read_meta(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::vector<std::string> names;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) names.push_back(line);
  }
  return names;
}
}  // namespace

Dataset load_cifar10(const std::string& dir, const std::string& split) {
  namespace fs = std::filesystem;
  const fs::path root(dir);
  std::vector<std::string> paths;
  std::string note;
  if (split == "train") {
    for (int i = 1; i <= 5; ++i) {
      const fs::path p = root / ("data_batch_" + std::to_string(i) + ".bin");
      DIFFLUT_CHECK(fs::exists(p), "cifar10: missing ", p.string(),
                    " (expected data_batch_1..5.bin of the CIFAR-10 binary version; set "
                    "DIFFLUT_DATA_ROOT to the folder holding cifar10/)");
      paths.push_back(p.string());
    }
  } else if (split == "test") {
    const fs::path full = root / "test_batch.bin";
    const fs::path partial = root / "test_batch_first1000.bin";
    if (fs::exists(full)) {
      paths.push_back(full.string());
    } else {
      DIFFLUT_CHECK(fs::exists(partial), "cifar10: missing ", full.string(),
                    " (nor the partial test_batch_first1000.bin); set DIFFLUT_DATA_ROOT to the "
                    "folder holding cifar10/");
      paths.push_back(partial.string());
      note = "partial CIFAR-10 test set: only the first 1000 of 10000 test images (" +
             partial.string() + "); not class-balanced, report as 'first 1000 test images'";
    }
  } else {
    DIFFLUT_FAIL("cifar10: unknown split '", split, "' (known: train, test)");
  }
  // CIFAR-10 batch files have no header, so a file cut at a record boundary reads like a smaller
  // one: the fixed record counts of the named data set are the only check against that. Files
  // with a partial record get read_cifar10_files's more precise message.
  const int64_t want_records = note.empty() ? 10000 : 1000;
  std::vector<int64_t> sizes;
  for (const std::string& p : paths) {
    std::error_code ec;
    sizes.push_back(static_cast<int64_t>(fs::file_size(p, ec)));
    if (ec) sizes.back() = -1;
    // Empty batches first, so an empty file is named as such whatever the other files hold.
    DIFFLUT_CHECK(sizes.back() != 0, p, ": expected CIFAR-10 records of ", kCifar10RecordBytes,
                  " bytes, found an empty file");
  }
  for (size_t i = 0; i < paths.size(); ++i) {
    if (sizes[i] < 0 || sizes[i] % kCifar10RecordBytes != 0) continue;
    DIFFLUT_CHECK(sizes[i] / kCifar10RecordBytes == want_records, paths[i], ": expected ",
                  want_records, " records (", want_records * kCifar10RecordBytes,
                  " bytes) in this CIFAR-10 file, found ", sizes[i] / kCifar10RecordBytes,
                  " (truncated at a record boundary, or not the CIFAR-10 binary version?)");
  }
  Dataset ds = read_cifar10_files(paths, "cifar10/" + split);
  ds.note = note;
  if (!note.empty()) std::cerr << "difflut: warning: " << note << "\n";
  const fs::path meta = root / "batches.meta.txt";
  if (fs::exists(meta)) {
    std::vector<std::string> names = read_meta(meta);
    DIFFLUT_CHECK(names.size() == 10, meta.string(), ": expected 10 class names, found ",
                  names.size());
    ds.class_names = names;
  }
  return ds;
}

}  // namespace difflut
