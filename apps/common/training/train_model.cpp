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
  mc.conv = m.conv;
  if (!mc.conv.empty()) {
    // Conv layers read each sample as an image: [H, W] is one channel, [C, H, W] as stored.
    const Shape shape = train.sample_shape();
    DIFFLUT_CHECK(shape.size() == 2 || shape.size() == 3,
                  "model.params.conv: convolutional layers need image samples [H, W] or [C, H, W], "
                  "found samples of shape ",
                  shape_str(shape), " in dataset '", train.name, "'");
    mc.image_shape = shape.size() == 2 ? std::vector<int64_t>{1, shape[0], shape[1]}
                                       : std::vector<int64_t>(shape.begin(), shape.end());
  }
  mc.k = m.k;
  mc.node_type = m.node_type;
  mc.node_options = m.node_options;
  mc.first_mapping = m.first_mapping;
  mc.later_mapping = m.later_mapping;
  mc.learnable_tau = m.learnable_tau;
  mc.sparse_candidates = m.sparse_candidates;
  mc.later_sparse_candidates = m.later_sparse_candidates;
  mc.sparse_groups = m.sparse_groups;
  mc.sparse_group_overlap = m.sparse_group_overlap;
  mc.tau = m.tau;
  mc.flip_probability = m.flip_probability;
  mc.grad_stabilization = m.grad_stabilization;
  mc.device = device;
  // A sparse mapping chooses among C distinct inputs of its layer: C above a layer's width is a
  // config error, named by its key before the library's own check. So are more groups than a
  // grouped layer's inputs, or a group count that leaves a group without nodes (its inputs would
  // never be connected). Behind conv layers the first dense layer's inputs are the last conv
  // layer's outputs: the network checks that layer itself.
  int64_t width = encoder.output_features();
  for (size_t i = 0; i < mc.hidden_sizes.size(); width = mc.hidden_sizes[i++]) {
    if (i == 0 && !mc.conv.empty()) continue;
    if ((i == 0 ? mc.first_mapping : mc.later_mapping) != MappingKind::sparse) continue;
    if (mc.sparse_groups == 0) {
      const int64_t C = sparse_candidates_of_layer(mc, i);
      DIFFLUT_CHECK(C <= width, "model.params.",
                    i > 0 && mc.later_sparse_candidates > 0 ? "later_" : "",
                    "sparse_candidates: expected at most ", width, " (the inputs of layer ", i,
                    ", whose mapping is sparse), found ", C);
      continue;
    }
    const int64_t G = mc.sparse_groups, nodes = mc.hidden_sizes[i];
    DIFFLUT_CHECK(G <= width, "model.params.num_groups: expected at most ", width,
                  " (the inputs of layer ", i, ", whose mapping is grouped), found ", G);
    const int64_t per = (nodes + G - 1) / G;
    DIFFLUT_CHECK((G - 1) * per < nodes, "model.params.num_groups: expected a group count that ",
                  "gives every group of layer ", i, " a node (its ", nodes, " nodes fill ",
                  (nodes + per - 1) / per, " groups of ", per, "), found ", G);
  }
  return std::make_unique<LUTNetwork>(mc, encoder, gen);
}

std::string describe_model(LUTNetwork& model, const ModelSettings& m) {
  const LUTNetworkConfig& mc = model.config();
  std::string arch = str_cat(model.encoder().kind_name(),
                             is_level_code(model.encoder().kind()) ? " code (" : " thermometer (",
                             m.encoder_bits, " bits) -> ");
  for (size_t i = 0; i < model.num_conv_layers(); ++i) {
    const ConvLUTOptions& o = model.conv_layer(i).options();
    const BitImage out = model.conv_layer(i).output();
    arch += str_cat("conv ", o.out_channels, " x ", o.kernel, "x", o.kernel, "/", o.stride, " pad ",
                    o.padding, " trees k=", o.k, " depth ", o.tree_depth,
                    o.pool > 1 ? str_cat(" OR-pool ", o.pool) : std::string(), " ", out.describe(),
                    " -> ");
  }
  for (size_t i = 0; i < model.num_layers(); ++i) {
    const LUTLayer& l = model.layer(i);
    const bool grouped = l.mapping_kind() == MappingKind::sparse && l.options().sparse_groups > 0;
    arch += str_cat(l.num_nodes(), " x ", m.node_type, " k=", m.k, " (",
                    grouped ? str_cat("grouped, ", l.options().sparse_groups, " groups")
                            : mapping_kind_name(l.mapping_kind()),
                    ") -> ");
  }
  arch += str_cat("GroupSum(", mc.num_classes, ", tau=", mc.tau, ")");
  const Device device = model.device();
  return str_cat("model ", arch, ", ", model.num_parameters(), " parameters; device ",
                 device_name(device),
                 device == Device::cpu ? str_cat(" (", num_threads(), " threads)") : std::string());
}

}  // namespace difflut::app
