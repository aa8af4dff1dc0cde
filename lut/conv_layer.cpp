// ConvLUTLayer: receptive-field tables, the per-position trees (node ops on position rows) and
// optional bit pooling.
#include "lut/conv_layer.h"

#include <cmath>

#include "autograd/ops.h"
#include "lut/node_registry.h"

namespace difflut {

BitImage BitImage::thermometer(int64_t c, int64_t h, int64_t w, int64_t bits) {
  BitImage b;
  b.channels = c * bits;
  b.height = h;
  b.width = w;
  b.inner = bits;
  b.s_outer = h * w * bits;
  b.s_inner = 1;
  b.s_y = w * bits;
  b.s_x = bits;
  return b;
}

BitImage BitImage::hwc(int64_t c, int64_t h, int64_t w) {
  BitImage b;
  b.channels = c;
  b.height = h;
  b.width = w;
  b.inner = c;
  b.s_outer = 0;
  b.s_inner = 1;
  b.s_y = w * c;
  b.s_x = c;
  return b;
}

std::string BitImage::describe() const {
  return str_cat("[", channels, ", ", height, ", ", width, "]");
}

namespace {
int64_t ipow(int64_t b, int e) {
  int64_t r = 1;
  for (int i = 0; i < e; ++i) r *= b;
  return r;
}
}  // namespace

int64_t ConvLUTLayer::slots() const { return opt_.out_channels * ipow(opt_.k, opt_.tree_depth); }

int64_t ConvLUTLayer::level_nodes(int level) const {
  return opt_.out_channels * ipow(opt_.k, opt_.tree_depth - 1 - level);
}

ConvLUTLayer::ConvLUTLayer(const ConvLUTOptions& options, Generator& gen) : opt_(options) {
  const BitImage& in = opt_.input;
  DIFFLUT_CHECK(in.channels >= 1 && in.height >= 1 && in.width >= 1,
                "ConvLUTLayer: expected an input image with C, H, W >= 1, found ", in.describe());
  DIFFLUT_CHECK(opt_.node_type != nullptr, "ConvLUTLayer: expected a node type");
  DIFFLUT_CHECK(opt_.k >= 1 && opt_.k <= 8, "ConvLUTLayer: expected k in [1, 8], found ", opt_.k);
  DIFFLUT_CHECK(opt_.out_channels >= 1, "ConvLUTLayer: expected channels >= 1, found ",
                opt_.out_channels);
  DIFFLUT_CHECK(opt_.tree_depth >= 1 && ipow(opt_.k, opt_.tree_depth) <= (int64_t{1} << 20),
                "ConvLUTLayer: expected tree_depth >= 1 with k^depth <= 2^20, found depth ",
                opt_.tree_depth, " for k = ", opt_.k);
  DIFFLUT_CHECK(
      opt_.kernel >= 1 && opt_.stride >= 1 && opt_.padding >= 0 && opt_.padding < opt_.kernel,
      "ConvLUTLayer: expected receptive_field >= 1, stride >= 1 and 0 <= padding < "
      "receptive_field, found ",
      opt_.kernel, ", ", opt_.stride, ", ", opt_.padding);
  DIFFLUT_CHECK(
      opt_.kernel <= in.height + 2 * opt_.padding && opt_.kernel <= in.width + 2 * opt_.padding,
      "ConvLUTLayer: the receptive field ", opt_.kernel, "x", opt_.kernel,
      " is larger than the padded input ", in.describe(), " (padding ", opt_.padding, ")");
  oh_ = (in.height + 2 * opt_.padding - opt_.kernel) / opt_.stride + 1;
  ow_ = (in.width + 2 * opt_.padding - opt_.kernel) / opt_.stride + 1;
  DIFFLUT_CHECK(
      opt_.pool >= 1 && opt_.pool * opt_.pool <= 8 && opt_.pool <= oh_ && opt_.pool <= ow_,
      "ConvLUTLayer: expected pool in [1, 2] (windows of at most 8 bits) and no larger "
      "than the output ",
      oh_, "x", ow_, ", found ", opt_.pool);
  DIFFLUT_CHECK(is_floating(opt_.dtype), "ConvLUTLayer: expected dtype f32 or f64");
  DIFFLUT_CHECK(positions() * slots() < (int64_t{1} << 31),
                "ConvLUTLayer: expected fewer than 2^31 patch entries, found ",
                positions() * slots());

  // 1. receptive field: one window offset per leaf slot, or C candidate offsets and their scores.
  const int64_t win = window();
  DIFFLUT_CHECK(opt_.field_candidates >= 0 && opt_.field_candidates <= win,
                "ConvLUTLayer: expected field_candidates in [0, ", win,
                "] (0: a fixed field; at most the window's C x receptive_field^2 bits), found ",
                opt_.field_candidates);
  if (learnable_field()) {
    DIFFLUT_CHECK(std::isfinite(opt_.field_tau) && opt_.field_tau > 0,
                  "ConvLUTLayer: expected field_tau > 0, found ", opt_.field_tau);
    cand_ = sparse_mapping_candidates(win, slots(), opt_.field_candidates, gen);
    field_w_ = &register_parameter(
        "field_weights",
        sparse_mapping_init(slots(), opt_.field_candidates, gen, opt_.dtype, opt_.device));
  } else {
    std::vector<int32_t> field(static_cast<size_t>(slots()));
    for (int32_t& f : field) f = static_cast<int32_t>(gen.below(static_cast<uint64_t>(win)));
    field_ = Tensor::from_vector(field, {slots()}, Device::cpu);
  }

  // 2. node parameters per level.
  const int64_t P = opt_.node_type->num_params(opt_.k);
  const auto [lo, hi] = opt_.node_type->param_clamp();
  for (int l = 0; l < opt_.tree_depth; ++l) {
    Tensor init = Tensor::empty({level_nodes(l), P}, opt_.dtype, Device::cpu);
    opt_.node_type->init(init, opt_.k, gen);
    Parameter& p = register_parameter("params" + std::to_string(l), init.to(opt_.device));
    p.clamp_min = lo;
    p.clamp_max = hi;
    params_.push_back(&p);
  }
}

BitImage ConvLUTLayer::output() const {
  return BitImage::hwc(opt_.out_channels, oh_ / opt_.pool, ow_ / opt_.pool);
}

int64_t ConvLUTLayer::window() const { return opt_.input.channels * opt_.kernel * opt_.kernel; }

namespace {
// An i32 host copy of `t` after checking it is an i32/i64 tensor of `shape` with entries in
// [0, window); `who` names the caller in the error.
Tensor checked_offsets(const Tensor& t, const Shape& shape, int64_t window, const char* who) {
  DIFFLUT_CHECK(
      t.defined() && t.shape() == shape && (t.dtype() == DType::i32 || t.dtype() == DType::i64),
      who, ": expected i32/i64 ", shape_str(shape), ", found ",
      t.defined() ? t.describe() : std::string("undefined"));
  const std::vector<int64_t> v = t.to(Device::cpu).to(DType::i64).to_vector<int64_t>();
  for (size_t s = 0; s < v.size(); ++s)
    DIFFLUT_CHECK(v[s] >= 0 && v[s] < window, who, ": entry ", s, " = ", v[s], " is outside [0, ",
                  window, ") (C x receptive_field^2)");
  return t.to(Device::cpu).to(DType::i32).clone();
}
}  // namespace

Tensor ConvLUTLayer::receptive_field() const {
  if (!learnable_field()) return field_;
  return sparse_mapping_choice(field_w_->value, cand_).to(DType::i32);
}

void ConvLUTLayer::set_receptive_field(const Tensor& field) {
  DIFFLUT_CHECK(!learnable_field(),
                "ConvLUTLayer.set_receptive_field: the layer learns its field (field_candidates ",
                opt_.field_candidates, "); set its candidates and scores instead");
  field_ = checked_offsets(field, {slots()}, window(), "ConvLUTLayer.set_receptive_field");
  patches_.reset();
}

Parameter& ConvLUTLayer::field_weights() {
  DIFFLUT_CHECK(learnable_field(), "ConvLUTLayer.field_weights: the layer's field is fixed");
  return *field_w_;
}

void ConvLUTLayer::set_field_candidates(const Tensor& candidates) {
  DIFFLUT_CHECK(learnable_field(), "ConvLUTLayer.set_field_candidates: the layer's field is fixed");
  cand_ = checked_offsets(candidates, cand_.shape(), window(), "ConvLUTLayer.set_field_candidates");
  field_index_.reset();
}

NamedTensors ConvLUTLayer::extra_state() const {
  if (!learnable_field()) return {};
  return {{"field_candidates", cand_}};
}

void ConvLUTLayer::check_extra_state(const NamedTensors& state) const {
  if (!learnable_field()) return Module::check_extra_state(state);
  DIFFLUT_CHECK(state.size() == 1 && state[0].first == "field_candidates",
                "ConvLUTLayer: expected the extra state entry 'field_candidates' alone, found ",
                state.size(), " entries");
  checked_offsets(state[0].second, cand_.shape(), window(),
                  "ConvLUTLayer: entry 'field_candidates'");
}

void ConvLUTLayer::load_extra_state(const NamedTensors& state) {
  if (learnable_field()) set_field_candidates(state.at(0).second);
}

Tensor ConvLUTLayer::patch_table() const {
  const BitImage& in = opt_.input;
  const int64_t kk = opt_.kernel;
  // A fixed field gathers each slot's offset; a learnable one every offset of the window, in order.
  std::vector<int32_t> all;
  if (learnable_field()) {
    all.resize(static_cast<size_t>(window()));
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int32_t>(i);
  }
  const int64_t S = learnable_field() ? window() : slots();
  const int32_t* f = learnable_field() ? all.data() : field_.data<int32_t>();
  std::vector<int32_t> t(static_cast<size_t>(positions() * S));
  for (int64_t y = 0; y < oh_; ++y)
    for (int64_t x = 0; x < ow_; ++x)
      for (int64_t s = 0; s < S; ++s) {
        const int64_t w = f[s], c = w / (kk * kk), dy = (w / kk) % kk, dx = w % kk;
        const int64_t iy = y * opt_.stride - opt_.padding + dy;
        const int64_t ix = x * opt_.stride - opt_.padding + dx;
        const bool inside = iy >= 0 && iy < in.height && ix >= 0 && ix < in.width;
        t[static_cast<size_t>((y * ow_ + x) * S + s)] =
            inside ? static_cast<int32_t>(in.at(c, iy, ix)) : -1;
      }
  return Tensor::from_vector(t, {positions(), S}, Device::cpu);
}

Tensor ConvLUTLayer::pool_table() const {
  const BitImage conv = BitImage::hwc(opt_.out_channels, oh_, ow_), out = output();
  const int64_t p = opt_.pool;
  std::vector<int32_t> t;
  for (int64_t y = 0; y < out.height; ++y)
    for (int64_t x = 0; x < out.width; ++x)
      for (int64_t c = 0; c < out.channels; ++c)
        for (int64_t dy = 0; dy < p; ++dy)
          for (int64_t dx = 0; dx < p; ++dx)
            t.push_back(static_cast<int32_t>(conv.at(c, y * p + dy, x * p + dx)));
  return Tensor::from_vector(t, {out.size(), p * p}, Device::cpu);
}

std::string ConvLUTLayer::node_prefix() const {
  const std::string& n = params_.front()->name;  // "conv0.params0" (or "params0" alone)
  const std::string suffix = "params0";
  return n.size() >= suffix.size() ? n.substr(0, n.size() - suffix.size()) : std::string();
}

Var ConvLUTLayer::forward(Graph& g, Var x) {
  DIFFLUT_CHECK(x.graph == &g, "ConvLUTLayer: x belongs to another graph");
  const std::string prefix = node_prefix();
  DIFFLUT_CHECK(x.value().dim() == 2 && x.size(1) == opt_.input.size(), "ConvLUTLayer '", prefix,
                "': expected x [B, ", opt_.input.size(), "] (the bit image ", opt_.input.describe(),
                "), found ", x.value().describe());
  const Device dev = x.device();
  if (!patches_ || patches_->device != dev)
    patches_ = std::make_unique<ConvTable>(
        make_conv_table(patch_table(), opt_.input.size(), dev, true, "ConvLUTLayer patches"));
  const int64_t B = x.size(0);
  Var h = conv_patches(x, *patches_);
  g.set_name(h, prefix + "patches");
  if (learnable_field()) {
    if (!field_index_ || field_index_->device != dev)
      field_index_ =
          std::make_unique<SparseMappingIndex>(make_sparse_mapping_index(cand_, window(), dev));
    h = sparse_mapping(h, g.param(*field_w_), *field_index_, opt_.field_tau);
    g.set_name(h, prefix + "field");
  }
  for (int l = 0; l < opt_.tree_depth; ++l) {
    h = opt_.node_type->apply(h, g.param(*params_[static_cast<size_t>(l)]), opt_.k, is_training());
    g.set_name(h, prefix + "level" + std::to_string(l) + ".nodes");
  }
  h = reshape(h, {B, positions() * opt_.out_channels});
  g.set_name(h, prefix + "out");
  if (opt_.pool == 1) return h;
  if (!pool_ || pool_->device != dev)
    pool_ = std::make_unique<ConvTable>(make_conv_table(
        pool_table(), positions() * opt_.out_channels, dev, false, "ConvLUTLayer pool"));
  h = bit_pool(h, *pool_);
  g.set_name(h, prefix + "pool");
  return h;
}

}  // namespace difflut
