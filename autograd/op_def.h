// The op table's row type: what the engine knows about one op kind (shape inference, kernels per
// device, differentiable inputs, optional HDL emitter), and the argument bundle kernels receive.
#pragma once
#include <array>
#include <memory>
#include <cstdint>
#include <string>
#include <vector>

#include "autograd/op_list.h"
#include "tensor/tensor.h"

namespace difflut {

enum class OpKind : uint16_t {
#define DIFFLUT_OP_ENUM(name) name,
  DIFFLUT_ALL_OPS(DIFFLUT_OP_ENUM)
#undef DIFFLUT_OP_ENUM
      count_
};
constexpr int kNumOps = static_cast<int>(OpKind::count_);

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
  OpKind kind = OpKind::count_;  // filled in by the table
  bool is_differentiable(int input) const;
};

// Kernel pointers for CUDA exist only in CUDA builds; rows write DIFFLUT_CUDA_FN(f).
#ifdef DIFFLUT_WITH_CUDA
#define DIFFLUT_CUDA_FN(f) f
#else
#define DIFFLUT_CUDA_FN(f) nullptr
#endif

// The table, filled on first use by explicit calls to each family's register function.
const OpDef& op_def(OpKind kind);
const char* op_name(OpKind kind);
// Throws difflut::Error if `name` is not an op kind.
OpKind op_kind_from_name(const std::string& name);

class OpTable {
 public:
  void add(OpKind kind, const OpDef& def);
  const OpDef& get(OpKind kind) const;
  bool has(OpKind kind) const;
 private:
  std::array<OpDef, kNumOps> rows_{};
  std::array<bool, kNumOps> present_{};
};

// Per-family registration (each defined next to its rows). register_all_ops calls them all.
void register_elementwise_ops(OpTable& t);
void register_reduce_ops(OpTable& t);
void register_matmul_ops(OpTable& t);
void register_softmax_ops(OpTable& t);
void register_shape_ops(OpTable& t);
void register_encoder_ops(OpTable& t);
void register_lut_ops(OpTable& t);
void register_all_ops(OpTable& t);

}  // namespace difflut
