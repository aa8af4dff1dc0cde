// The op table's row type: what the engine knows about one op kind (shape inference, kernels per
// device, differentiable inputs, optional HDL emitter), the argument bundle kernels receive, and the
// registry every layer adds its op kinds to. autograd names only its own kinds (op_list.h); higher
// layers (encoders/, lut/) register theirs with register_op and keep the returned OpKind.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "autograd/op_list.h"
#include "tensor/tensor.h"

namespace difflut {

// An op kind is an index into the registry. autograd's own kinds are the named enumerators; a
// higher layer's kinds are the values register_op hands out after them (stable for the process,
// found by name with op_kind_from_name).
enum class OpKind : uint16_t {
#define DIFFLUT_OP_ENUM(name) name,
  DIFFLUT_CORE_OPS(DIFFLUT_OP_ENUM)
#undef DIFFLUT_OP_ENUM
      num_core_
};
constexpr int kNumCoreOps = static_cast<int>(OpKind::num_core_);
constexpr int kMaxOps = 1024;  // capacity of the registry (rows never move once added)

// Small plain-data attributes plus attribute tensors (e.g. a mapping, a label vector).
struct Attrs {
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::vector<Tensor> tensors;
  // Opaque per-op context shared with the module that built the node (e.g. a registered custom
  // node type, or the learnable mapping's stash for its fused optimizer update). Null for most ops.
  std::shared_ptr<void> context;
};

struct TensorMeta {
  Shape shape;
  DType dtype = DType::f32;
};

struct OpDef;

// Everything a kernel sees. Forward: `in`, `attrs`, write `out` (preallocated from infer) and push
// anything backward needs onto `saved`. Backward: `in`, `out` (the forward value), `saved`,
// `grad_out`; ADD into each non-null `grad_in[i]` (the engine zeroed it; null = not needed).
// Exception: when input i is a Parameter with `custom_update` set, grad_in[i] points to an
// UNDEFINED tensor: the gradient is wanted but the op must hand what the fused update needs to the
// parameter's owner (through attrs.context) instead of materialising it.
struct OpCall {
  const OpDef* def = nullptr;
  const Attrs& attrs;
  std::vector<const Tensor*> in;
  Tensor* out = nullptr;
  std::vector<Tensor>& saved;
  const Tensor* grad_out = nullptr;
  std::vector<Tensor*> grad_in;
  Device device = Device::cpu;
};

using KernelFn = void (*)(OpCall&);
// Validates inputs and attributes (throwing difflut::Error naming the op and the operands) and
// returns the output's shape and dtype.
using InferFn = TensorMeta (*)(const std::vector<TensorMeta>& in, const Attrs& attrs);
// Verilog lowering of one node (hdl/); opaque here so the core does not depend on hdl/.
using HdlEmitFn = void (*)(const void* lowering_context, int node_id);

constexpr int kAllInputs = -1;  // differentiable_inputs = {kAllInputs}: every input (variadic ops)

struct OpDef {
  const char* name = nullptr;
  std::vector<int> differentiable_inputs;  // indices of inputs with gradients
  InferFn infer = nullptr;
  std::array<KernelFn, kNumDevices> forward{};   // indexed by Device
  std::array<KernelFn, kNumDevices> backward{};  // null when no input is differentiable
  bool deterministic = true;
  HdlEmitFn hdl = nullptr;
  OpKind kind = OpKind::num_core_;  // filled in by the registry
  bool is_differentiable(int input) const;
};

// Kernel pointers for CUDA exist only in CUDA builds; rows write DIFFLUT_CUDA_FN(f).
#ifdef DIFFLUT_WITH_CUDA
#define DIFFLUT_CUDA_FN(f) f
#else
#define DIFFLUT_CUDA_FN(f) nullptr
#endif

// The registry. autograd's rows are added on first use; a higher layer adds each of its rows once
// with register_op (typically from a function-local static, so the row exists as soon as the op is
// first used, whatever the link order) and exposes a register_ops() that adds them all.
//
// Adds `def` as a new op kind and returns it. def.name must live as long as the process (a string
// literal). Throws difflut::Error if the name is missing, already registered, or the registry is
// full. Thread-safe.
OpKind register_op(const OpDef& def);
const OpDef& op_def(OpKind kind);
const char* op_name(OpKind kind);
// The kind registered as `name`; throws difflut::Error listing the registered names otherwise.
OpKind op_kind_from_name(const std::string& name);
// The row registered as `name`, or null.
const OpDef* find_op(const std::string& name);
// Every registered row / name, autograd's first, then in registration order. Ops of a layer whose
// register_ops() has not run yet (and none of whose ops has been used) are not listed.
std::vector<const OpDef*> registered_ops();
std::vector<std::string> registered_op_names();

// Builder of autograd's own rows (one call per core kind), used by the family registrations below.
class OpTable {
 public:
  void add(OpKind kind, const OpDef& def);
  std::array<OpDef, kNumCoreOps> rows{};
  std::array<bool, kNumCoreOps> present{};
};

// Per-family registration of autograd's rows (each defined next to its rows in
// autograd/ops/<family>/<family>.cpp).
void register_elementwise_ops(OpTable& t);
void register_reduce_ops(OpTable& t);
void register_matmul_ops(OpTable& t);
void register_softmax_ops(OpTable& t);
void register_shape_ops(OpTable& t);

}  // namespace difflut
