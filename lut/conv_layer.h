// ConvLUTLayer: a convolutional LUT layer over a bit image (the public DiffLUT's convolutional
// layer). For every output position (receptive field kh x kw, stride, zero padding) and output
// channel o, a tree of LUT nodes of fan-in k and depth d reads k^d bits of the position's window:
// level 0 has k^(d-1) nodes per channel, each later level k times fewer, the root gives the
// channel's bit. Which window bit each leaf slot reads (channel, dy, dx) is drawn once from the
// seed and is the same at every position, and the node tables are shared across positions, so a
// position is just another batch row: conv_patches turns [B, F] into [B * P, O * k^d] rows, each
// level is the node type's own op on those rows (every registered node type works), and the roots
// [B * P, O] are read back as [B, P * O]. An optional OR / max pooling (bit_pool) over pool x pool
// windows with stride pool follows.
//
// Learnable receptive field (field_candidates = C >= 1): each leaf slot instead learns which window
// bit it reads among C candidate offsets drawn once from the seed, with the sparse learnable
// mapping (lut/sparse_mapping.h) over position rows: conv_patches gives every position's whole
// window [B * P, C_in * kh * kw], sparse_mapping picks each slot's bit (the same choice at every
// position, since W is shared), and the tree levels follow as before. Random picks of 6 bits out
// of a 3 x 3 x C_in window mostly make weak detectors; the learnt choice is what the DWN-style
// mapping brought to dense layers. receptive_field() is then the current choice, so export lowers
// it to the same wires as a fixed field.
//
// Graph nodes (prefix = the layer's dotted name, "conv0." inside a LUTNetwork): "<p>patches",
// "<p>field" (learnable field only), "<p>level<l>.nodes", "<p>out" (the reshape), "<p>pool".
// Parameters: "params<l>" [nodes_l, P]; "field_weights" [slots, C] (learnable field only).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "autograd/nn/module.h"
#include "lut/conv_ops.h"
#include "lut/nodes/node_types.h"
#include "lut/sparse_mapping.h"
#include "tensor/random.h"

namespace difflut {

class NodeType;

// Where the bits of a [channels, height, width] image sit in a flat row: channel c is
// (c / inner, c % inner) and bit (c, y, x) is at (c / inner) * s_outer + (c % inner) * s_inner +
// y * s_y + x * s_x. Two layouts occur: the thermometer's (pixel-major within an input channel,
// its bits innermost) and the conv layers' own [H, W, C].
struct BitImage {
  int64_t channels = 0, height = 0, width = 0;
  int64_t inner = 1, s_outer = 0, s_inner = 1, s_y = 0, s_x = 0;

  int64_t size() const { return channels * height * width; }
  int64_t at(int64_t c, int64_t y, int64_t x) const {
    return (c / inner) * s_outer + (c % inner) * s_inner + y * s_y + x * s_x;
  }
  // Features [C, H, W] (row-major) thermometer-encoded with `bits` bits each: C * bits channels.
  static BitImage thermometer(int64_t c, int64_t h, int64_t w, int64_t bits);
  // [H, W, C] row-major.
  static BitImage hwc(int64_t c, int64_t h, int64_t w);
  std::string describe() const;  // "[C, H, W]"
};

struct ConvLUTOptions {
  BitImage input;
  int64_t out_channels = 8;
  int kernel = 3;  // receptive field kernel x kernel
  int stride = 1;
  int padding = 0;     // zero padding on every side
  int tree_depth = 2;  // levels of each channel's tree (k^depth leaf inputs)
  int k = 6;           // fan-in of every node, 1..8
  int pool = 1;        // OR / max pooling window and stride after the layer (1: none)
  // 0: every leaf slot reads a fixed window bit drawn from the seed. C >= 1: it learns its window
  // bit among C candidates (at most C_in * kernel^2), scores trained with softmax temperature
  // field_tau in backward as in a sparse mapping.
  int64_t field_candidates = 0;
  double field_tau = 0.001;
  std::shared_ptr<NodeType> node_type;  // required
  DType dtype = DType::f32;
  Device device = Device::cpu;
};

class ConvLUTLayer : public Module {
 public:
  // Draws the receptive-field choices, then every level's parameters (NodeType::init, level 0
  // first) from `gen`. Throws difflut::Error naming the field for any inconsistent option (a
  // receptive field larger than the padded image, k^depth above 2^20 leaf slots, pool windows
  // above 8 bits or larger than the output).
  ConvLUTLayer(const ConvLUTOptions& options, Generator& gen);

  // x [B, input.size()] -> [B, output().size()].
  Var forward(Graph& g, Var x) override;
  std::string type_name() const override { return "ConvLUTLayer"; }
  // A learnable field's candidates travel with checkpoints ("field_candidates").
  NamedTensors extra_state() const override;
  void check_extra_state(const NamedTensors& state) const override;
  void load_extra_state(const NamedTensors& state) override;

  const ConvLUTOptions& options() const { return opt_; }
  int64_t out_height() const { return oh_; }  // before pooling
  int64_t out_width() const { return ow_; }
  int64_t positions() const { return oh_ * ow_; }
  // Leaf slots per position (O * k^depth) and nodes of level l (O * k^(depth-1-l)).
  int64_t slots() const;
  int64_t level_nodes(int level) const;
  int levels() const { return opt_.tree_depth; }
  BitImage output() const;  // after pooling, [H, W, C] layout
  Parameter& level_params(int level) { return *params_.at(static_cast<size_t>(level)); }

  // Input bits in one position's window: C_in * kernel * kernel.
  int64_t window() const;
  // The window offset each leaf slot reads, i32 [slots()] on the host: (c * kernel + dy) * kernel
  // + dx within the input's C x kernel x kernel window. With a learnable field, the current choice
  // (the candidate with the largest score, first on ties: what the forward gathers).
  Tensor receptive_field() const;
  // Replaces a fixed field (a checkpoint): i32/i64 [slots()], entries in [0, window()). Refused for
  // a learnable field, which is defined by its candidates and scores.
  void set_receptive_field(const Tensor& field);

  bool learnable_field() const { return opt_.field_candidates > 0; }
  // Learnable field only: the candidate offsets i32 [slots(), C] (host) and the scores W.
  const Tensor& field_candidates() const { return cand_; }
  Parameter& field_weights();
  // Replaces the candidates (a checkpoint): i32/i64 [slots(), C], entries in [0, window()).
  void set_field_candidates(const Tensor& candidates);

  // The tables the ops use (host): conv_patches' [P, slots()] (fixed field) or [P, window()]
  // (learnable field: every window bit), and bit_pool's [Q, pool^2].
  Tensor patch_table() const;
  Tensor pool_table() const;

 private:
  std::string node_prefix() const;

  ConvLUTOptions opt_;
  int64_t oh_ = 0, ow_ = 0;
  Tensor field_;  // fixed field: i32 [slots()] host
  Tensor cand_;   // learnable field: i32 [slots(), C] host
  Parameter* field_w_ = nullptr;
  std::vector<Parameter*> params_;
  std::unique_ptr<ConvTable> patches_, pool_;  // on the device last used
  std::unique_ptr<SparseMappingIndex> field_index_;
};

}  // namespace difflut
