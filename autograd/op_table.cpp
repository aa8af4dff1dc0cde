// The op table: one row per op kind, gathered by explicit registration calls (no static-init tricks).
#include <algorithm>

#include "autograd/op_def.h"

namespace difflut {

namespace {
const char* const kOpNames[] = {
#define DIFFLUT_OP_NAME(name) #name,
    DIFFLUT_ALL_OPS(DIFFLUT_OP_NAME)
#undef DIFFLUT_OP_NAME
};

// The leaf row: inputs and parameters. It has no kernels; the engine never calls them.
TensorMeta infer_leaf(const std::vector<TensorMeta>&, const Attrs&) {
  DIFFLUT_FAIL("leaf: leaves are created with Graph::input/param, not Graph::apply");
}

const OpTable& table() {
  static const OpTable t = [] {
    OpTable tab;
    register_all_ops(tab);
    return tab;
  }();
  return t;
}
}  // namespace

bool OpDef::is_differentiable(int input) const {
  for (int i : differentiable_inputs)
    if (i == input || i == kAllInputs) return true;
  return false;
}

void OpTable::add(OpKind kind, const OpDef& def) {
  const int i = static_cast<int>(kind);
  DIFFLUT_ASSERT(i >= 0 && i < kNumOps);
  DIFFLUT_ASSERT(!present_[i]);  // each kind has exactly one row
  rows_[i] = def;
  rows_[i].kind = kind;
  if (!rows_[i].name) rows_[i].name = kOpNames[i];
  present_[i] = true;
}

const OpDef& OpTable::get(OpKind kind) const {
  const int i = static_cast<int>(kind);
  DIFFLUT_ASSERT(i >= 0 && i < kNumOps && present_[i]);
  return rows_[i];
}

bool OpTable::has(OpKind kind) const {
  const int i = static_cast<int>(kind);
  return i >= 0 && i < kNumOps && present_[i];
}

const OpDef& op_def(OpKind kind) {
  const OpTable& t = table();
  DIFFLUT_CHECK(t.has(kind), "op table: op '", op_name(kind), "' has no registered row");
  return t.get(kind);
}

const char* op_name(OpKind kind) {
  const int i = static_cast<int>(kind);
  return (i >= 0 && i < kNumOps) ? kOpNames[i] : "?";
}

OpKind op_kind_from_name(const std::string& name) {
  for (int i = 0; i < kNumOps; ++i)
    if (name == kOpNames[i]) return static_cast<OpKind>(i);
  DIFFLUT_FAIL("op table: '", name, "' is not an op kind");
}

void register_all_ops(OpTable& t) {
  t.add(OpKind::leaf, OpDef{.name = "leaf", .differentiable_inputs = {}, .infer = infer_leaf});
  register_elementwise_ops(t);
  register_reduce_ops(t);
  register_matmul_ops(t);
  register_softmax_ops(t);
  register_shape_ops(t);
  register_encoder_ops(t);
  register_lut_ops(t);
}

}  // namespace difflut
