// Lowerings of LUT nodes: every node type's eval function is a truth table over its k input bits
// (input l = address bit l), so each node becomes one table constant indexed by its address bits
// (one LUT6 per node for k <= 6).
//   dwn_lut     table[j][a] = 1[T[j][a] > 0]           (the op's forward rule)
//   custom_lut  the registered NodeType's truth_table(params, k)   (eval-mode nodes only)
//   the built-in node ops of the node list (lut/nodes/node_list.h): their own truth tables (the
//   table their eval forward looks up)
#include "hdl/lower.h"
#include "lut/node_registry.h"
#include "lut/nodes/node_kernels.h"

namespace difflut::hdl {

namespace {
// A node op on R rows per sample (a conv layer's positions) is R copies of its nodes per sample:
// copy r of node j reads words (r * nodes + j) * k .. + k - 1 and has node j's table (tile_tables).
Stage lut_stage(LowerContext& ctx, int id, int src, int k, int64_t nodes) {
  ctx.require_bits(id, src, "its LUT inputs");
  const int64_t rows = ctx.rows_per_sample(id, 0);
  DIFFLUT_CHECK(ctx.stage(src).size == rows * nodes * k, ctx.where(id), ": expected ",
                rows * nodes * k, " input bits (", rows, " rows x ", nodes, " nodes x k = ", k,
                "), found ", ctx.stage(src).size);
  Stage st;
  st.kind = StageKind::lut;
  st.name = ctx.node(id).name;
  st.source = src;
  st.size = rows * nodes;
  st.width = 1;
  st.decode = {0.0, 1.0};
  st.k = k;
  return st;
}

// The tables of `nodes` nodes, repeated for every row of a sample.
void tile_tables(Stage& st, int64_t nodes) {
  const int64_t rows = st.size / nodes;
  const std::vector<uint8_t> one = st.table;
  for (int64_t r = 1; r < rows; ++r) st.table.insert(st.table.end(), one.begin(), one.end());
}

int lower_dwn_lut(LowerContext& ctx, int id) {
  const Node& n = ctx.node(id);
  const int src = ctx.live_input(id, 0);
  const int k = static_cast<int>(n.attrs.ints.at(0));
  const Tensor t = ctx.const_input(id, 1).to(DType::f64);
  const int64_t K = int64_t{1} << k;
  DIFFLUT_CHECK(t.dim() == 2 && t.size(1) == K, ctx.where(id), ": expected a table [N, ", K,
                "], found ", t.describe());
  Stage st = lut_stage(ctx, id, src, k, t.size(0));
  const double* tp = t.data<double>();
  st.table.resize(static_cast<size_t>(t.numel()));
  // f32 and f64 tables compare with 0 identically after the exact widening to double.
  for (int64_t i = 0; i < t.numel(); ++i) st.table[static_cast<size_t>(i)] = tp[i] > 0 ? 1 : 0;
  tile_tables(st, t.size(0));
  return ctx.add_stage(id, std::move(st));
}

int lower_custom_lut(LowerContext& ctx, int id) {
  const Node& n = ctx.node(id);
  const int src = ctx.live_input(id, 0);
  const int k = static_cast<int>(n.attrs.ints.at(0));
  DIFFLUT_CHECK(n.attrs.ints.size() < 2 || n.attrs.ints[1] == 0, ctx.where(id),
                ": the node ran its training forward; build the export graph in eval mode so the "
                "graph computes the truth table the hardware implements");
  DIFFLUT_CHECK(n.attrs.context != nullptr, ctx.where(id), ": attrs.context holds no node type");
  const NodeType& type = *static_cast<const NodeType*>(n.attrs.context.get());
  const Tensor params = ctx.const_input(id, 1);
  const Tensor tt = type.truth_table(params, k).to(Device::cpu).to(DType::u8);
  const int64_t K = int64_t{1} << k;
  DIFFLUT_CHECK(tt.dim() == 2 && tt.size(0) == params.size(0) && tt.size(1) == K, ctx.where(id),
                ": node type '", type.name(), "' returned a truth table ", tt.describe(),
                ", expected [", params.size(0), ", ", K, "]");
  Stage st = lut_stage(ctx, id, src, k, tt.size(0));
  const uint8_t* p = tt.data<uint8_t>();
  st.table.assign(p, p + tt.numel());
  for (uint8_t v : st.table)
    DIFFLUT_CHECK(v <= 1, ctx.where(id), ": node type '", type.name(),
                  "' returned a truth table entry ", int(v), ", expected 0 or 1");
  tile_tables(st, tt.size(0));
  return ctx.add_stage(id, std::move(st));
}
// The built-in node ops: attrs.ints = {k, training, degree, width, depth, skip}.
int lower_node_op(LowerContext& ctx, int id) {
  const Node& n = ctx.node(id);
  const int src = ctx.live_input(id, 0);
  DIFFLUT_CHECK(n.attrs.ints.size() >= 2, ctx.where(id), ": expected attrs {k, training, ...}");
  DIFFLUT_CHECK(n.attrs.ints[1] == 0, ctx.where(id),
                ": the node ran its training (soft) forward; build the export graph in eval mode "
                "so the graph computes the truth table the hardware implements");
  const int k = static_cast<int>(n.attrs.ints[0]);
  const nodes::NodeKind kind = nodes::node_kind_of(n.op);
  // The constants point into the attribute tensors (polylut's term table): use host copies.
  Attrs host = n.attrs;
  for (Tensor& t : host.tensors) t = t.to(Device::cpu);
  const nodes::NodeConsts consts = nodes::node_consts(kind, host);
  const Tensor params = ctx.const_input(id, 1);
  const Tensor tt =
      nodes::node_truth_table_host(kind, params, consts).to(Device::cpu).to(DType::u8);
  const int64_t K = int64_t{1} << k;
  DIFFLUT_CHECK(tt.dim() == 2 && tt.size(0) == params.size(0) && tt.size(1) == K, ctx.where(id),
                ": the truth table is ", tt.describe(), ", expected [", params.size(0), ", ", K,
                "]");
  Stage st = lut_stage(ctx, id, src, k, tt.size(0));
  const uint8_t* p = tt.data<uint8_t>();
  st.table.assign(p, p + tt.numel());
  for (uint8_t v : st.table)
    DIFFLUT_CHECK(v <= 1, ctx.where(id), ": truth table entry ", int(v), ", expected 0 or 1");
  tile_tables(st, tt.size(0));
  return ctx.add_stage(id, std::move(st));
}
}  // namespace

void register_lut_lowerings() {
  register_lowering("dwn_lut", lower_dwn_lut);
  register_lowering("custom_lut", lower_custom_lut);
  for (const char* op : nodes::kNodeOpNames) register_lowering(op, lower_node_op);
}

}  // namespace difflut::hdl
