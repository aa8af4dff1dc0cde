// Op rows of the layer training aids (bit_flip, grad_stabilize: shape inference and validation,
// kernels per device) and the user-facing constructors of lut/layer_aids.h.
#include "lut/layer_aids.h"

#include <cmath>

#include "lut/layer_aids_kernels.h"
#include "lut/lut_ops.h"

namespace difflut {

namespace {

void check_rows(const char* op, const std::vector<TensorMeta>& in) {
  DIFFLUT_CHECK(in.size() == 1, op, ": expected 1 input, found ", in.size());
  DIFFLUT_CHECK(is_floating(in[0].dtype), op, ": expected a floating input, found ",
                dtype_name(in[0].dtype));
  DIFFLUT_CHECK(in[0].shape.size() == 2, op, ": expected x [B, F], found ", shape_str(in[0].shape));
}

TensorMeta infer_bit_flip(const std::vector<TensorMeta>& in, const Attrs& attrs) {
  check_rows("bit_flip", in);
  DIFFLUT_CHECK(attrs.ints.size() == 1 && attrs.floats.size() == 1,
                "bit_flip: expected attrs ints {key} and floats {p}");
  const double p = attrs.floats[0];
  DIFFLUT_CHECK(std::isfinite(p) && p >= 0.0 && p <= 1.0,
                "bit_flip: expected a flip probability in [0, 1], found ", p);
  return in[0];
}

TensorMeta infer_grad_stabilize(const std::vector<TensorMeta>& in, const Attrs& attrs) {
  check_rows("grad_stabilize", in);
  DIFFLUT_CHECK(attrs.ints.size() == 2 && attrs.floats.size() == 2,
                "grad_stabilize: expected attrs ints {batchwise, subtract_mean} and floats "
                "{target, eps}");
  GradStabilizationOptions o;
  o.target = attrs.floats[0];
  o.eps = attrs.floats[1];
  check_grad_stabilization(o);
  return in[0];
}

Graph& graph_of(Var v, const char* op) {
  DIFFLUT_CHECK(v.defined(), op, ": input is an undefined Var");
  return *v.graph;
}

}  // namespace

OpKind bit_flip_op() {
  static const OpKind kind = register_op(
      OpDef{.name = "bit_flip",
            .differentiable_inputs = {0},
            .infer = infer_bit_flip,
            .forward = {bit_flip_forward_cpu, DIFFLUT_CUDA_FN(bit_flip_forward_cuda)},
            .backward = {bit_flip_backward_cpu, DIFFLUT_CUDA_FN(bit_flip_backward_cuda)}});
  return kind;
}

OpKind grad_stabilize_op() {
  static const OpKind kind = register_op(OpDef{
      .name = "grad_stabilize",
      .differentiable_inputs = {0},
      .infer = infer_grad_stabilize,
      .forward = {grad_stabilize_forward, DIFFLUT_CUDA_FN(grad_stabilize_forward)},
      .backward = {grad_stabilize_backward_cpu, DIFFLUT_CUDA_FN(grad_stabilize_backward_cuda)}});
  return kind;
}

const char* grad_stabilization_name(GradStabilization mode) {
  switch (mode) {
    case GradStabilization::none: return "none";
    case GradStabilization::layerwise: return "layerwise";
    case GradStabilization::batchwise: return "batchwise";
  }
  return "?";
}

GradStabilization parse_grad_stabilization(const std::string& name, const std::string& what) {
  for (GradStabilization m : {GradStabilization::none, GradStabilization::layerwise,
                              GradStabilization::batchwise})
    if (name == grad_stabilization_name(m)) return m;
  DIFFLUT_FAIL(what, ": expected one of none, layerwise, batchwise, found '", name, "'");
}

void check_grad_stabilization(const GradStabilizationOptions& o) {
  DIFFLUT_CHECK(std::isfinite(o.target) && o.target > 0,
                "grad_stabilization: expected a positive target variance (grad_target_std), found ",
                o.target);
  DIFFLUT_CHECK(std::isfinite(o.eps) && o.eps > 0,
                "grad_stabilization: expected a positive epsilon (grad_epsilon), found ", o.eps);
}

Var bit_flip(Var x, double probability, uint64_t key) {
  Attrs at;
  at.ints = {static_cast<int64_t>(key)};
  at.floats = {probability};
  return graph_of(x, "bit_flip").apply(bit_flip_op(), {x}, std::move(at));
}

Var grad_stabilize(Var x, const GradStabilizationOptions& options) {
  DIFFLUT_CHECK(options.mode != GradStabilization::none,
                "grad_stabilize: mode none adds no op; leave the layer's output as it is");
  Attrs at;
  at.ints = {options.mode == GradStabilization::batchwise ? 1 : 0, options.subtract_mean ? 1 : 0};
  at.floats = {options.target, options.eps};
  return graph_of(x, "grad_stabilize").apply(grad_stabilize_op(), {x}, std::move(at));
}

uint64_t bit_flip_key(uint64_t layer_seed, uint64_t step) {
  // splitmix64 finaliser over the seed and the step (distinct steps -> unrelated keys).
  uint64_t z = layer_seed + 0x9E3779B97F4A7C15ull * (step + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace difflut
