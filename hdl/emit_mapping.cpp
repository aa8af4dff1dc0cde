// Lowerings of the ops that only move words around: they become wires (no logic).
//   gather             out[m] = x[index[m]]                (random and cyclic mappings)
//   learnable_mapping  out[s] = x[argmax_i W[i, s]]         (DWN learnable mapping; first max wins)
//   sparse_mapping     out[s] = x[cand[s, argmax_c W[s, c]]] (sparse learnable mapping; first max;
//                      per row when a sample has several, as a conv layer's learnable field)
//   slice (axis 1)     out[m] = x[start + m]
//   reshape            an alias when every sample keeps its words together (e.g. [B, 28, 28] ->
//                      [B, 784], or a conv layer's [B * P, O] -> [B, P * O])
#include "hdl/lower.h"
#include "lut/sparse_mapping.h"

namespace difflut::hdl {

namespace {
Stage wires_from(const LowerContext& ctx, int id, int src, std::vector<int64_t> index) {
  const Stage& s = ctx.stage(src);
  Stage st;
  st.kind = StageKind::wires;
  st.name = ctx.node(id).name;
  st.source = src;
  st.size = static_cast<int64_t>(index.size());
  st.width = s.width;
  st.decode = s.decode;
  for (int64_t m : index)
    DIFFLUT_CHECK(m >= 0 && m < s.size, ctx.where(id), ": index ", m, " is outside [0, ", s.size,
                  ")");
  st.index = std::move(index);
  return st;
}

void require_rows(const LowerContext& ctx, int id, int src) {
  const Tensor& x = ctx.node(ctx.node(id).inputs[0]).value;
  DIFFLUT_CHECK(x.dim() == 2 && x.size(1) == ctx.stage(src).size, ctx.where(id),
                ": expected its input as [B, ", ctx.stage(src).size, "], found ", x.describe());
}

int lower_gather(LowerContext& ctx, int id) {
  const Node& n = ctx.node(id);
  const int src = ctx.live_input(id, 0);
  require_rows(ctx, id, src);
  const Tensor idx = n.attrs.tensors.at(0).to(Device::cpu).to(DType::i64);
  const int64_t* p = idx.data<int64_t>();
  return ctx.add_stage(id, wires_from(ctx, id, src, std::vector<int64_t>(p, p + idx.numel())));
}

int lower_learnable_mapping(LowerContext& ctx, int id) {
  const int src = ctx.live_input(id, 0);
  require_rows(ctx, id, src);
  // The hard mapping is the argmax over inputs of each slot's column of W (first index on ties),
  // exactly what the op's forward gathers with.
  const Tensor w = ctx.const_input(id, 1).to(DType::f64);
  DIFFLUT_CHECK(w.dim() == 2 && w.size(0) == ctx.stage(src).size, ctx.where(id), ": expected W [",
                ctx.stage(src).size, ", S], found ", w.describe());
  const int64_t F = w.size(0), S = w.size(1);
  const double* wp = w.data<double>();
  std::vector<int64_t> index(static_cast<size_t>(S), 0);
  for (int64_t s = 0; s < S; ++s) {
    int64_t best = 0;
    for (int64_t i = 1; i < F; ++i)
      if (wp[i * S + s] > wp[best * S + s]) best = i;
    index[static_cast<size_t>(s)] = best;
  }
  return ctx.add_stage(id, wires_from(ctx, id, src, std::move(index)));
}

int lower_sparse_mapping(LowerContext& ctx, int id) {
  const Node& n = ctx.node(id);
  const int src = ctx.live_input(id, 0);
  // One row per sample (a dense layer), or R rows (a conv layer's learnable field over its
  // positions' windows: the same choice in every row).
  const int64_t rows = ctx.rows_per_sample(id, 0);
  const Tensor& x = ctx.node(n.inputs[0]).value;
  DIFFLUT_CHECK(x.dim() == 2 && rows * x.size(1) == ctx.stage(src).size, ctx.where(id),
                ": expected its input as [B * ", rows, ", ", ctx.stage(src).size / rows,
                "], found ", x.describe());
  // The op's own choice (first candidate with the largest score), so the wires are what it gathers.
  const Tensor w = ctx.const_input(id, 1);
  const Tensor idx = sparse_mapping_choice(w, n.attrs.tensors.at(0));
  const int64_t* p = idx.data<int64_t>();
  const int64_t F = x.size(1), S = idx.numel();
  std::vector<int64_t> index(static_cast<size_t>(rows * S));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t s = 0; s < S; ++s) index[static_cast<size_t>(r * S + s)] = r * F + p[s];
  return ctx.add_stage(id, wires_from(ctx, id, src, std::move(index)));
}

int lower_slice(LowerContext& ctx, int id) {
  const Node& n = ctx.node(id);
  const int src = ctx.live_input(id, 0);
  require_rows(ctx, id, src);
  const int64_t axis = n.attrs.ints.at(0);
  DIFFLUT_CHECK(axis == 1 || axis == -1, ctx.where(id),
                ": only slices along axis 1 of [B, M] lower to wires, found axis ", axis);
  const int64_t start = n.attrs.ints.at(1), width = n.value.size(1);
  std::vector<int64_t> index;
  for (int64_t m = 0; m < width; ++m) index.push_back(start + m);
  return ctx.add_stage(id, wires_from(ctx, id, src, std::move(index)));
}

int lower_reshape(LowerContext& ctx, int id) {
  const Node& n = ctx.node(id);
  const int src = ctx.live_input(id, 0);
  const Tensor& x = ctx.node(n.inputs[0]).value;
  // Each sample's words are one contiguous run of the row-major value, before and after, when both
  // first extents are multiples of the batch (conv layers: [B * P, O] -> [B, P * O]).
  const int64_t B = ctx.batch();
  DIFFLUT_CHECK(
      n.value.dim() >= 1 && x.dim() >= 1 && n.value.size(0) % B == 0 && x.size(0) % B == 0,
      ctx.where(id), ": only reshapes that keep each sample's words together lower, found ",
      x.describe(), " -> ", n.value.describe(), " for a batch of ", B);
  return src;  // row-major samples keep their word order: a pure alias
}
}  // namespace

void register_mapping_lowerings() {
  register_lowering("gather", lower_gather);
  register_lowering("learnable_mapping", lower_learnable_mapping);
  register_lowering("sparse_mapping", lower_sparse_mapping);
  register_lowering("slice", lower_slice);
  register_lowering("reshape", lower_reshape);
}

}  // namespace difflut::hdl
