// Seeded mutation fuzzer over the dataset readers: valid IDX (plain and gz), IDX pairs, CIFAR-10
// batches, CSV (plain and gz) and image folders (PNG, JPEG, BMP) are mutated (bit flips, byte
// sets, interesting 32-bit values, truncation, insertion, deletion, duplication) a fixed number of
// times each, and every read must either succeed with a valid Dataset / consistent tensor or throw
// difflut::Error naming the file; any other exception fails, and the input file must be unchanged.
//
// Each iteration's random stream depends only on (seed, format, iteration), so a failure
// reproduces alone: the failure message gives DIFFLUT_FUZZ_SEED and DIFFLUT_FUZZ_ONLY to set. A
// crash leaves the input that caused it in the format's temp folder. DIFFLUT_FUZZ_ITERS changes
// the iteration count (400 per format here, about 2 s; the sanitizer build with 2000-5000 per
// format found the stb_image Huffman-table overflow that image_folder_stb.cpp now refuses). Needs
// zlib and stb (the _full suffix leaves it out of minimal builds).
#include <zlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "damaged_corpus.h"
#include "data/cifar10.h"
#include "data/csv.h"
#include "data/idx.h"
#include "data/image_folder.h"
#include "gzip_util.h"
#include "image_bytes.h"

using namespace difflut;

namespace {
// splitmix64: tiny, and the same numbers on every platform (std distributions are not).
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  size_t below(size_t n) { return n ? static_cast<size_t>(next() % n) : 0; }
};

uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

std::vector<uint8_t> gz(const std::vector<uint8_t>& in) { return test::gzip_bytes(in); }

// One to four mutations of `b`.
std::vector<uint8_t> mutate(std::vector<uint8_t> b, Rng& r) {
  static const uint32_t kInteresting[] = {0,          1,          0x7F,       0x80,
                                          0xFF,       0x100,      0x7FFFFFFF, 0x80000000,
                                          0xFFFFFFFF, 0xFFFFFFFE, 1u << 20,   1u << 25};
  const size_t count = 1 + r.below(4);
  for (size_t m = 0; m < count; ++m) {
    const size_t at = r.below(b.size() + 1);
    switch (r.below(8)) {
      case 0:
        if (!b.empty()) b[r.below(b.size())] ^= static_cast<uint8_t>(1u << r.below(8));
        break;
      case 1:
        if (!b.empty()) b[r.below(b.size())] = static_cast<uint8_t>(r.next());
        break;
      case 2: {  // a 32-bit field (sizes, extents) set to an edge value, either byte order
        if (b.size() < 4) break;
        const size_t p = r.below(b.size() - 3);
        const uint32_t v = kInteresting[r.below(std::size(kInteresting))];
        const bool big = r.below(2) == 0;
        for (int k = 0; k < 4; ++k) {
          b[p + k] = static_cast<uint8_t>(v >> (big ? 24 - 8 * k : 8 * k));
        }
        break;
      }
      case 3: b.resize(r.below(b.size() + 1)); break;
      case 4: {
        std::vector<uint8_t> ins(1 + r.below(16));
        for (uint8_t& x : ins) x = static_cast<uint8_t>(r.next());
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), ins.begin(), ins.end());
        break;
      }
      case 5: {
        const size_t n = std::min(b.size() - std::min(at, b.size()), 1 + r.below(64));
        b.erase(b.begin() + static_cast<std::ptrdiff_t>(at),
                b.begin() + static_cast<std::ptrdiff_t>(at + n));
        break;
      }
      case 6: {  // duplicate a range at its end
        if (b.empty()) break;
        const size_t p = r.below(b.size());
        const size_t n = std::min(b.size() - p, 1 + r.below(256));
        std::vector<uint8_t> copy(b.begin() + static_cast<std::ptrdiff_t>(p),
                                  b.begin() + static_cast<std::ptrdiff_t>(p + n));
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(p + n), copy.begin(), copy.end());
        break;
      }
      default:  // a text-format byte: delimiters, quotes, newlines, signs
        if (!b.empty()) {
          b[r.below(b.size())] = static_cast<uint8_t>(",\"\n\r-.e9 \t\0"[r.below(11)]);
        }
        break;
    }
  }
  return b;
}

