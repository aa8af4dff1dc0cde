// Damaged-input corpus, plain files: IDX (generic and dataset pairs), CIFAR-10 batches and the
// named CIFAR-10 folder, CSV. Each case asserts the exact difflut::Error message and that the
// files are untouched (damaged_corpus.h). gzip cases live in test_damaged_inputs_zlib.cpp, image
// folders in test_damaged_images_stb.cpp.
#include <filesystem>

#include "damaged_corpus.h"
#include "data/cifar10.h"
#include "data/csv.h"
#include "data/idx.h"
#include "data/loader.h"
#include "data/registry.h"

using namespace difflut;
using test::DamagedCase;

namespace {
std::vector<uint8_t> idx(const std::vector<uint32_t>& dims, size_t payload) {
  return test::make_idx(dims, test::pattern_bytes(payload));
}
std::vector<uint8_t> labels(const std::vector<uint8_t>& ys) {
  return test::make_idx({static_cast<uint32_t>(ys.size())}, ys);
}
std::vector<uint8_t> cut(std::vector<uint8_t> b, size_t n) {
  b.resize(n);
  return b;
}
std::vector<uint8_t> with(std::vector<uint8_t> b, size_t at, uint8_t v) {
  b.at(at) = v;
  return b;
}
std::vector<uint8_t> cifar_records(int n, uint8_t label = 3) {
  std::vector<uint8_t> b;
  for (int r = 0; r < n; ++r) {
    b.push_back(label);
    for (int p = 0; p < 3072; ++p) b.push_back(static_cast<uint8_t>(r + p));
  }
  return b;
}

auto idx_any(const std::string& file) {
  return [file](const std::string& dir) { read_idx_u8(dir + "/" + file); };
}
auto idx_images(const std::string& file) {
  return [file](const std::string& dir) { read_idx_u8(dir + "/" + file, 3); };
}
auto idx_pair(const Shape& image_shape = {}) {
  return [image_shape](const std::string& dir) {
    read_idx_dataset(dir + "/img", dir + "/lbl", 10, "pair", image_shape);
  };
}
auto csv(const std::string& file, CsvOptions options = {}) {
  return [file, options](const std::string& dir) { read_csv(dir + "/" + file, options); };
}

std::vector<DamagedCase> idx_cases() {
  const std::vector<uint8_t> good = idx({5, 28, 28}, 5 * 784);
  std::vector<uint8_t> trailing = good;
  trailing.insert(trailing.end(), {1, 2, 3});
  return {
      {"idx: empty file",
       {{"f", {}}},
       idx_any("f"),
       "{dir}/f: expected an IDX header of at least 4 bytes, found 0 bytes (truncated?)"},
      {"idx: 3 bytes",
       {{"f", {0, 0, 8}}},
       idx_any("f"),
       "{dir}/f: expected an IDX header of at least 4 bytes, found 3 bytes (truncated?)"},
      {"idx: bad type byte",
       {{"f", with(good, 2, 0x09)}},
       idx_images("f"),
       "{dir}/f: bad magic 0x00000903, expected 0x00000803 (IDX u8 data with 3 dimensions)"},
      {"idx: not IDX at all",
       {{"f", test::bytes_of("hello, world")}},
       idx_any("f"),
       "{dir}/f: bad magic 0x68656C6C, expected 0x000008NN (IDX u8 data, NN >= 1 dims)"},
      {"idx: zero dimensions",
       {{"f", {0, 0, 8, 0}}},
       idx_any("f"),
       "{dir}/f: bad magic 0x00000800, expected 0x000008NN (IDX u8 data, NN >= 1 dims)"},
      {"idx: labels where images are expected",
       {{"f", labels({1, 2})}},
       idx_images("f"),
       "{dir}/f: bad magic 0x00000801, expected 0x00000803 (IDX u8 data with 3 dimensions)"},
      {"idx: header cut inside the extents",
       {{"f", cut(good, 9)}},
       idx_images("f"),
       "{dir}/f: expected an IDX header of 16 bytes (3 dimensions), found 9 bytes (truncated?)"},
      {"idx: payload cut in record 2",
       {{"f", cut(good, 16 + 2 * 784 + 100)}},
       idx_images("f"),
       "{dir}/f: expected 3936 bytes of IDX data, found 1684 (truncated? header says [5, 28, "
       "28]; the data ends in record 2 of 5)"},
      {"idx: payload missing entirely",
       {{"f", cut(good, 16)}},
       idx_images("f"),
       "{dir}/f: expected 3936 bytes of IDX data, found 16 (truncated? header says [5, 28, 28]; "
       "the data ends in record 0 of 5)"},
      {"idx: trailing bytes",
       {{"f", trailing}},
       idx_images("f"),
       "{dir}/f: expected 3936 bytes of IDX data, found 3939 (3 unexpected trailing bytes after "
       "the [5, 28, 28] payload)"},
      // 2^20 * 2^19 * 2^25 = 2^64: wrapped to 0 before the extents were checked one by one.
      {"idx: extents whose product wraps to zero",
       {{"f", test::make_idx({1u << 20, 1u << 19, 1u << 25}, {})}},
       idx_any("f"),
       "{dir}/f: dimension 2 of the IDX header (33554432) gives an implausible size [1048576, "
       "524288, 33554432]"},
      {"idx: largest u32 extents",
       {{"f", test::make_idx({0xFFFFFFFFu, 0xFFFFFFFFu}, {})}},
       idx_any("f"),
       "{dir}/f: dimension 1 of the IDX header (4294967295) gives an implausible size "
       "[4294967295, 4294967295]"},
      {"idx: a folder named like the file",
       {{"f/", {}}},
       idx_any("f"),
       "{dir}/f: expected a file, found a directory"},
      {"idx: missing file",
       {},
       idx_any("f"),
       "{dir}/f: cannot open for reading: No such file or directory"},
      {"idx pair: zero images",
       {{"img", test::make_idx({0, 28, 28}, {})}, {"lbl", labels({})}},
       idx_pair(),
       "{dir}/img: expected at least one image, found an IDX header declaring 0 records ([0, 28, "
       "28])"},
      {"idx pair: images of zero width",
       {{"img", test::make_idx({2, 28, 0}, {})}, {"lbl", labels({1, 2})}},
       idx_pair(),
       "{dir}/img: expected images of non-zero size, found an IDX header declaring "
       "[2, 28, 0]"},
      {"idx pair: zero labels",
       {{"img", idx({2, 28, 28}, 2 * 784)}, {"lbl", labels({})}},
       idx_pair(),
       "{dir}/lbl: expected at least one label, found an IDX header declaring 0 records"},
      {"idx pair: fewer labels than images",
       {{"img", idx({3, 28, 28}, 3 * 784)}, {"lbl", labels({1, 2})}},
       idx_pair(),
       "pair: {dir}/img holds 3 images but {dir}/lbl holds 2 labels"},
      {"idx pair: label 10 of 10 classes",
       {{"img", idx({3, 28, 28}, 3 * 784)}, {"lbl", labels({1, 10, 2})}},
       idx_pair(),
       "{dir}/lbl: record 1 has label 10, expected 0..9"},
      {"idx pair: label 255",
       {{"img", idx({1, 28, 28}, 784)}, {"lbl", labels({255})}},
       idx_pair(),
       "{dir}/lbl: record 0 has label 255, expected 0..9"},
      {"idx pair: wrong image size",
       {{"img", idx({2, 27, 28}, 2 * 27 * 28)}, {"lbl", labels({1, 2})}},
       idx_pair({28, 28}),
       "{dir}/img: expected images of [28, 28], found [27, 28]"},
      {"registry: empty MNIST labels file",
       {{"mnist/t10k-images-idx3-ubyte", idx({3, 28, 28}, 3 * 784)},
        {"mnist/t10k-labels-idx1-ubyte", {}}},
       [](const std::string& dir) { load_dataset("mnist", "test", dir); },
       "{dir}/mnist/t10k-labels-idx1-ubyte: expected an IDX header of at least 4 bytes, found 0 "
       "bytes (truncated?)"},
  };
}

std::vector<DamagedCase> cifar_cases() {
  const auto files = [](const std::vector<std::string>& names) {
    return [names](const std::string& dir) {
      std::vector<std::string> paths;
      for (const std::string& n : names) paths.push_back(dir + "/" + n);
      read_cifar10_files(paths, "gen");
    };
  };
  const auto load = [](const std::string& split) {
    return [split](const std::string& dir) { load_dataset("cifar10", split, dir); };
  };
  // A CIFAR-10 folder whose batches hold one record each except batch `odd`, which gets `bytes`.
  const auto train_folder = [](int odd, const std::vector<uint8_t>& bytes) {
    std::vector<test::CorpusFile> f;
    for (int i = 1; i <= 5; ++i) {
      f.push_back({"cifar10/data_batch_" + std::to_string(i) + ".bin",
                   i == odd ? bytes : cifar_records(1)});
    }
    return f;
  };
  std::vector<uint8_t> bad_label = cifar_records(3);
  bad_label[2 * 3073] = 10;
  std::vector<uint8_t> ff_label = cifar_records(1, 0xFF);
  return {
      {"cifar: empty batch",
       {{"b.bin", {}}},
       files({"b.bin"}),
       "{dir}/b.bin: expected CIFAR-10 records of 3073 bytes, found an empty file"},
      {"cifar: empty second batch",
       {{"a.bin", cifar_records(2)}, {"b.bin", {}}},
       files({"a.bin", "b.bin"}),
       "{dir}/b.bin: expected CIFAR-10 records of 3073 bytes, found an empty file"},
      {"cifar: one byte",
       {{"b.bin", {7}}},
       files({"b.bin"}),
       "{dir}/b.bin: expected a multiple of 3073 bytes (1 label + 3072 pixels per record), found "
       "1 bytes: record 0 is partial (1 of 3073 bytes; truncated?)"},
      {"cifar: last record cut",
       {{"b.bin", cut(cifar_records(2), 3073 + 3000)}},
       files({"b.bin"}),
       "{dir}/b.bin: expected a multiple of 3073 bytes (1 label + 3072 pixels per record), found "
       "6073 bytes: record 1 is partial (3000 of 3073 bytes; truncated?)"},
      {"cifar: label 10",
       {{"b.bin", bad_label}},
       files({"b.bin"}),
       "{dir}/b.bin: record 2 (byte offset 6146) has label 10, expected 0..9"},
      {"cifar: label 255",
       {{"b.bin", ff_label}},
       files({"b.bin"}),
       "{dir}/b.bin: record 0 (byte offset 0) has label 255, expected 0..9"},
      {"cifar: a folder as batch",
       {{"b.bin/", {}}},
       files({"b.bin"}),
       "{dir}/b.bin: cannot read the CIFAR-10 batch: Is a directory"},
      {"cifar: no files", {}, files({}), "gen: no CIFAR-10 batch files given"},
      {"cifar10 folder: empty test batch",
       {{"cifar10/test_batch.bin", {}}},
       load("test"),
       "{dir}/cifar10/test_batch.bin: expected CIFAR-10 records of 3073 bytes, found an empty "
       "file"},
      {"cifar10 folder: empty training batch", train_folder(3, {}), load("train"),
       "{dir}/cifar10/data_batch_3.bin: expected CIFAR-10 records of 3073 bytes, found an empty "
       "file"},
      {"cifar10 folder: training batch cut at a record boundary", train_folder(0, {}),
       load("train"),
       "{dir}/cifar10/data_batch_1.bin: expected 10000 records (30730000 bytes) in this CIFAR-10 "
       "file, found 1 (truncated at a record boundary, or not the CIFAR-10 binary version?)"},
      {"cifar10 folder: partial test file of 999 records",
       {{"cifar10/test_batch_first1000.bin", cifar_records(999)}},
       load("test"),
       "{dir}/cifar10/test_batch_first1000.bin: expected 1000 records (3073000 bytes) in this "
       "CIFAR-10 file, found 999 (truncated at a record boundary, or not the CIFAR-10 binary "
       "version?)"},
      {"cifar10 folder: meta file with 9 names",
       {{"cifar10/test_batch_first1000.bin", cifar_records(1000)},
        {"cifar10/batches.meta.txt", test::bytes_of("a\nb\nc\nd\ne\nf\ng\nh\ni\n")}},
       load("test"),
       "{dir}/cifar10/batches.meta.txt: expected 10 class names, found 9"},
  };
}

std::vector<DamagedCase> csv_cases() {
  CsvOptions few;
  few.max_classes = 3;
  CsvOptions no_header;
  no_header.has_header = false;
  return {
      {"csv: empty file",
       {{"c.csv", {}}},
       csv("c.csv"),
       "{dir}/c.csv: expected at least one data row, found none"},
      {"csv: header only",
       {{"c.csv", test::bytes_of("a,b\n")}},
       csv("c.csv"),
       "{dir}/c.csv: expected at least one data row, found none"},
      {"csv: one column",
       {{"c.csv", test::bytes_of("a\n1\n")}},
       csv("c.csv"),
       "{dir}/c.csv:1: expected at least 2 columns (features and a label) separated by ',', "
       "found 1"},
      {"csv: binary garbage",
       {{"c.csv", {0x00, 0xFF, 0x10, '\n', 0x01}}},
       csv("c.csv"),
       "{dir}/c.csv:1: expected at least 2 columns (features and a label) separated by ',', "
       "found 1"},
      {"csv: unclosed quote in the label",
       {{"c.csv", test::bytes_of("x,y\n1,0\n2,\"3\n")}},
       csv("c.csv"),
       "{dir}/c.csv:3: column 2: unclosed quote (the field opened at character 3 has no closing "
       "'\"' on this line)"},
      {"csv: unclosed quote swallowing a delimiter",
       {{"c.csv", test::bytes_of("x,y,z\n\"1,2,0\n")}},
       csv("c.csv"),
       "{dir}/c.csv:2: column 1: unclosed quote (the field opened at character 1 has no closing "
       "'\"' on this line)"},
      {"csv: unclosed quote in the header",
       {{"c.csv", test::bytes_of("\"x,y\n1,0\n")}},
       csv("c.csv"),
       "{dir}/c.csv:1: column 1: unclosed quote (the field opened at character 1 has no closing "
       "'\"' on this line)"},
      {"csv: text after the closing quote",
       {{"c.csv", test::bytes_of("x,y\n\"1\"5,0\n")}},
       csv("c.csv"),
       "{dir}/c.csv:2: column 1: expected ',' or the end of the line after the closing quote, "
       "found '5'"},
      {"csv: stray quote",
       {{"c.csv", test::bytes_of("x,y\n1,a\"b\n")}},
       csv("c.csv"),
       "{dir}/c.csv:2: column 2: stray '\"' inside the unquoted field 'a\"b' (quote the whole "
       "field and double inner quotes)"},
      {"csv: label of a billion",
       {{"c.csv", test::bytes_of("x,y\n1,0\n2,1000000000\n3,1\n")}},
       csv("c.csv"),
       "{dir}/c.csv:3: column 2: expected a class index below 10000, found label 1000000000 "
       "(CsvOptions::max_classes; is this the label column?)"},
      {"csv: label beyond int64",
       {{"c.csv", test::bytes_of("x,y\n1,0\n2,1e30\n")}},
       csv("c.csv"),
       "{dir}/c.csv:3: column 2: expected a class index below 10000, found label 1e30 "
       "(CsvOptions::max_classes; is this the label column?)"},
      {"csv: label just past the bound",
       {{"c.csv", test::bytes_of("x,y\n1,3\n2,0\n")}},
       csv("c.csv", few),
       "{dir}/c.csv:2: column 2: expected a class index below 3, found label 3 "
       "(CsvOptions::max_classes; is this the label column?)"},
      {"csv: too many distinct class names",
       {{"c.csv", test::bytes_of("x,y\n1,a\n2,b\n3,a\n4,c\n5,d\n")}},
       csv("c.csv", few),
       "{dir}/c.csv:6: column 2: label 'd' is distinct label number 4, expected at most 3 "
       "classes (CsvOptions::max_classes; is this the label column?)"},
      {"csv: ragged row",
       {{"c.csv", test::bytes_of("1,2,0\n1,2\n")}},
       csv("c.csv", no_header),
       "{dir}/c.csv:2: expected 3 fields (as in line 1), found 2 (ragged row)"},
      {"csv: quoted delimiter stays inside a feature field",
       {{"c.csv", test::bytes_of("a,b,y\n1,\"2,5\",0\n")}},
       csv("c.csv"),
       "{dir}/c.csv:2: column 2 ('b'): expected a finite number, found '2,5'"},
      {"csv: infinite feature",
       {{"c.csv", test::bytes_of("a,y\ninf,0\n")}},
       csv("c.csv"),
       "{dir}/c.csv:2: column 1 ('a'): expected a finite number, found 'inf'"},
      {"csv: overflowing feature",
       {{"c.csv", test::bytes_of("a,y\n1e999,0\n")}},
       csv("c.csv"),
       "{dir}/c.csv:2: column 1 ('a'): expected a finite number, found '1e999'"},
      {"csv: feature beyond the float range",
       {{"c.csv", test::bytes_of("a,y\n1e300,0\n")}},
       csv("c.csv"),
       "{dir}/c.csv:2: column 1 ('a'): expected a number within the 32-bit float range (|x| <= "
       "3.4e38), found '1e300'"},
      {"csv: control bytes are escaped in the message",
       {{"c.csv", test::bytes_of(std::string("a,y\n1\x01\r2,0\n"))}},
       csv("c.csv"),
       "{dir}/c.csv:2: column 1 ('a'): expected a finite number, found '1\\x01\\x0D2'"},
      {"csv: empty label among names",
       {{"c.csv", test::bytes_of("a,y\n1,cat\n2,\"\"\n")}},
       csv("c.csv"),
       "{dir}/c.csv:3: column 2: expected a label, found an empty field"},
  };
}
}  // namespace

