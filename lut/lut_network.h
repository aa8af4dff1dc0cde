// LUTNetwork: the classifier the apps train. Raw features [B, F] in [0, 1] -> thermometer encoder
// (fitted on the training set) -> LUT layers (hidden_sizes, k inputs per node) -> GroupSum into
// C class scores. Its forward pass is the graph the HDL backend walks; the nodes it appends are
// named "encoder", "conv<i>.patches", "conv<i>.field" (learnable fields), "conv<i>.level<l>.nodes",
// "conv<i>.out", "conv<i>.pool", "layer<i>.mapping", "layer<i>.nodes", "groupsum" (parameter
// leaves: "conv<i>.params<l>", "conv<i>.field_weights", "layer<i>.params",
// "layer<i>.mapping_weights").
//
// Checkpoints: one safetensors file holds the parameters, the encoder thresholds and every layer's
// mapping indices; its __metadata__ describes the architecture (JSON, key "difflut.model") and
// carries the run's resolved config (key "difflut.config"). A JSON file beside it (same stem,
// ".json") repeats all of that readably, with the thresholds and mappings as arrays.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "autograd/nn/module.h"
#include "encoders/thermometer.h"
#include "lut/conv_layer.h"
#include "lut/lut_layer.h"
#include "lut/nodes/node_types.h"

namespace difflut {

// One convolutional LUT layer of a network (ConvLUTOptions without the image and node type).
struct ConvLayerSpec {
  int64_t channels = 8;  // output channels (one tree each)
  int kernel = 3;        // receptive field kernel x kernel
  int stride = 1;
  int padding = 0;
  int tree_depth = 2;
  int k = 0;     // fan-in of the tree nodes; 0: the network's k
  int pool = 1;  // OR / max pooling window and stride after the layer (1: none)
  // 0: fixed receptive field; C >= 1: each leaf learns its window bit among C candidates, trained
  // with the network's learnable_tau (ConvLUTOptions::field_candidates).
  int64_t field_candidates = 0;
};

struct LUTNetworkConfig {
  int64_t num_features = 0;  // F: raw features per sample
  int num_classes = 0;       // C
  // Convolutional layers before the dense ones (empty: none). They read the encoded features as a
  // bit image: image_shape [C, H, W] (C * H * W = num_features), num_bits bits per input channel.
  std::vector<ConvLayerSpec> conv{};
  std::vector<int64_t> image_shape{};
  std::vector<int64_t> hidden_sizes = {2000, 1000};
  int k = 6;
  std::string node_type = "dwn";
  NodeOptions node_options;  // polylut degree, neurallut shape, probabilistic temperature
  MappingKind first_mapping = MappingKind::learnable;  // into layer 0
  MappingKind later_mapping = MappingKind::random;     // into every later layer
  double learnable_tau = 1e-3;
  int64_t sparse_candidates = 8;  // sparse mappings: candidate inputs per slot
  int64_t later_sparse_candidates =
      0;                      // the same for sparse mappings into later layers (0: as above)
  int64_t sparse_groups = 0;  // sparse mappings: grouped connections (LUTLayerOptions)
  double sparse_group_overlap = 0.0;
  double tau = 1.0 / 0.3;  // GroupSum temperature
  bool fused_update =
      true;  // learnable mappings, and sparse ones on the CPU: fused dW + optimizer step
  // Training aids of every layer (LUTLayerOptions; training mode only, not stored in checkpoints
  // since inference never uses them).
  double flip_probability = 0.0;
  GradStabilizationOptions grad_stabilization{};
  DType dtype = DType::f32;
  Device device = Device::cpu;
};

// C of layer i's sparse mapping (random candidates): sparse_candidates for the first layer,
// later_sparse_candidates (or, when 0, sparse_candidates) for every later one.
inline int64_t sparse_candidates_of_layer(const LUTNetworkConfig& c, size_t i) {
  return i == 0 || c.later_sparse_candidates == 0 ? c.sparse_candidates : c.later_sparse_candidates;
}

class LUTNetwork : public Module {
 public:
  // `encoder` must be fitted on F = config.num_features features. Layers draw their mappings and
  // parameters from `gen` in layer order. Throws difflut::Error for inconsistent settings (the
  // node type must be registered).
  LUTNetwork(const LUTNetworkConfig& config, ThermometerEncoder encoder, Generator& gen);

  // x [B, F] raw features (the network's dtype) -> logits [B, C].
  Var forward(Graph& g, Var x) override;
  std::string type_name() const override { return "LUTNetwork"; }

