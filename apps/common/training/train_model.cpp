// Training step 2, the model (see train_model.h).
#include "common/training/train_model.h"

#include "tensor/error.h"
#include "tensor/parallel.h"

namespace difflut::app {

std::unique_ptr<LUTNetwork> build_model(const ModelSettings& m, const Dataset& train, Device device,
                                        Generator& gen) {
  ThermometerEncoder encoder(m.encoder, m.encoder_bits, m.encoder_feature_wise);
  encoder.fit(train.features_f32());  // the f32 copy of the training set is dropped right after
  LUTNetworkConfig mc;
  mc.num_features = train.feature_dim();
  mc.num_classes = train.num_classes;
  mc.hidden_sizes = m.hidden_sizes;
  mc.k = m.k;
  mc.node_type = m.node_type;
  mc.node_options = m.node_options;
  mc.first_mapping = m.first_mapping;
  mc.later_mapping = m.later_mapping;
  mc.learnable_tau = m.learnable_tau;
  mc.tau = m.tau;
  mc.flip_probability = m.flip_probability;
  mc.grad_stabilization = m.grad_stabilization;
  mc.device = device;
  return std::make_unique<LUTNetwork>(mc, encoder, gen);
}

std::string describe_model(LUTNetwork& model, const ModelSettings& m) {
  const LUTNetworkConfig& mc = model.config();
  std::string arch =
      str_cat(model.encoder().kind_name(), is_level_code(model.encoder().kind()) ? " code (" : " thermometer (",
              m.encoder_bits, " bits) -> ");
  for (size_t i = 0; i < model.num_layers(); ++i)
    arch += str_cat(model.layer(i).num_nodes(), " x ", m.node_type, " k=", m.k, " (",
                    mapping_kind_name(model.layer(i).mapping_kind()), ") -> ");
  arch += str_cat("GroupSum(", mc.num_classes, ", tau=", mc.tau, ")");
  const Device device = model.device();
  return str_cat("model ", arch, ", ", model.num_parameters(), " parameters; device ",
                 device_name(device),
                 device == Device::cpu ? str_cat(" (", num_threads(), " threads)") : std::string());
}

}  // namespace difflut::app
