// LUTLayer: one layer of LUT nodes as a Module. A mapping picks, for every node, its k inputs out of
// the layer's F inputs (slot j*k + l is input l of node j), then the node type turns each node's k
// bits into one output. Mappings: random and cyclic are fixed index vectors applied with the core
// gather op (its CSR inverse built once per device); learnable is DWN's trainable W [F, N*k] (hard
// argmax gather forward, optionally updated by a fused dW + optimizer pass, lut/learnable_mapping.h);
// sparse learns, per slot, a choice among C candidate inputs drawn at construction (W [N*k, C],
// lut/sparse_mapping.h).
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "autograd/nn/module.h"
#include "lut/layer_aids.h"
#include "lut/nodes/node_types.h"
#include "lut/sparse_probe.h"
#include "tensor/random.h"

namespace difflut {

class NodeType;
struct LearnableMappingState;
struct SparseMappingState;

enum class MappingKind { random, cyclic, learnable, sparse };

// "random", "cyclic", "learnable", "sparse".
std::string mapping_kind_name(MappingKind kind);
// Parses a mapping name; anything else throws difflut::Error naming `what` and the known names.
MappingKind parse_mapping_kind(const std::string& name, const std::string& what = "layer_type");

struct LUTLayerOptions {
  int64_t input_size = 0;  // F: width of the layer's input
  int64_t num_nodes = 0;   // N: nodes (= outputs)
  int k = 6;               // inputs per node, 1..8
  MappingKind mapping = MappingKind::random;
  // The node type, by name (any registered type: "dwn", "linear_lut", a registered custom type)
  // with the built-in types' options, or as an object (which wins; node_type_name must then be
  // empty or its name). Both empty: "dwn". An unknown name throws difflut::Error listing the known
  // ones: "LUTLayerOptions.node_type_name='x' is not a registered node type (known: dwn, ...)".
  std::string node_type_name;
  NodeOptions node_options;
  std::shared_ptr<NodeType> node_type;
  int64_t cyclic_stride = 1;    // cyclic mapping: node j starts at input j * stride
  double learnable_tau = 1e-3;  // learnable mapping: softmax temperature of the backward
  // Learnable mapping: W's Parameter gets the fused dW + optimizer + argmax custom_update. Sparse
  // mapping on the CPU: the fused dW + optimizer update (lut/sparse_mapping.h); a layer moved to
  // CUDA (Module::to) uses the generic optimizer path there and the fused update again once back.
  bool fused_update = true;
  // Training aids (lut/layer_aids.h; training mode only, never in eval graphs or hardware): each
  // input bit flipped with this probability (0: off), and the output gradient rescaled.
  double flip_probability = 0.0;
  GradStabilizationOptions grad_stabilization{};
  // Sparse mapping: candidate inputs per slot (C), 1 <= C <= input_size.
  int64_t sparse_candidates = 8;
  // Sparse mapping: 0 = C random candidates per slot; G >= 1 = the public DiffLUT's grouped
  // connections (grouped_mapping_candidates: each node chooses within its group's window of the
  // inputs; C is then the window width and sparse_candidates is ignored).
  int64_t sparse_groups = 0;
  double sparse_group_overlap = 0.0;  // grouped: window widened by this fraction of a group
  DType dtype = DType::f32;
  Device device = Device::cpu;
};

class LUTLayer : public Module {
 public:
  // Draws the mapping (random), then the node parameters (NodeType::init), then W (learnable) from
  // `gen`, in that order. Throws difflut::Error for k outside [1, 8] or non-positive sizes.
  LUTLayer(const LUTLayerOptions& options, Generator& gen);
  ~LUTLayer() override;

  // x [B, F] -> [B, N]. Appends the mapping node ("<prefix>mapping") and the node op
  // ("<prefix>nodes"), where <prefix> is this layer's dotted name from the outermost module
  // ("layer0." inside a LUTNetwork). The node type runs its training forward in training mode;
  // training mode also adds the training aids that are on ("<prefix>bit_flip" before the mapping,
  // "<prefix>grad_stabilize" after the nodes). Each training forward with bit flips draws a new
  // mask (the augmentation step counts up; set_augmentation_step sets it).
  Var forward(Graph& g, Var x) override;
  // The step whose bit-flip mask the next training forward draws: the mask is a function of the
  // layer's seed (drawn at construction) and this step, so a trainer that sets it from its global
  // step makes a resumed run draw the masks of the uninterrupted one.
  void set_augmentation_step(uint64_t step) { aug_step_ = step; }
  std::string type_name() const override { return "LUTLayer"; }
  // The node type's own regularisation term of this layer's parameters (NodeType::regularization,
  // e.g. a custom node's weight decay) as a [1] value to add to the loss; differentiable in the
  // parameters. 0 for types without one (every built-in type). Runs the custom_lut_reg op, which
  // evaluates the term on the host (a copy of the parameters when they live on the GPU).
  Var node_regularization(Graph& g);