TEST_CASE("damaged inputs: IDX files and pairs are refused with exact messages, files untouched") {
  for (const DamagedCase& c : idx_cases()) test::run_case(c);
}

TEST_CASE("damaged inputs: CIFAR-10 batches and folders are refused with exact messages") {
  for (const DamagedCase& c : cifar_cases()) test::run_case(c);
}

TEST_CASE("damaged inputs: CSV files are refused with exact messages naming line and column") {
  for (const DamagedCase& c : csv_cases()) test::run_case(c);
}

TEST_CASE("csv quoting: quoted fields may hold the delimiter and doubled quotes") {
  const std::string dir = test::temp_dir("csv-quotes");
  test::write_text(dir + "/q.csv",
                   "\"x\", \"the \"\"label\"\"\"\n\"1.5\",\"a,b\"\n 2 , \"c\" \n3,\"a,b\"\n");
  CsvOptions by_name;
  by_name.label_name = "the \"label\"";
  Dataset ds = read_csv(dir + "/q.csv", by_name);
  CHECK(ds.class_names == std::vector<std::string>{"a,b", "c"});
  CHECK(ds.labels.to_vector<int64_t>() == std::vector<int64_t>{0, 1, 0});
  CHECK(ds.features.to_vector<float>() == std::vector<float>{1.5f, 2, 3});
  // Labels up to the bound are fine; the bound is an option.
  test::write_text(dir + "/big.csv", "x,y\n1,0\n2,9999\n");
  CHECK(read_csv(dir + "/big.csv").num_classes == 10000);
  CsvOptions more;
  more.max_classes = 20000;
  test::write_text(dir + "/bigger.csv", "x,y\n1,0\n2,19999\n");
  CHECK(read_csv(dir + "/bigger.csv", more).num_classes == 20000);
}

