// The op registry: one row per op kind. autograd's rows are gathered by explicit calls to each
// family's registration on first use; higher layers append theirs with register_op (no static-init
// tricks, so nothing depends on which objects the linker keeps).
#include <atomic>
#include <mutex>

#include "autograd/op_def.h"

namespace difflut {

namespace {
const char* const kCoreOpNames[] = {
#define DIFFLUT_OP_NAME(name) #name,
    DIFFLUT_CORE_OPS(DIFFLUT_OP_NAME)
#undef DIFFLUT_OP_NAME
};

// The leaf row: inputs and parameters. It has no kernels; the engine never calls them.
TensorMeta infer_leaf(const std::vector<TensorMeta>&, const Attrs&) {
  DIFFLUT_FAIL("leaf: leaves are created with Graph::input/param, not Graph::apply");
}

// Rows live in a fixed array and are complete before `count` covers them, so readers index it
// without a lock: a kind is only known to a reader after its registration returned.
struct Registry {
  std::array<OpDef, kMaxOps> rows{};
  std::atomic<int> count{0};
  std::mutex write;
};

Registry& registry() {
  static Registry* r = [] {
    auto* reg = new Registry();  // never destroyed: kernels may look rows up during shutdown
    OpTable core;
    core.add(OpKind::leaf, OpDef{.name = "leaf", .differentiable_inputs = {}, .infer = infer_leaf});
    register_elementwise_ops(core);
    register_reduce_ops(core);
    register_matmul_ops(core);
    register_softmax_ops(core);
    register_shape_ops(core);
    for (int i = 0; i < kNumCoreOps; ++i) {
      DIFFLUT_CHECK(core.present[i], "op table: autograd op '", kCoreOpNames[i],
                    "' has no registered row");
      reg->rows[i] = core.rows[i];
    }
    reg->count.store(kNumCoreOps, std::memory_order_release);
    return reg;
  }();
  return *r;
}

std::string known_names() {
  std::string s;
  for (const std::string& n : registered_op_names()) s += (s.empty() ? "" : ", ") + n;
  return s;
}
}  // namespace

bool OpDef::is_differentiable(int input) const {
  for (int i : differentiable_inputs)
    if (i == input || i == kAllInputs) return true;
  return false;
}

void OpTable::add(OpKind kind, const OpDef& def) {
  const int i = static_cast<int>(kind);
  DIFFLUT_ASSERT(i >= 0 && i < kNumCoreOps);
  DIFFLUT_ASSERT(!present[i]);  // each kind has exactly one row
  rows[i] = def;
  rows[i].kind = kind;
  if (!rows[i].name) rows[i].name = kCoreOpNames[i];
  present[i] = true;
}

OpKind register_op(const OpDef& def) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.write);
  DIFFLUT_CHECK(def.name && *def.name, "op table: register_op needs a row with a name");
  DIFFLUT_CHECK(!find_op(def.name), "op table: an op called '", def.name,
                "' is already registered");
  const int i = r.count.load(std::memory_order_relaxed);
  DIFFLUT_CHECK(i < kMaxOps, "op table: full (", kMaxOps, " op kinds); cannot add '", def.name,
                "'");
  r.rows[static_cast<size_t>(i)] = def;
  r.rows[static_cast<size_t>(i)].kind = static_cast<OpKind>(i);
  r.count.store(i + 1, std::memory_order_release);
  return static_cast<OpKind>(i);
}

const OpDef& op_def(OpKind kind) {
  Registry& r = registry();
  const int i = static_cast<int>(kind);
  DIFFLUT_CHECK(i < r.count.load(std::memory_order_acquire), "op table: op kind ", i,
                " has no registered row");
  return r.rows[static_cast<size_t>(i)];
}

const char* op_name(OpKind kind) {
  Registry& r = registry();
  const int i = static_cast<int>(kind);
  return i < r.count.load(std::memory_order_acquire) ? r.rows[static_cast<size_t>(i)].name : "?";
}

const OpDef* find_op(const std::string& name) {
  Registry& r = registry();
  const int n = r.count.load(std::memory_order_acquire);
  for (int i = 0; i < n; ++i)
    if (name == r.rows[static_cast<size_t>(i)].name) return &r.rows[static_cast<size_t>(i)];
  return nullptr;
}

OpKind op_kind_from_name(const std::string& name) {
  if (const OpDef* d = find_op(name)) return d->kind;
  DIFFLUT_FAIL("op table: '", name, "' is not a registered op kind (known: ", known_names(), ")");
}

std::vector<const OpDef*> registered_ops() {
  Registry& r = registry();
  const int n = r.count.load(std::memory_order_acquire);
  std::vector<const OpDef*> v;
  for (int i = 0; i < n; ++i) v.push_back(&r.rows[static_cast<size_t>(i)]);
  return v;
}

std::vector<std::string> registered_op_names() {
  std::vector<std::string> v;
  for (const OpDef* d : registered_ops()) v.emplace_back(d->name);
  return v;
}

}  // namespace difflut
