// Lowerings of the binarising ops into comparator stages: thermometer (x > t, strict) and
// threshold_ste (x >= t). A float comparison of a word's value becomes an integer comparison of its
// code: the lowering evaluates the predicate on the decode of every reachable code, in the node's
// dtype exactly as the kernel does, and finds the code threshold c with pred == (code >= c). So the
// comparator is exact by construction, not by rounding argument.
// level_code (binary, gray, onehot, sign_magnitude, logarithmic) lowers to the same comparators,
// one per level boundary, then per output bit one LUT (or a parity tree of LUT6s for wide codes)
// over the comparators where that bit changes.
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
// strict flag says); comparator b is 1 exactly when the level q exceeds b (thresholds ascend, which
// the encoder checks on load). Output bit j of the code only changes at some boundaries ch_j, and
// there it toggles, so bit j = bit j of level 0 XOR the parity of the comparators in ch_j. With at
// most kDirect of them each bit is one LUT over those comparators; otherwise a parity tree of LUTs
// of fan-in kTree, one stage per tree level (the last level folds in level 0's bit), so wide codes
// (binary 8 bits: 255 boundaries) still map to small LUTs. Every truth table is filled by
// enumerating the input codes of the feature and evaluating the nodes' definitions, and the last
// level is checked against the kernel's table[level] on every reachable code (a conflict throws).
namespace {
constexpr size_t kDirect = 8, kTree = 6;

// A stage of 1-bit words.
Stage bit_stage(StageKind kind, std::string name) {
  Stage st;
  st.kind = kind;
  st.name = std::move(name);
  st.op = "level_code";
  st.width = 1;
  st.decode = {0.0, 1.0};
  return st;
}
}  // namespace

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

  Stage cmp = bit_stage(StageKind::compare, n.name + "_cmp");
  cmp.source = s;
  cmp.size = F * T;
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

  // The tree's shape for one feature (the same for every feature): level L's node i reads
  // levels[L][i], indices into the level below (level 0: the feature's comparators).
  std::vector<std::vector<int64_t>> cur(static_cast<size_t>(nb));
  size_t widest = 1;
  for (int64_t j = 0; j < nb; ++j) {
    std::vector<int64_t>& c = cur[static_cast<size_t>(j)];
    for (int64_t b = 0; b < T; ++b)
      if (table[b * nb + j] != table[(b + 1) * nb + j]) c.push_back(b);
    if (c.empty()) c.push_back(0);  // a constant bit: any input, a constant table
    widest = std::max(widest, c.size());
  }
  size_t depth = 1;
  if (widest > kDirect)
    for (size_t reach = kTree; reach < widest; reach *= kTree) ++depth;
  std::vector<std::vector<std::vector<int64_t>>> levels;
  for (size_t L = 0; L < depth; ++L) {
    std::vector<std::vector<int64_t>> nodes, next(static_cast<size_t>(nb));
    for (int64_t j = 0; j < nb; ++j) {
      const std::vector<int64_t>& c = cur[static_cast<size_t>(j)];
      const size_t chunk = L + 1 == depth ? c.size() : kTree;  // the last level: one node per bit
      for (size_t i = 0; i < c.size(); i += chunk) {
        next[static_cast<size_t>(j)].push_back(static_cast<int64_t>(nodes.size()));
        nodes.emplace_back(c.begin() + static_cast<std::ptrdiff_t>(i),
                           c.begin() + static_cast<std::ptrdiff_t>(std::min(c.size(), i + chunk)));
      }
    }
    levels.push_back(std::move(nodes));
    cur = std::move(next);
  }

  // One wires + lut stage pair per level; inputs padded with the node's first input.
  std::vector<Stage> wires, luts;
  int64_t below = T;  // words per feature of the level below
  for (size_t L = 0; L < depth; ++L) {
    const std::string tag = depth == 1 ? "" : std::to_string(L);
    wires.push_back(bit_stage(StageKind::wires, n.name + "_in" + tag));
    luts.push_back(bit_stage(StageKind::lut, L + 1 == depth ? n.name : n.name + "_parity" + tag));
    Stage &w = wires.back(), &l = luts.back();
    size_t k = 1;
    for (const auto& in : levels[L]) k = std::max(k, in.size());
    DIFFLUT_CHECK(k <= 16, ctx.where(id), ": a LUT of ", k, " inputs (the circuit IR takes at most 16)");
    l.k = static_cast<int>(k);
    const auto per = static_cast<int64_t>(levels[L].size());
    l.size = F * per;
    l.table.assign(static_cast<size_t>(l.size) << k, 0);
    for (int64_t f = 0; f < F; ++f)
      for (const auto& in : levels[L])
        for (size_t i = 0; i < k; ++i) w.index.push_back(f * below + in[i < in.size() ? i : 0]);
    w.size = static_cast<int64_t>(w.index.size());
    below = per;
  }

  // Truth tables by enumeration of each feature's input codes.
  std::vector<std::vector<int8_t>> seen(depth);
  for (size_t L = 0; L < depth; ++L) seen[L].assign(luts[L].table.size(), -1);
  std::vector<std::vector<uint8_t>> val(depth + 1);
  val[0].resize(static_cast<size_t>(T));
  for (int64_t f = 0; f < F; ++f) {
    const uint32_t* ct = cmp.threshold.data() + f * T;
    for (size_t v = 0; v < src.decode.size(); ++v) {
      int64_t level = 0;
      for (int64_t b = 0; b < T; ++b) level += val[0][static_cast<size_t>(b)] = v >= ct[b];
      for (size_t L = 0; L < depth; ++L) {
        const auto& nodes = levels[L];
        const size_t k = static_cast<size_t>(luts[L].k);
        val[L + 1].assign(nodes.size(), 0);
        for (size_t i = 0; i < nodes.size(); ++i) {
          const std::vector<int64_t>& in = nodes[i];
          size_t addr = 0;
          uint8_t parity = 0;
          for (size_t l = 0; l < k; ++l) addr |= size_t{val[L][static_cast<size_t>(in[l < in.size() ? l : 0])]} << l;
          for (int64_t x : in) parity ^= val[L][static_cast<size_t>(x)];
          // The last level holds bit j = i of the code: the kernel's table at this level.
          const uint8_t bit = L + 1 == depth ? (table[level * nb + static_cast<int64_t>(i)] != 0.0) : parity;
          const size_t at = ((static_cast<size_t>(f) * nodes.size() + i) << k) + addr;
          DIFFLUT_CHECK(seen[L][at] < 0 || seen[L][at] == bit, ctx.where(id), ": feature ", f, " bit ", i,
                        " is not a function of its boundary comparators (thresholds not ascending?)");
          seen[L][at] = static_cast<int8_t>(bit);
          luts[L].table[at] = bit;
          val[L + 1][i] = bit;
        }
      }
    }
  }

  int prev = ctx.add_internal_stage(std::move(cmp));
  for (size_t L = 0; L < depth; ++L) {
    wires[L].source = prev;
    luts[L].source = ctx.add_internal_stage(std::move(wires[L]));
    prev = L + 1 == depth ? ctx.add_stage(id, std::move(luts[L])) : ctx.add_internal_stage(std::move(luts[L]));
  }
  return prev;
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
