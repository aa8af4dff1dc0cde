// Named benchmark datasets and their file locations (see registry.h).
#include "data/registry.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "data/cifar10.h"
#include "data/idx.h"

namespace difflut {

namespace {
namespace fs = std::filesystem;

constexpr const char* kDebianFashionDir = "/usr/share/datasets/fashion-mnist";

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string known_list() {
  std::string out;
  for (const std::string& n : known_dataset_names()) out += (out.empty() ? "" : ", ") + n;
  return out + "; aliases fashion_mnist, fashion-mnist";
}

// <dir>/<base>.gz, else the uncompressed <dir>/<base>; a missing file names both and `hint`.
std::string find_idx_file(const fs::path& dir, const std::string& base, const std::string& dataset,
                          const std::string& hint) {
  const fs::path gz = dir / (base + ".gz");
  const fs::path plain = dir / base;
  if (fs::exists(gz)) return gz.string();
  if (fs::exists(plain)) return plain.string();
  DIFFLUT_FAIL(dataset, ": missing ", gz.string(), " (nor uncompressed ", plain.filename().string(),
               "); ", hint);
}

const std::vector<std::string>& fashion_class_names() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                                 "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                                 "Bag",         "Ankle boot"};
  return names;
}

Dataset load_idx_pair(const fs::path& dir, const std::string& split, const std::string& dataset,
                      const std::string& hint) {
  const std::string prefix = split == "train" ? "train" : "t10k";
  const std::string images = find_idx_file(dir, prefix + "-images-idx3-ubyte", dataset, hint);
  const std::string labels = find_idx_file(dir, prefix + "-labels-idx1-ubyte", dataset, hint);
  Dataset ds = read_idx_dataset(images, labels, 10, dataset + "/" + split, {28, 28});
  // IDX headers carry their record count, so a cut file is already an error; a complete file
  // with another count is a deliberate subset, which results must not be reported as the
  // standard split.
  const int64_t standard = split == "train" ? 60000 : 10000;
  if (ds.size() != standard) {
    ds.note = "non-standard " + dataset + " " + split + " split: " + std::to_string(ds.size()) +
              " records instead of " + std::to_string(standard) + " (" + images + ")";
    std::cerr << "difflut: warning: " << ds.note << "\n";
  }
  return ds;
}
}  // namespace

const std::vector<std::string>& known_dataset_names() {
  static const std::vector<std::string> names = {"mnist", "fashionmnist", "cifar10"};
  return names;
}

std::string canonical_dataset_name(const std::string& name) {
  const std::string n = lower(name);
  if (n == "fashion_mnist" || n == "fashion-mnist") return "fashionmnist";
  for (const std::string& k : known_dataset_names()) {
    if (n == k) return k;
  }
  DIFFLUT_FAIL("dataset '", name, "' is not known (known: ", known_list(), ")");
}

std::string resolve_data_root(const std::string& explicit_root) {
  if (!explicit_root.empty()) return explicit_root;
  if (const char* env = std::getenv("DIFFLUT_DATA_ROOT"); env && *env) return env;
  return "../shared/data";
}

std::string resolve_fashion_mnist_dir(const std::string& data_root) {
  if (const char* env = std::getenv("DIFFLUT_FASHION_MNIST_DIR"); env && *env) return env;
  const fs::path local = fs::path(data_root) / "fashion-mnist";
  std::error_code ec;
  if (fs::is_directory(local, ec)) return local.string();
  return kDebianFashionDir;
}

Dataset load_dataset(const std::string& name, const std::string& split,
                     const std::string& data_root) {
  const std::string canon = canonical_dataset_name(name);
  DIFFLUT_CHECK(split == "train" || split == "test", canon, ": unknown split '", split,
                "' (known: train, test)");
  const std::string root = resolve_data_root(data_root);
  if (canon == "mnist") {
    return load_idx_pair(fs::path(root) / "mnist", split, canon,
                         "set DIFFLUT_DATA_ROOT (or the data root option) to the folder holding "
                         "mnist/ (now " +
                             root + ")");
  }
  if (canon == "fashionmnist") {
    Dataset ds = load_idx_pair(resolve_fashion_mnist_dir(root), split, canon,
                               "install the Debian package dataset-fashion-mnist (files in " +
                                   std::string(kDebianFashionDir) +
                                   ") or set DIFFLUT_FASHION_MNIST_DIR to the folder holding them");
    ds.class_names = fashion_class_names();
    return ds;
  }
  DIFFLUT_ASSERT(canon == "cifar10");
  const fs::path dir = fs::path(root) / "cifar10";
  std::error_code ec;
  DIFFLUT_CHECK(fs::is_directory(dir, ec), "cifar10: missing folder ", dir.string(),
                "; set DIFFLUT_DATA_ROOT (or the data root option) to the folder holding cifar10/ "
                "(the CIFAR-10 binary version)");
  return load_cifar10(dir.string(), split);
}

}  // namespace difflut