TEST_CASE("registry: an MNIST split of a non-standard size loads with a note") {
  const std::string root = test::temp_dir("registry-note");
  std::filesystem::create_directories(root + "/mnist");
  test::write_bytes(root + "/mnist/t10k-images-idx3-ubyte", idx({2, 28, 28}, 2 * 784));
  test::write_bytes(root + "/mnist/t10k-labels-idx1-ubyte", labels({4, 5}));
  Dataset ds = load_dataset("mnist", "test", root);
  CHECK(ds.size() == 2);
  CHECK(ds.note == "non-standard mnist test split: 2 records instead of 10000 (" + root +
                       "/mnist/t10k-images-idx3-ubyte)");
}

TEST_CASE("shape_numel: overflow is an Error naming the shape, not a wrapped count") {
  CHECK(shape_numel({3, 4, 5}) == 60);
  CHECK(shape_numel({}) == 1);
  CHECK(shape_numel({7, 0, int64_t{1} << 62}) == 0);
  CHECK(shape_numel({int64_t{1} << 31, int64_t{1} << 31}) == int64_t{1} << 62);
  CHECK_THROWS_WITH_AS(shape_numel({1 << 20, 1 << 19, 1 << 25}),
                       "shape [1048576, 524288, 33554432]: the element count overflows int64 "
                       "(more than 9223372036854775807 elements)",
                       Error);
  CHECK_THROWS_AS(Tensor::empty({int64_t{1} << 40, int64_t{1} << 40}, DType::u8), Error);
}

TEST_CASE("loader: an empty dataset is refused, not iterated as an epoch of nothing") {
  Dataset empty;
  empty.name = "nothing";
  empty.num_classes = 2;
  empty.features = Tensor::empty({0, 3}, DType::f32);
  empty.labels = Tensor::empty({0}, DType::i64);
  CHECK_THROWS_WITH_AS(DataLoader(empty, 4),
                       "DataLoader: dataset 'nothing' has no samples, expected at least one",
                       Error);
}
