// Op rows of conv_patches and bit_pool (shape inference and validation, kernels per device), the
// table builder and the user-facing constructors of lut/conv_ops.h.
#include "lut/conv_ops.h"

#include <vector>

#include "lut/conv_kernels.h"
#include "lut/lut_ops.h"

namespace difflut {

namespace {
void check_table_attrs(const char* op, const std::vector<TensorMeta>& in, const Attrs& a) {
  DIFFLUT_CHECK(in.size() == 1, op, ": expected 1 input, found ", in.size());
  DIFFLUT_CHECK(in[0].shape.size() == 2 && is_floating(in[0].dtype), op,
                ": expected x [B, F] of f32 or f64, found ", dtype_name(in[0].dtype),
                shape_str(in[0].shape));
  DIFFLUT_CHECK(a.tensors.size() == 3, op,
                ": expected attrs.tensors = {table, csr_offsets, csr_positions}, found ",
                a.tensors.size(), " tensors");
  const Tensor& t = a.tensors[0];
  DIFFLUT_CHECK(t.defined() && t.dim() == 2 && t.dtype() == DType::i32, op,
                ": expected an i32 table [Q, R], found ",
                t.defined() ? t.describe() : std::string("undefined"));
  const int64_t F = in[0].shape[1];
  DIFFLUT_CHECK(a.tensors[1].defined() && a.tensors[1].dtype() == DType::i32 &&
                    a.tensors[1].shape() == Shape{F + 2},
                op, ": expected csr_offsets i32[", F + 2, "] for x with F = ", F, ", found ",
                a.tensors[1].defined() ? a.tensors[1].describe() : std::string("undefined"));
  DIFFLUT_CHECK(a.tensors[2].defined() && a.tensors[2].dtype() == DType::i32 &&
                    a.tensors[2].numel() == t.numel(),
                op, ": expected csr_positions i32[", t.numel(), "], found ",
                a.tensors[2].defined() ? a.tensors[2].describe() : std::string("undefined"));
}

TensorMeta infer_conv_patches(const std::vector<TensorMeta>& in, const Attrs& a) {
  check_table_attrs("conv_patches", in, a);
  const Tensor& t = a.tensors[0];
  return TensorMeta{{in[0].shape[0] * t.size(0), t.size(1)}, in[0].dtype};
}

TensorMeta infer_bit_pool(const std::vector<TensorMeta>& in, const Attrs& a) {
  check_table_attrs("bit_pool", in, a);
  const Tensor& t = a.tensors[0];
  DIFFLUT_CHECK(t.size(1) >= 1, "bit_pool: expected windows of at least 1 input, found ",
                t.describe());
  return TensorMeta{{in[0].shape[0], t.size(0)}, in[0].dtype};
}

Var apply_table_op(OpKind kind, const char* op, Var x, const ConvTable& t) {
  DIFFLUT_CHECK(x.defined(), op, ": input is an undefined Var");
  DIFFLUT_CHECK(t.device == x.device(), op, ": the table lives on ", device_name(t.device),
                ", x on ", device_name(x.device()));
  DIFFLUT_CHECK(x.value().dim() == 2 && x.size(1) == t.num_inputs, op, ": expected x [B, ",
                t.num_inputs, "] (the table's inputs), found ", x.value().describe());
  Attrs at;
  at.tensors = {t.table, t.offsets, t.positions};
  return x.graph->apply(kind, {x}, std::move(at));
}
}  // namespace

OpKind conv_patches_op() {
  static const OpKind kind = register_op(
      OpDef{.name = "conv_patches",
            .differentiable_inputs = {0},
            .infer = infer_conv_patches,
            .forward = {conv_patches_forward_cpu, DIFFLUT_CUDA_FN(conv_patches_forward_cuda)},
            .backward = {conv_patches_backward_cpu, DIFFLUT_CUDA_FN(conv_patches_backward_cuda)}});
  return kind;
}

OpKind bit_pool_op() {
  static const OpKind kind = register_op(
      OpDef{.name = "bit_pool",
            .differentiable_inputs = {0},
            .infer = infer_bit_pool,
            .forward = {bit_pool_forward_cpu, DIFFLUT_CUDA_FN(bit_pool_forward_cuda)},
            .backward = {bit_pool_backward_cpu, DIFFLUT_CUDA_FN(bit_pool_backward_cuda)}});
  return kind;
}

ConvTable make_conv_table(const Tensor& table, int64_t num_inputs, Device device,
                          bool allow_padding, const char* what) {
  DIFFLUT_CHECK(table.defined() && table.dim() == 2 &&
                    (table.dtype() == DType::i32 || table.dtype() == DType::i64),
                what, ": expected an i32/i64 table [Q, R], found ",
                table.defined() ? table.describe() : std::string("undefined"));
  DIFFLUT_CHECK(
      num_inputs >= 1 && num_inputs < (int64_t{1} << 31) - 1 && table.numel() < (int64_t{1} << 31),
      what, ": expected 1 <= F < 2^31 - 1 inputs and < 2^31 table entries, found F = ", num_inputs,
      " and ", table.numel(), " entries");
  const std::vector<int64_t> idx = table.to(Device::cpu).to(DType::i64).to_vector<int64_t>();
  const int64_t lo = allow_padding ? -1 : 0, R = table.size(1);
  // Owner of entry m: its input, or the virtual input F for padding.
  std::vector<int32_t> offsets(static_cast<size_t>(num_inputs) + 2, 0), table32(idx.size());
  for (size_t m = 0; m < idx.size(); ++m) {
    DIFFLUT_CHECK(idx[m] >= lo && idx[m] < num_inputs, what, ": table[",
                  static_cast<int64_t>(m) / R, ", ", static_cast<int64_t>(m) % R, "] = ", idx[m],
                  " is outside [", lo, ", ", num_inputs, ")");
    table32[m] = static_cast<int32_t>(idx[m]);
    const int64_t owner = idx[m] < 0 ? num_inputs : idx[m];
    offsets[static_cast<size_t>(owner) + 1]++;
  }
  for (size_t f = 0; f + 1 < offsets.size(); ++f) offsets[f + 1] += offsets[f];
  std::vector<int32_t> fill(offsets.begin(), offsets.end() - 1), positions(idx.size());
  for (size_t m = 0; m < idx.size(); ++m) {
    const int64_t owner = idx[m] < 0 ? num_inputs : idx[m];
    positions[static_cast<size_t>(fill[static_cast<size_t>(owner)]++)] = static_cast<int32_t>(m);
  }
  ConvTable t;
  t.device = device;
  t.num_inputs = num_inputs;
  t.table = Tensor::from_vector(table32, table.shape(), device);
  t.offsets = Tensor::from_vector(offsets, {num_inputs + 2}, device);
  t.positions = Tensor::from_vector(positions, {table.numel()}, device);
  return t;
}

Var conv_patches(Var x, const ConvTable& table) {
  return apply_table_op(conv_patches_op(), "conv_patches", x, table);
}

Var bit_pool(Var x, const ConvTable& table) {
  return apply_table_op(bit_pool_op(), "bit_pool", x, table);
}

}  // namespace difflut
