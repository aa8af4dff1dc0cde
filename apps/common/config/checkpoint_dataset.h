// Which data set a LUT-network checkpoint was trained on, read from the config it stores: the
// export and inference apps use it when no --dataset is given.
#pragma once
#include <string>

namespace difflut::app {

// The checkpoint's dataloaders.name; fills `data_root` from the stored config when it is empty and
// the config names one. Throws difflut::Error for a checkpoint without a stored config, ending the
// message with `hint` (what the user can pass instead).
std::string checkpoint_dataset(const std::string& checkpoint, std::string* data_root,
                               const std::string& hint);

}  // namespace difflut::app