  const LUTNetworkConfig& config() const { return cfg_; }
  const ThermometerEncoder& encoder() const { return encoder_; }
  size_t num_layers() const { return layers_.size(); }
  LUTLayer& layer(size_t i) const { return *layers_.at(i); }
  size_t num_conv_layers() const { return convs_.size(); }
  ConvLUTLayer& conv_layer(size_t i) const { return *convs_.at(i); }
  // Width of the first dense layer's input: the last conv layer's output, or the encoder's.
  int64_t dense_input_width() const;
  Device device() const { return cfg_.device; }
  // weight · Σ over layers of node_regularizer(layer params) as a [1] value to add to the loss
  // (DiffLUT's per-layer functional or spectral regulariser of the node functions).
  Var regularization(Graph& g, LutRegularizer kind, double weight);
  // Σ over layers of LUTLayer::node_regularization: every layer's NodeType::regularization term
  // (e.g. a custom node's weight decay) as a [1] value to add to the loss. A training step adds it
  // whenever the node type has one: loss = add(loss, net.node_regularization(g)).
  Var node_regularization(Graph& g);
  // Whether any layer's node type has such a term (NodeType::has_regularization).
  bool has_node_regularization() const;
  // Every layer's bit-flip step (LUTLayer::set_augmentation_step); the trainer sets it per step.
  void set_augmentation_step(uint64_t step);
  // Moves parameters and records the device (forward then expects inputs there).
  LUTNetwork& to_device(Device device);

  // Class predictions (argmax of the logits, first index on ties) for host features [N, F] (f32),
  // in batches of `batch_size`, without gradients, in eval mode (the hard nodes the hardware has);
  // the network's train/eval mode is restored afterwards.
  Tensor predict(const Tensor& features, int64_t batch_size = 4096);
  // Logits [N, C] (host, network dtype) the same way (eval mode, mode restored).
  Tensor logits(const Tensor& features, int64_t batch_size = 4096);

 private:
  LUTNetworkConfig cfg_;
  ThermometerEncoder encoder_;
  std::vector<std::shared_ptr<ConvLUTLayer>> convs_;
  std::vector<std::shared_ptr<LUTLayer>> layers_;
};

// Fraction of predictions equal to labels (i64 [N] host).
double accuracy(const Tensor& predictions, const Tensor& labels);

struct LUTNetworkSaveOptions {
  // Also store learnable mappings' weights W ([F, N*k] each; 113 MB for the default model). Without
  // them a reloaded network has the same argmax mapping (W is rebuilt one-hot) and predicts the same,
  // but training resumes from that one-hot W rather than the trained scores.
  bool mapping_weights = false;
  std::string config_yaml;  // the run's resolved configuration, stored verbatim
  bool write_json = true;   // also write <stem>.json beside the safetensors file
};

// Writes `path` (.safetensors) and, unless disabled, <path without extension>.json.
void save_lut_network(LUTNetwork& net, const std::string& path,
                      const LUTNetworkSaveOptions& options = {});
// Rebuilds a network saved by save_lut_network on `device` (eval mode). Everything read is checked
// before the network is built, and any problem throws difflut::Error naming the file and the entry:
// unknown node types; metadata fields out of range or disagreeing with each other (num_classes
// against groupsum.num_classes, the encoder's output_features against num_features x num_bits,
// each layer's input_size against the previous width); missing, unexpected or misshapen tensors;
// NaN/Inf in any floating tensor (thresholds, tables, mapping weights); mapping indices out of
// range or differing from the argmax of the stored mapping weights; a model too large for the
// available memory.
std::shared_ptr<LUTNetwork> load_lut_network(const std::string& path, Device device = Device::cpu);
// The resolved config stored in a checkpoint ("" if none).
std::string load_lut_network_config(const std::string& path);

// Throws difflut::Error "<what>: expected finite values, found NaN at [i, j] (of f32[..])" if a
// floating tensor holds NaN or +-Inf; integer tensors always pass.
void check_finite_tensor(const Tensor& t, const std::string& what);
// The same over a network's encoder thresholds, node tables and mapping weights, naming the tensor
// as a checkpoint does ("<what>: tensor 'layer0.params': ..."). Resumes and exports call it.
void check_lut_network_finite(LUTNetwork& net, const std::string& what = "");

// The architecture description stored in checkpoints (JSON text, no arrays of values).
std::string lut_network_model_json(const LUTNetwork& net);

}  // namespace difflut
