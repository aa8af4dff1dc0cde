// Lowerings of the classification head.
//   group_sum  popcount per contiguous group (zero padding adds nothing); the score code c decodes
//              to float(c / tau), the value the kernel computes (double sum, one division, cast).
//   argmax     a comparator tree over the scores; ties go to the lowest index, as the op does.
// Comparing codes instead of float values is exact only if the decode is strictly increasing over
// the reachable codes; both lowerings check that instead of assuming it.
#include "hdl/lower.h"

namespace difflut::hdl {

namespace {
void require_increasing(const LowerContext& ctx, int id, const Stage& s) {
  for (size_t c = 1; c < s.decode.size(); ++c)
    DIFFLUT_CHECK(s.decode[c] > s.decode[c - 1], ctx.where(id), ": codes ", c - 1, " and ", c,
                  " of '", s.name, "' decode to ", s.decode[c - 1], " and ", s.decode[c],
                  "; integer comparison would not match the software's comparison");
}

int lower_group_sum(LowerContext& ctx, int id) {
  const Node& n = ctx.node(id);
  const int src = ctx.live_input(id, 0);
  ctx.require_bits(id, src, "its group inputs");
  const int64_t M = ctx.stage(src).size, C = n.attrs.ints.at(0);
  const double tau = n.attrs.floats.at(0);
  const int64_t g = (M + C - 1) / C;
  Stage st;
  st.kind = StageKind::popcount;
  st.name = n.name;
  st.source = src;
  st.size = C;
  st.width = bits_for(static_cast<uint64_t>(g));
  for (int64_t c = 0; c < C; ++c) {
    st.group_begin.push_back(std::min(M, c * g));
    st.group_end.push_back(std::min(M, (c + 1) * g));
  }
  const bool f32 = n.value.dtype() == DType::f32;
  for (int64_t c = 0; c <= g; ++c) {
    const double v = static_cast<double>(c) / tau;
    st.decode.push_back(f32 ? static_cast<double>(static_cast<float>(v)) : v);
  }
  require_increasing(ctx, id, st);
  return ctx.add_stage(id, std::move(st));
}

int lower_argmax(LowerContext& ctx, int id) {
  const Node& n = ctx.node(id);
  const int src = ctx.live_input(id, 0);
  const Tensor& x = ctx.node(n.inputs[0]).value;
  const int64_t axis = n.attrs.ints.at(0);
  DIFFLUT_CHECK(x.dim() == 2 && (axis == 1 || axis == -1), ctx.where(id),
                ": expected an argmax over axis 1 of [B, C], found axis ", axis, " of ",
                x.describe());
  const Stage& s = ctx.stage(src);
  require_increasing(ctx, id, s);
  Stage st;
  st.kind = StageKind::argmax;
  st.name = n.name;
  st.source = src;
  st.size = 1;
  st.width = bits_for(static_cast<uint64_t>(s.size - 1));
  for (int64_t i = 0; i < s.size; ++i) st.decode.push_back(static_cast<double>(i));
  return ctx.add_stage(id, std::move(st));
}
}  // namespace

void register_head_lowerings() {
  register_lowering("group_sum", lower_group_sum);
  register_lowering("argmax", lower_argmax);
}

}  // namespace difflut::hdl
