// Lowerings of the convolutional LUT ops, positions unrolled (the tree levels between them are
// node ops on position rows, lowered by emit_lut.cpp with their tables repeated per position):
//   conv_patches  wires out[q * R + r] = x[table[q, r]]; padding entries (-1) read a constant 0,
//                 made by an internal compare stage that passes the bits through (bit >= 1) and
//                 appends one word compared with 2 (never true)
//   bit_pool      wires gathering each window, then one LUT per window: the OR of its bits (the
//                 max of bits; windows of at most 8 bits)
#include "hdl/lower.h"

namespace difflut::hdl {

namespace {
std::vector<int64_t> table_of(const LowerContext& ctx, int id) {
  const Tensor t = ctx.node(id).attrs.tensors.at(0).to(Device::cpu).to(DType::i64);
  return t.to_vector<int64_t>();
}

void require_sample_rows(const LowerContext& ctx, int id) {
  DIFFLUT_CHECK(ctx.rows_per_sample(id, 0) == 1, ctx.where(id),
                ": expected its input as one row per sample, found ",
                ctx.node(ctx.node(id).inputs[0]).value.describe());
  DIFFLUT_CHECK(ctx.node(ctx.node(id).inputs[0]).value.dim() == 2, ctx.where(id),
                ": expected its input as [B, F]");
}

int lower_conv_patches(LowerContext& ctx, int id) {
  int src = ctx.live_input(id, 0);
  require_sample_rows(ctx, id);
  ctx.require_bits(id, src, "its receptive fields");
  std::vector<int64_t> index = table_of(ctx, id);
  const int64_t F = ctx.stage(src).size;
  bool padded = false;
  for (int64_t m : index) padded = padded || m < 0;
  if (padded) {
    Stage pad;
    pad.kind = StageKind::compare;
    pad.name = ctx.node(id).name + "_pad";
    pad.source = src;
    pad.size = F + 1;
    pad.width = 1;
    pad.decode = {0.0, 1.0};
    for (int64_t f = 0; f < F; ++f) {
      pad.index.push_back(f);
      pad.threshold.push_back(1);  // bit >= 1: the bit itself
      pad.threshold_value.push_back(0.5);
    }
    pad.index.push_back(0);
    pad.threshold.push_back(2);  // above every 1-bit code: constant 0
    pad.threshold_value.push_back(2.0);
    src = ctx.add_internal_stage(std::move(pad));
    for (int64_t& m : index)
      if (m < 0) m = F;
  }
  Stage st;
  st.kind = StageKind::wires;
  st.name = ctx.node(id).name;
  st.source = src;
  st.size = static_cast<int64_t>(index.size());
  st.width = 1;
  st.decode = {0.0, 1.0};
  st.index = std::move(index);
  return ctx.add_stage(id, std::move(st));
}

int lower_bit_pool(LowerContext& ctx, int id) {
  const int src = ctx.live_input(id, 0);
  require_sample_rows(ctx, id);
  ctx.require_bits(id, src, "its pooling windows");
  const Tensor& t = ctx.node(id).attrs.tensors.at(0);
  const int64_t Q = t.size(0), R = t.size(1);
  DIFFLUT_CHECK(R >= 1 && R <= 8, ctx.where(id),
                ": expected pooling windows of 1 to 8 bits (one LUT each), found ", R);
  Stage w;
  w.kind = StageKind::wires;
  w.name = ctx.node(id).name + "_windows";
  w.source = src;
  w.size = Q * R;
  w.width = 1;
  w.decode = {0.0, 1.0};
  w.index = table_of(ctx, id);
  const int windows = ctx.add_internal_stage(std::move(w));
  Stage st;
  st.kind = StageKind::lut;
  st.name = ctx.node(id).name;
  st.source = windows;
  st.size = Q;
  st.width = 1;
  st.decode = {0.0, 1.0};
  st.k = static_cast<int>(R);
  const int64_t K = int64_t{1} << R;
  st.table.resize(static_cast<size_t>(Q * K));
  for (int64_t q = 0; q < Q; ++q)
    for (int64_t a = 0; a < K; ++a) st.table[static_cast<size_t>(q * K + a)] = a != 0 ? 1 : 0;
  return ctx.add_stage(id, std::move(st));
}
}  // namespace

void register_conv_lowerings() {
  register_lowering("conv_patches", lower_conv_patches);
  register_lowering("bit_pool", lower_bit_pool);
}

}  // namespace difflut::hdl
