// The cross-backend op test's case type (in the style of ggml's test-backend-ops): one row per op
// variant, keyed by the op's registered name. Each case makes its inputs, builds the op on a graph,
// and computes the expected output independently with plain f64 loops; test_backend_ops.cpp checks
// every case three ways (CPU vs reference in f32 and f64, gradient, CUDA vs CPU).
//
// Adding a case: write a reference and push an OpCase in the family's op_cases_*.cpp.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "autograd/graph.h"
#include "tensor/random.h"
#include "tensor/tensor.h"

namespace difflut::optest {

using Tensors = std::vector<Tensor>;
// Inputs in f64 for floating operands (the test converts them to f32/f64 and to the device); index
// and label operands in their own integer dtype.
using MakeInputs = std::function<Tensors(Generator&)>;
// Builds the op under test from graph inputs; the returned value must be that op's node. Attribute
// tensors (gather indices) go to vars[0]'s device.
using BuildFn = std::function<Var(const std::vector<Var>&)>;
// The expected output from f64 (or integer) inputs, by plain loops; f64, or i64 for index outputs.
using ReferenceFn = std::function<Tensor(const Tensors&)>;
// The expected input gradients (f64; undefined for inputs without one) for an output seed.
using GradReferenceFn = std::function<Tensors(const Tensors& inputs, const Tensor& seed)>;

enum class GradCheck {
  finite_differences,  // the analytic gradient against central differences of the op (f64, CPU)
  surrogate,           // the analytic gradient against the documented surrogate (`surrogate`)
  none,                // the op has no differentiable input: asserts that no gradient is recorded
};

struct OpCase {
  std::string op;       // the registered op name
  std::string variant;  // what this case exercises (shapes, attributes, edge values)
  MakeInputs inputs;
  BuildFn build;
  ReferenceFn reference;
  GradCheck grad = GradCheck::finite_differences;
  MakeInputs fd_inputs;       // optional: inputs away from kinks and ties for finite differences
  GradReferenceFn surrogate;  // grad == surrogate
  std::string grad_note;      // grad != finite_differences: what the gradient check asserts
  double tol_f32 = 2e-6;  // forward against the reference and CUDA against the CPU (atol = rtol)
  double tol_f64 = 1e-12;
  // Sized for blocked / CUDA code paths (or extreme values): checked against the reference and
  // across devices; its gradient only along one random direction (finite-difference cases), the
  // element-wise and surrogate checks run on the op's small cases.
  bool large = false;
  bool exact = false;  // outputs (data movement, bits): equal to the reference and across devices
  bool exact_grad =
      false;  // gradients too: CUDA equals the CPU bit for bit (fixed summation order)

  std::string label() const { return op + " [" + variant + "]"; }
};

// The table, one function per op family (op_cases_*.cpp).
void add_elementwise_cases(std::vector<OpCase>& cases);
void add_reduce_cases(std::vector<OpCase>& cases);
void add_dense_cases(std::vector<OpCase>& cases);
void add_shape_cases(std::vector<OpCase>& cases);
void add_encoder_cases(std::vector<OpCase>& cases);
void add_lut_node_cases(std::vector<OpCase>& cases);
void add_lut_op_cases(std::vector<OpCase>& cases);     // dwn, group sum, custom nodes, mapping
void add_layer_aid_cases(std::vector<OpCase>& cases);  // bit_flip, grad_stabilize
void add_sparse_mapping_cases(std::vector<OpCase>& cases);
void add_conv_cases(std::vector<OpCase>& cases);  // conv_patches, bit_pool
const std::vector<OpCase>& all_cases();

// --- the op registry, seen through one adapter (registered_ops.cpp) -----------------------------
struct RegisteredOp {
  std::string name;
  bool has_kernel = true;        // false for the leaf row (graph inputs), which needs no case
  std::vector<int> diff_inputs;  // differentiable input indices; -1 = every input
  bool differentiable(int input) const;
  bool any_differentiable() const { return !diff_inputs.empty(); }
};
std::vector<RegisteredOp> registered_op_list();
const RegisteredOp& registered_op(const std::string& name);  // throws if unknown
std::string op_name_of(Var v);                               // the op of v's node

// --- helpers for writing cases ------------------------------------------------------------------
std::vector<double> values(const Tensor& t);  // as f64, on the host
Tensor f64_tensor(const std::vector<double>& v, const Shape& s);
Tensor uniform(const Shape& s, Generator& gen, double lo, double hi);
// Magnitudes in [lo, hi) with random signs (away from 0: kinks, poles).
Tensor signed_uniform(const Shape& s, Generator& gen, double lo, double hi);
// Distinct values at least 0.1 apart, in random order (no ties for max).
Tensor distinct(const Shape& s, Generator& gen);
// Writes `edge` over the first elements of t (zeros, negatives, ties, thresholds).
Tensor with_edges(Tensor t, const std::vector<double>& edge);

// A shape split around `axis` as [outer, extent, inner] (row-major).
struct AxisSplit {
  int64_t outer = 1, extent = 1, inner = 1;
};
AxisSplit split_at(const Shape& s, int axis);
int normalize_axis(int axis, size_t rank);

// The central-difference gradient of Σ seed ⊙ f(inputs) for every floating input of `which`
// (others undefined), f a reference function: surrogates that are "the gradient of another
// function" are checked against this numerical derivative of that function's reference.
Tensors numeric_gradient(const ReferenceFn& f, const Tensors& inputs, const Tensor& seed,
                         const std::vector<int>& which, double eps = 1e-6);

}  // namespace difflut::optest
