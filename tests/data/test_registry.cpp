// Dataset registry: names and aliases, data-root resolution, and errors for unknown names and
// missing files (no dataset is read here).
#include <cstdlib>
#include <filesystem>

#include "data/registry.h"
#include "data_files.h"
#include "test_util.h"

using namespace difflut;

namespace {
// Sets an environment variable for one scope and restores it afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) {
      old_ = old;
      had_ = true;
    }
    set(value);
  }
  ~ScopedEnv() { set(had_ ? old_.c_str() : nullptr); }

 private:
  void set(const char* value) {
    if (value) {
      ::setenv(name_, value, 1);
    } else {
      ::unsetenv(name_);
    }
  }
  const char* name_;
  std::string old_;
  bool had_ = false;
};
}  // namespace

TEST_CASE("registry: names are case-insensitive and fashion-mnist aliases resolve") {
  CHECK(canonical_dataset_name("MNIST") == "mnist");
  CHECK(canonical_dataset_name("fashion_mnist") == "fashionmnist");
  CHECK(canonical_dataset_name("Fashion-MNIST") == "fashionmnist");
  CHECK(canonical_dataset_name("cifar10") == "cifar10");
  CHECK(known_dataset_names() == std::vector<std::string>{"mnist", "fashionmnist", "cifar10"});
}

TEST_CASE("registry: an unknown name lists the known ones; an unknown split is named") {
  CHECK_THROWS_WITH_AS(load_dataset("svhn", "train"),
                       test::has("dataset 'svhn' is not known (known: mnist, fashionmnist, "
                                 "cifar10"),
                       Error);
  CHECK_THROWS_WITH_AS(load_dataset("mnist", "validation"),
                       test::has("mnist: unknown split 'validation' (known: train, test)"), Error);
}

TEST_CASE("registry: data root is the argument, else DIFFLUT_DATA_ROOT, else ../shared/data") {
  ScopedEnv env("DIFFLUT_DATA_ROOT", "/some/root");
  CHECK(resolve_data_root("/explicit") == "/explicit");
  CHECK(resolve_data_root() == "/some/root");
  ScopedEnv unset("DIFFLUT_DATA_ROOT", nullptr);
  CHECK(resolve_data_root() == "../shared/data");
}

TEST_CASE("registry: Fashion-MNIST is found via env, then <root>/fashion-mnist, then Debian") {
  const std::string root = test::temp_dir("registry-root");
  ScopedEnv unset("DIFFLUT_FASHION_MNIST_DIR", nullptr);
  CHECK(resolve_fashion_mnist_dir(root) == "/usr/share/datasets/fashion-mnist");
  std::filesystem::create_directories(root + "/fashion-mnist");
  CHECK(resolve_fashion_mnist_dir(root) == root + "/fashion-mnist");
  ScopedEnv env("DIFFLUT_FASHION_MNIST_DIR", "/elsewhere");
  CHECK(resolve_fashion_mnist_dir(root) == "/elsewhere");
}

TEST_CASE("registry: missing files name the path and how to provide the data") {
  const std::string root = test::temp_dir("registry-missing");
  CHECK_THROWS_WITH_AS(load_dataset("mnist", "train", root),
                       test::has("mnist: missing " + root + "/mnist/train-images-idx3-ubyte.gz"),
                       Error);
  CHECK_THROWS_WITH_AS(load_dataset("mnist", "test", root), test::has("DIFFLUT_DATA_ROOT"), Error);
  CHECK_THROWS_WITH_AS(load_dataset("cifar10", "train", root),
                       test::has("cifar10: missing folder " + root + "/cifar10"), Error);
  std::filesystem::create_directories(root + "/cifar10");
  CHECK_THROWS_WITH_AS(load_dataset("cifar10", "train", root),
                       test::has(root + "/cifar10/data_batch_1.bin"), Error);
  CHECK_THROWS_WITH_AS(load_dataset("cifar10", "test", root), test::has("test_batch_first1000.bin"),
                       Error);
  ScopedEnv env("DIFFLUT_FASHION_MNIST_DIR", (root + "/nowhere").c_str());
  CHECK_THROWS_WITH_AS(load_dataset("fashionmnist", "train", root),
                       test::has("dataset-fashion-mnist"), Error);
  CHECK_THROWS_WITH_AS(load_dataset("fashionmnist", "train", root),
                       test::has("DIFFLUT_FASHION_MNIST_DIR"), Error);
}

TEST_CASE("registry: an uncompressed IDX pair is used when the .gz files are absent") {
  const std::string root = test::temp_dir("registry-plain");
  std::filesystem::create_directories(root + "/mnist");
  test::write_bytes(root + "/mnist/t10k-images-idx3-ubyte",
                    test::make_idx({3, 28, 28}, test::pattern_bytes(3 * 784)));
  test::write_bytes(root + "/mnist/t10k-labels-idx1-ubyte", test::make_idx({3}, {4, 5, 6}));
  Dataset ds = load_dataset("mnist", "test", root);
  CHECK(ds.labels.to_vector<int64_t>() == std::vector<int64_t>{4, 5, 6});
  CHECK(ds.features.shape() == Shape{3, 28, 28});
}
