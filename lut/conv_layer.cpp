// ConvLUTLayer: receptive-field tables, the per-position trees (node ops on position rows) and
// optional bit pooling.
#include "lut/conv_layer.h"

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

  // 1. receptive field: one window offset per leaf slot.
  const int64_t window = in.channels * opt_.kernel * opt_.kernel;
  std::vector<int32_t> field(static_cast<size_t>(slots()));
  for (int32_t& f : field) f = static_cast<int32_t>(gen.below(static_cast<uint64_t>(window)));
  field_ = Tensor::from_vector(field, {slots()}, Device::cpu);

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

void ConvLUTLayer::set_receptive_field(const Tensor& field) {
  const int64_t window = opt_.input.channels * opt_.kernel * opt_.kernel;
  DIFFLUT_CHECK(field.defined() && field.dim() == 1 && field.numel() == slots() &&
                    (field.dtype() == DType::i32 || field.dtype() == DType::i64),
                "ConvLUTLayer.set_receptive_field: expected i32/i64 [", slots(), "], found ",
                field.defined() ? field.describe() : std::string("undefined"));
  const std::vector<int64_t> v = field.to(Device::cpu).to(DType::i64).to_vector<int64_t>();
  for (size_t s = 0; s < v.size(); ++s)
    DIFFLUT_CHECK(v[s] >= 0 && v[s] < window, "ConvLUTLayer.set_receptive_field: entry ", s, " = ",
                  v[s], " is outside [0, ", window, ") (C x receptive_field^2)");
  field_ = field.to(Device::cpu).to(DType::i32).clone();
  patches_.reset();
}

Tensor ConvLUTLayer::patch_table() const {
  const BitImage& in = opt_.input;
  const int64_t S = slots(), kk = opt_.kernel;
  const int32_t* f = field_.data<int32_t>();
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
