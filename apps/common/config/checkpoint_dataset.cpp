// checkpoint_dataset: the stored config of a LUT-network checkpoint, parsed for its data set.
#include "common/config/checkpoint_dataset.h"

#include "common/config/config.h"
#include "common/config/config_compose.h"
#include "common/config/config_values.h"
#include "lut/lut_network.h"
#include "tensor/error.h"

namespace difflut::app {

std::string checkpoint_dataset(const std::string& checkpoint, std::string* data_root,
                               const std::string& hint) {
  const std::string yaml = load_lut_network_config(checkpoint);
  DIFFLUT_CHECK(!yaml.empty(), checkpoint, ": the checkpoint stores no config; ", hint);
  const Config cfg(parse_yaml_string(yaml, checkpoint + " (difflut.config)"));
  if (data_root->empty()) *data_root = string_or(cfg, "data_root", "");
  return cfg.get_string("dataloaders.name");
}

}  // namespace difflut::app