std::vector<uint8_t> read_back(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

struct Format {
  std::string name;
  std::string file;                      // the mutated file, relative to the format's folder
  std::vector<test::CorpusFile> others;  // files that stay valid
  std::vector<uint8_t> seed_input;
  std::function<void(const std::string& dir)> read;  // throws, or CHECKs what it read
};

std::vector<Format> formats() {
  const std::vector<uint8_t> idx = test::make_idx({4, 6, 5}, test::pattern_bytes(120));
  const std::vector<uint8_t> labels = test::make_idx({4}, {0, 3, 9, 1});
  std::vector<uint8_t> cifar;
  for (int r = 0; r < 2; ++r) {
    cifar.push_back(static_cast<uint8_t>(r + 4));
    for (int p = 0; p < 3072; ++p) cifar.push_back(static_cast<uint8_t>(p * r));
  }
  const std::string csv = "f1,\"f 2\",label\n0.5,1e-3,cat\n\"2\",-4,dog\n\n7,8,\"cat\"\n";
  const std::string csv_num = "a,b,y\n1,2,0\n3,4,2\n5,6,1\n";
  auto dataset_ok = [](const Dataset& ds) {
    ds.validate();
    CHECK(ds.size() >= 1);
    CHECK(ds.features.numel() == ds.size() * ds.feature_dim());
  };
  auto idx_ok = [](const Tensor& t, const std::string& path) {
    // The shape must describe exactly the bytes the file held (after the header).
    CHECK(static_cast<uint64_t>(t.numel()) <= std::filesystem::file_size(path) * 1100 + 64);
    CHECK(t.nbytes() == static_cast<size_t>(t.numel()));
  };
  auto images = [dataset_ok](const std::string& dir) {
    dataset_ok(read_image_folder(dir + "/root"));
  };
  return {
      {"idx",
       "f",
       {},
       idx,
       [idx_ok](const std::string& dir) { idx_ok(read_idx_u8(dir + "/f"), dir + "/f"); }},
      {"idx-gz",
       "f.gz",
       {},
       gz(idx),
       [idx_ok](const std::string& dir) { idx_ok(read_idx_u8(dir + "/f.gz", 3), dir + "/f.gz"); }},
      {"idx-pair",
       "img",
       {{"lbl", labels}},
       idx,
       [dataset_ok](const std::string& dir) {
         dataset_ok(read_idx_dataset(dir + "/img", dir + "/lbl", 10, "pair"));
       }},
      {"idx-pair-labels",
       "lbl",
       {{"img", idx}},
       labels,
       [dataset_ok](const std::string& dir) {
         dataset_ok(read_idx_dataset(dir + "/img", dir + "/lbl", 10, "pair"));
       }},
      {"cifar",
       "b.bin",
       {},
       cifar,
       [dataset_ok](const std::string& dir) {
         dataset_ok(read_cifar10_files({dir + "/b.bin"}, "gen"));
       }},
      {"csv",
       "c.csv",
       {},
       test::bytes_of(csv),
       [dataset_ok](const std::string& dir) {
         const Dataset ds = read_csv(dir + "/c.csv");
         dataset_ok(ds);
         CHECK(ds.num_classes <= 10000);
       }},
      {"csv-numeric",
       "c.csv",
       {},
       test::bytes_of(csv_num),
       [dataset_ok](const std::string& dir) {
         const Dataset ds = read_csv(dir + "/c.csv");
         dataset_ok(ds);
         CHECK(ds.num_classes <= 10000);
       }},
      {"csv-gz",
       "c.csv.gz",
       {},
       gz(test::bytes_of(csv_num)),
       [dataset_ok](const std::string& dir) { dataset_ok(read_csv(dir + "/c.csv.gz")); }},
      {"png",
       "root/a/x.png",
       {{"root/b/y.png", test::png_bytes(5, 4, 3, 9)}},
       test::png_bytes(5, 4, 3, 1),
       images},
      {"jpg",
       "root/a/x.jpg",
       {{"root/b/y.jpg", test::jpg_bytes(8, 8, 3, 9)}},
       test::jpg_bytes(8, 8, 3, 1),
       images},
      {"bmp",
       "root/a/x.bmp",
       {{"root/b/y.bmp", test::bmp_bytes(5, 4, 3, 9)}},
       test::bmp_bytes(5, 4, 3, 1),
       images},
  };
}
}  // namespace

TEST_CASE("fuzz: mutated dataset files are read correctly or refused with a difflut::Error") {
  const uint64_t seed = env_u64("DIFFLUT_FUZZ_SEED", 20261206);
  const uint64_t iters = env_u64("DIFFLUT_FUZZ_ITERS", 400);
  const char* only_env = std::getenv("DIFFLUT_FUZZ_ONLY");
  const bool only = only_env && *only_env;
  const uint64_t only_iter = env_u64("DIFFLUT_FUZZ_ONLY", 0);
  for (const Format& f : formats()) {
    const std::string dir = test::temp_dir("fuzz-" + f.name);
    test::write_case_files(dir, f.others);
    const std::string path = dir + "/" + f.file;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    // The unmutated input must read: otherwise the fuzzer would only test the error paths.
    test::write_bytes(path, f.seed_input);
    f.read(dir);
    uint64_t refused = 0;
    uint64_t format_hash = 0;
    for (char c : f.name) format_hash = format_hash * 131 + static_cast<unsigned char>(c);
    for (uint64_t it = only ? only_iter : 0; it < (only ? only_iter + 1 : iters); ++it) {
      Rng r{seed ^ (format_hash * 0x100000001B3ull) ^ (it * 0xD1B54A32D192ED03ull)};
      const std::vector<uint8_t> input = mutate(f.seed_input, r);
      test::write_bytes(path, input);
      INFO("format " << f.name << ": replay with DIFFLUT_FUZZ_SEED=" << seed
                     << " DIFFLUT_FUZZ_ONLY=" << it << " (input in " << path << ")");
      try {
        f.read(dir);
      } catch (const Error& e) {
        ++refused;
        // Every refusal names the file it is about (the image reader names the image or root).
        const std::string msg = e.what();
        const std::string named =
            f.name == "png" || f.name == "jpg" || f.name == "bmp" ? dir + "/root" : path;
        CHECK_MESSAGE(msg.find(named) != std::string::npos, msg);
        CHECK_MESSAGE(msg.find('\n') == std::string::npos, msg);
      } catch (const std::exception& e) {
        FAIL_CHECK("wrong exception class: " << e.what());
      }
      CHECK(read_back(path) == input);
    }
    MESSAGE("fuzz " << f.name << ": " << refused << " of " << (only ? 1 : iters)
                    << " mutated inputs refused");
  }
}