  const LUTLayerOptions& options() const { return opt_; }
  int64_t input_size() const { return opt_.input_size; }
  int64_t num_nodes() const { return opt_.num_nodes; }
  int k() const { return opt_.k; }
  int64_t num_slots() const { return opt_.num_nodes * opt_.k; }
  MappingKind mapping_kind() const { return opt_.mapping; }
  const std::shared_ptr<NodeType>& node_type() const { return opt_.node_type; }

  // The input index each slot reads now: i64 [N*k] on the host. Learnable: argmax_i W[i, slot]
  // (first index on ties), i.e. exactly what the forward gathers; sparse: cand[slot, argmax_c W].
  Tensor mapping_indices() const;
  // Replaces a fixed (random/cyclic) mapping, e.g. from a checkpoint: i64 or i32 [N*k], every entry
  // in [0, F). Throws for a learnable or sparse layer (set W instead).
  void set_mapping_indices(const Tensor& index);

  Parameter& node_params() { return *params_; }  // [N, P], registered as "params"
  // W [F, N*k] (learnable) or [N*k, C] (sparse), registered as "mapping_weights"; null otherwise.
  Parameter* mapping_weights() { return weights_; }
  const std::shared_ptr<LearnableMappingState>& mapping_state() const { return state_; }
  // Sparse mapping: the candidates, i32 [N*k, C] on the host (undefined otherwise).
  const Tensor& mapping_candidates() const { return candidates_; }
  // Replaces them (a checkpoint): i32/i64 [N*k, C], every entry in [0, F).
  void set_mapping_candidates(const Tensor& candidates);
  // Call after writing W outside the optimizer (loading a checkpoint): drops the cached argmax.
  void invalidate_mapping_cache();

  // A sparse layer's candidates as "mapping_candidates" (i32 [N*k, C]): the candidate refresh
  // changes them during training (lut/sparse_refresh.h), so training checkpoints carry them.
  NamedTensors extra_state() const override;
  void check_extra_state(const NamedTensors& state) const override;
  void load_extra_state(const NamedTensors& state) override;

  // Gradient probe of a sparse layer (lut/sparse_probe.h; null: off). While one is set, every
  // training forward keeps the mapping's input and marks its output's gradient to be retained;
  // collect_probe(g), after g's backward, adds that step to the probe.
  void set_probe(SparseProbe* probe);
  void collect_probe(const Graph& g);

  // Whether W's fused sparse update is installed (a sparse layer with fused_update, on the CPU).
  bool sparse_fused_update_active() const { return sparse_state_ != nullptr; }

 protected:
  // The fused sparse update has no CUDA kernel: moved to CUDA the layer falls back to the generic
  // optimizer path (dW in W's gradient), moved back to the CPU it installs the fused update again.
  // A backward still waiting in the fused update's stash cannot follow: the move is refused.
  void check_device_change(Device device) const override;
  void on_device_changed(Device device) override;

 private:
  void install_sparse_fused_update();
  struct FixedCache;   // index + CSR inverse on one device
  struct SparseCache;  // candidates + their CSR inverse on one device
  std::string node_prefix() const;
  // Throws unless `candidates` can replace candidates_ (shape, integer dtype, range); `who` starts
  // the message. Returns the i64 host copy it checked.
  Tensor check_candidates(const Tensor& candidates, const std::string& who) const;

  LUTLayerOptions opt_;
  Parameter* params_ = nullptr;
  Parameter* weights_ = nullptr;
  Tensor index_;  // fixed mappings: i32 [N*k] on the host
  std::unique_ptr<FixedCache> cache_;
  Tensor candidates_;  // sparse mapping: i32 [N*k, C] on the host
  std::unique_ptr<SparseCache> sparse_cache_;
  std::shared_ptr<LearnableMappingState> state_;
  std::shared_ptr<SparseMappingState> sparse_state_;  // sparse mapping with a fused update
  SparseProbe* probe_ = nullptr;
  Var probe_x_, probe_out_;  // the last probed forward's mapping input and output
  uint64_t aug_seed_ = 0;    // drawn from the generator last, only when flip_probability > 0
  uint64_t aug_step_ = 0;
};

}  // namespace difflut
