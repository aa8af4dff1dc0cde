// Lowerings of the binarising ops into comparator stages: thermometer (x > t, strict) and
// threshold_ste (x >= t). A float comparison of a word's value becomes an integer comparison of its
// code: the lowering evaluates the predicate on the decode of every reachable code, in the node's
// dtype exactly as the kernel does, and finds the code threshold c with pred == (code >= c). So the
// comparator is exact by construction, not by rounding argument.
// level_code (binary, gray, onehot, sign_magnitude, logarithmic) lowers to the same comparators,
// one per level boundary, then one LUT per output bit over the comparators where that bit changes.
#include <algorithm>
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

// level_code: stage 1 compares every feature with its T boundaries (x > t or x >= t as the op's
// strict flag says). Stage 2 (wires) routes them to stage 3, one LUT per output bit (f, j): its
// inputs are the comparators of the boundaries where bit j of the code table changes between
// adjacent levels, padded with the first of them to the stage's common fan-in. Its truth table is filled by enumerating every input
// code v of the feature: the level is the number of comparators true at v and the LUT address is
// their values at v, so the LUT equals the kernel's table[level] on every reachable code; two codes
// that reach one address with different bits throw (they cannot for monotone thresholds).
int lower_level_code(LowerContext& ctx, int id) {
  const Node& n = ctx.node(id);
  const int s = ctx.live_input(id, 0);
  const Stage& src = ctx.stage(s);
  const DType dt = n.value.dtype();
  const Tensor t = n.attrs.tensors.at(0).to(Device::cpu).to(DType::f64);
  const std::vector<double> strict = n.attrs.tensors.at(1).to(Device::cpu).to(DType::f64).to_vector<double>();
  const Tensor tab_t = n.attrs.tensors.at(2).to(Device::cpu).to(DType::f64);
  const int64_t F = t.size(0), T = t.size(1), nb = tab_t.size(1);
  DIFFLUT_CHECK(F == src.size, ctx.where(id), ": expected ", src.size, " features, found ", F);
  const double* tp = t.data<double>();
  const double* table = tab_t.data<double>();

  Stage cmp;
  cmp.kind = StageKind::compare;
  cmp.name = n.name + "_cmp";
  cmp.op = "level_code";
  cmp.source = s;
  cmp.size = F * T;
  cmp.width = 1;
  cmp.decode = {0.0, 1.0};
  for (int64_t f = 0; f < F; ++f)
    for (int64_t k = 0; k < T; ++k) {
      const double thr = tp[f * T + k];
      const bool gt = strict[static_cast<size_t>(k)] != 0.0;
      cmp.index.push_back(f);
      cmp.threshold.push_back(code_threshold(ctx, id, src, [&](double v) {
        const double x = in_dtype(v, dt);
        return gt ? x > thr : x >= thr;
      }));
      cmp.threshold_value.push_back(thr);
    }

  // Boundaries where each output bit changes (the same for every feature).
  std::vector<std::vector<int64_t>> changes(static_cast<size_t>(nb));
  int k = 1;
  for (int64_t j = 0; j < nb; ++j) {
    for (int64_t b = 0; b < T; ++b)
      if (table[b * nb + j] != table[(b + 1) * nb + j]) changes[static_cast<size_t>(j)].push_back(b);
    k = std::max(k, static_cast<int>(changes[static_cast<size_t>(j)].size()));
  }
  DIFFLUT_CHECK(k <= 16, ctx.where(id), ": an output bit changes at ", k,
                " level boundaries; a LUT of the circuit IR takes at most 16 inputs (use fewer bits)");

  Stage wires;  // the LUTs' inputs, k per LUT, in order (a lut stage reads its source contiguously)
  wires.kind = StageKind::wires;
  wires.name = n.name + "_in";
  wires.op = "level_code";
  wires.width = 1;
  wires.decode = {0.0, 1.0};
  Stage lut;
  lut.kind = StageKind::lut;
  lut.name = n.name;
  lut.width = 1;
  lut.decode = {0.0, 1.0};
  lut.k = k;
  lut.size = F * nb;
  lut.table.assign(static_cast<size_t>(lut.size) << k, 0);
  const size_t codes = src.decode.size();
  std::vector<uint8_t> seen(size_t{1} << k);
  for (int64_t f = 0; f < F; ++f) {
    const uint32_t* ct = cmp.threshold.data() + f * T;
    for (int64_t j = 0; j < nb; ++j) {
      const std::vector<int64_t>& ch = changes[static_cast<size_t>(j)];
      const int64_t node = f * nb + j;
      for (int l = 0; l < k; ++l)
        wires.index.push_back(f * T + (ch.empty() ? 0 : ch[static_cast<size_t>(l < static_cast<int>(ch.size()) ? l : 0)]));
      uint8_t* tt = lut.table.data() + (static_cast<size_t>(node) << k);
      std::fill(seen.begin(), seen.end(), 0);
      for (size_t v = 0; v < codes; ++v) {
        int64_t level = 0;
        for (int64_t b = 0; b < T; ++b) level += v >= ct[b];
        size_t addr = 0;
        for (int l = 0; l < k; ++l) {
          const int64_t b = ch.empty() ? 0 : ch[static_cast<size_t>(l < static_cast<int>(ch.size()) ? l : 0)];
          addr |= static_cast<size_t>(v >= ct[b]) << l;
        }
        const uint8_t bit = table[level * nb + j] != 0.0 ? 1 : 0;
        DIFFLUT_CHECK(!seen[addr] || tt[addr] == bit, ctx.where(id), ": feature ", f, " bit ", j,
                      " is not a function of its boundary comparators (thresholds not ascending?)");
        seen[addr] = 1;
        tt[addr] = bit;
      }
    }
  }
  wires.size = static_cast<int64_t>(wires.index.size());
  wires.source = ctx.add_internal_stage(std::move(cmp));
  lut.source = ctx.add_internal_stage(std::move(wires));
  return ctx.add_stage(id, std::move(lut));
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
  register_lowering("level_code", lower_level_code);
}

}  // namespace difflut::hdl
