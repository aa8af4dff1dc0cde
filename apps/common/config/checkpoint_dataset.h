// Which data set a LUT-network checkpoint was trained on, read from the config it stores: the
// export and inference apps use it when no --dataset is given.
#pragma once
#include <cstdint>
#include <string>

namespace difflut::app {

// The checkpoint's dataloaders.name; fills `data_root` from the stored config when it is empty and
// the config names one. Throws difflut::Error for a checkpoint without a stored config, ending the
// message with `hint` (what the user can pass instead).
std::string checkpoint_dataset(const std::string& checkpoint, std::string* data_root,
                               const std::string& hint);

// What a checkpoint was trained on, from its stored config: the data set, the training subset
// (0: all) and the held-out test samples (0: the published test set). Checkpoints that agree in
// all three saw the same training images (up to a seed-drawn subset).
struct CheckpointData {
  std::string dataset;
  int64_t subset_size = 0;
  int64_t holdout = 0;
  std::string data_root;  // the stored data_root ("" if none)
};
// Throws difflut::Error for a checkpoint without a stored config, ending with `hint`.
CheckpointData checkpoint_data(const std::string& checkpoint, const std::string& hint);

}  // namespace difflut::app
