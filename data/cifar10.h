// CIFAR-10 binary-version reader: records of <1 label byte><1024 R><1024 G><1024 B> (32x32 planes).
#pragma once
#include <string>
#include <vector>

#include "data/dataset.h"

namespace difflut {

constexpr int64_t kCifar10RecordBytes = 1 + 3 * 32 * 32;  // 3073

// Reads and concatenates CIFAR-10 binary batch files into u8 features [N, 3, 32, 32] and i64
// labels. Each file must hold at least one record, its size must be a multiple of 3073 bytes and
// every label < 10; errors name the file and the record index.
Dataset read_cifar10_files(const std::vector<std::string>& paths, const std::string& name);

// The train (data_batch_1..5.bin) or test split from `dir`. The test split uses test_batch.bin, or,
// when only the partial copy test_batch_first1000.bin exists, that file: the returned Dataset's
// note then says so and a warning line goes to stderr, so results are not reported as the full
// CIFAR-10 test accuracy. Each file must hold the record count of the published data set (10000;
// 1000 for the partial test file). Class names come from batches.meta.txt when present.
Dataset load_cifar10(const std::string& dir, const std::string& split);

// The ten CIFAR-10 class names in label order.
const std::vector<std::string>& cifar10_class_names();

}  // namespace difflut
