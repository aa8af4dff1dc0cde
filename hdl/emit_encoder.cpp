// Lowerings of the binarising ops into comparator stages: thermometer (x > t, strict) and
// threshold_ste (x >= t). A float comparison of a word's value becomes an integer comparison of its
// code: the lowering evaluates the predicate on the decode of every reachable code, in the node's
// dtype exactly as the kernel does, and finds the code threshold c with pred == (code >= c). So the
// comparator is exact by construction, not by rounding argument.
#include <cmath>

#include "hdl/lower.h"

namespace difflut::hdl {

namespace {
// The value the kernel sees for a decoded code: rounded to the node's float dtype.
double in_dtype(double v, DType dt) { return dt == DType::f32 ? static_cast<double>(static_cast<float>(v)) : v; }

// Smallest code c with pred(code) true for every code >= c and false below; throws if the
// predicate is not a threshold over codes. No true code -> 2^width (the comparator is constant 0).
template <class Pred>
uint32_t code_threshold(const LowerContext& ctx, int node_id, const Stage& src, Pred pred) {
  const size_t n = src.decode.size();
  size_t c = n;
  for (size_t v = 0; v < n; ++v)
    if (pred(src.decode[v])) {
      c = v;
      break;
    }
  for (size_t v = c; v < n; ++v)
    DIFFLUT_CHECK(pred(src.decode[v]), ctx.where(node_id), ": the comparison is true for code ", c,
                  " but false for the larger code ", v, " of '", src.name,
                  "' (its decode is not monotone); no single comparator implements it");
  if (c == n) return static_cast<uint32_t>(uint64_t{1} << src.width);
  return static_cast<uint32_t>(c);
}

int lower_thermometer(LowerContext& ctx, int id) {
  const Node& n = ctx.node(id);
  const int s = ctx.live_input(id, 0);
  const Stage& src = ctx.stage(s);
  const Tensor t = n.attrs.tensors.at(0).to(Device::cpu).to(DType::f64);
  const int64_t F = t.size(0), nb = t.size(1);
  DIFFLUT_CHECK(F == src.size, ctx.where(id), ": expected ", src.size, " features, found ", F);
  const DType dt = n.value.dtype();
  const double* tp = t.data<double>();
  Stage st;
  st.kind = StageKind::compare;
  st.name = n.name;
  st.source = s;
  st.size = F * nb;
  st.width = 1;
  st.decode = {0.0, 1.0};
  for (int64_t f = 0; f < F; ++f)
    for (int64_t i = 0; i < nb; ++i) {
      const double thr = tp[f * nb + i];
      st.index.push_back(f);
      st.threshold.push_back(
          code_threshold(ctx, id, src, [&](double v) { return in_dtype(v, dt) > thr; }));
      st.threshold_value.push_back(thr);
    }
  return ctx.add_stage(id, std::move(st));
}

int lower_threshold_ste(LowerContext& ctx, int id) {
  const Node& n = ctx.node(id);
  const int s = ctx.live_input(id, 0);
  const Stage& src = ctx.stage(s);
  const DType dt = n.value.dtype();
  // The kernel compares in the value's dtype against t converted to it.
  const double thr = in_dtype(n.attrs.floats.at(0), dt);
  const uint32_t c = code_threshold(ctx, id, src, [&](double v) { return in_dtype(v, dt) >= thr; });
  Stage st;
  st.kind = StageKind::compare;
  st.name = n.name;
  st.source = s;
  st.size = src.size;
  st.width = 1;
  st.decode = {0.0, 1.0};
  for (int64_t m = 0; m < src.size; ++m) {
    st.index.push_back(m);
    st.threshold.push_back(c);
    st.threshold_value.push_back(thr);
  }
  return ctx.add_stage(id, std::move(st));
}
}  // namespace

void register_encoder_lowerings() {
  register_lowering("thermometer", lower_thermometer);
  register_lowering("threshold_ste", lower_threshold_ste);
}

}  // namespace difflut::hdl
