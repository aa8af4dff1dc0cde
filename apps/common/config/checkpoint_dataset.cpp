// checkpoint_dataset: the stored config of a LUT-network checkpoint, parsed for its data set and
// what of it trained the model.
#include "common/config/checkpoint_dataset.h"

#include "common/config/config.h"
#include "common/config/config_compose.h"
#include "common/config/config_values.h"
#include "lut/lut_network.h"
#include "tensor/error.h"

namespace difflut::app {

namespace {
Config stored_config(const std::string& checkpoint, const std::string& hint) {
  const std::string yaml = load_lut_network_config(checkpoint);
  DIFFLUT_CHECK(!yaml.empty(), checkpoint, ": the checkpoint stores no config; ", hint);
  return Config(parse_yaml_string(yaml, checkpoint + " (difflut.config)"));
}
}  // namespace

std::string checkpoint_dataset(const std::string& checkpoint, std::string* data_root,
                               const std::string& hint) {
  const Config cfg = stored_config(checkpoint, hint);
  if (data_root->empty()) *data_root = string_or(cfg, "data_root", "");
  return cfg.get_string("dataloaders.name");
}

CheckpointData checkpoint_data(const std::string& checkpoint, const std::string& hint) {
  const Config cfg = stored_config(checkpoint, hint);
  CheckpointData d;
  d.dataset = cfg.get_string("dataloaders.name");
  d.subset_size = int_at_least_or(cfg, "dataloaders.subset_size", 0, 0);
  d.holdout = int_at_least_or(cfg, "dataloaders.holdout", 0, 0);
  d.data_root = string_or(cfg, "data_root", "");
  return d;
}

}  // namespace difflut::app
