// Named benchmark datasets (mnist, fashionmnist, cifar10) and where their files are found.
#pragma once
#include <string>
#include <vector>

#include "data/dataset.h"

namespace difflut {

// Canonical names load_dataset knows (aliases fashion_mnist and fashion-mnist map to fashionmnist).
const std::vector<std::string>& known_dataset_names();

// The canonical name for `name` (case-insensitive, aliases resolved); throws an Error listing the
// known names when there is none.
std::string canonical_dataset_name(const std::string& name);

// The data root: `explicit_root` if non-empty, else $DIFFLUT_DATA_ROOT, else "../shared/data".
std::string resolve_data_root(const std::string& explicit_root = "");

// The Fashion-MNIST folder: $DIFFLUT_FASHION_MNIST_DIR, else <data_root>/fashion-mnist if it
// exists, else /usr/share/datasets/fashion-mnist (Debian package dataset-fashion-mnist).
std::string resolve_fashion_mnist_dir(const std::string& data_root);

// Loads split "train" or "test" of a named dataset:
//   mnist         <root>/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]  u8 [N, 28, 28]
//   fashionmnist  resolve_fashion_mnist_dir(root)/ (same file names)              u8 [N, 28, 28]
//   cifar10       <root>/cifar10/data_batch_1..5.bin, test_batch.bin              u8 [N, 3, 32, 32]
//                 (test falls back to test_batch_first1000.bin; see Dataset::note)
// CIFAR-10 files must hold the published record counts (a cut headerless file is an error); an
// MNIST-style split of another size loads with a Dataset::note and a warning line on stderr.
// `data_root` as for resolve_data_root. Missing files throw an Error naming the path and how to
// provide it (the env var, the Debian package).
Dataset load_dataset(const std::string& name, const std::string& split,
                     const std::string& data_root = "");

}  // namespace difflut
