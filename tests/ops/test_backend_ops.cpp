// The cross-backend op test: every case of the table (op_cases_*.cpp) is checked three ways:
//   (a) the CPU op in f32 and f64 against the case's f64 reference (inputs as misaligned views);
//   (b) its gradient: central differences in f64 (per element on small cases, along a random
//       direction on large ones), or the documented surrogate, or "no gradient";
//   (c) the CUDA op against the CPU op (values and gradients, f32 and f64) and against itself
//       (two runs are bit-identical); skipped with a message without a GPU.
// A completeness check fails when a registered op has no case.
#include <cmath>
#include <map>

#include "autograd/gradcheck.h"
#include "op_case.h"
#include "test_util.h"

using namespace difflut;
using namespace difflut::optest;

namespace {

// Each case draws its inputs from its own seed (FNV-1a of its label): adding a case changes no other.
uint64_t case_seed(const OpCase& c) {
  uint64_t h = 1469598103934665603ull;
  for (char ch : c.label()) h = (h ^ static_cast<unsigned char>(ch)) * 1099511628211ull;
  return h;
}

Tensors make_inputs(const OpCase& c, const MakeInputs& make) {
  Generator gen(case_seed(c));
  return make(gen);
}

// Floating inputs converted to `dt`; index and label inputs unchanged.
Tensors cast_floats(const Tensors& in, DType dt) {
  Tensors out;
  for (const Tensor& t : in) out.push_back(is_floating(t.dtype()) ? t.to(dt) : t);
  return out;
}

// A copy of t placed one element into a fresh allocation: kernels must honour a view's byte offset
// and may not assume aligned data.
Tensor misaligned(const Tensor& t) {
  Tensor big = Tensor::empty({t.numel() + 1}, t.dtype(), t.device());
  Tensor view = Tensor::view_of(big.storage(), dtype_size(t.dtype()), t.shape(), t.dtype());
  view.copy_(t);
  return view;
}

std::vector<int> differentiable_inputs(const OpCase& c, const Tensors& in) {
  std::vector<int> idx;
  for (size_t i = 0; i < in.size(); ++i)
    if (is_floating(in[i].dtype()) && registered_op(c.op).differentiable(static_cast<int>(i)))
      idx.push_back(static_cast<int>(i));
  return idx;
}

struct Run {
  Tensor out;
  Tensors grads;  // per input; undefined without a gradient
};

// Builds the case on `dev`; with a seed, runs backward and collects every input gradient.
Run run_case(const OpCase& c, const Tensors& inputs, Device dev, const Tensor& seed,
             bool misalign = false) {
  const std::vector<int> diff = differentiable_inputs(c, inputs);
  Graph g;
  std::vector<Var> vars;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Tensor t = inputs[i].to(dev);
    if (misalign) t = misaligned(t);
    const bool rg = std::find(diff.begin(), diff.end(), static_cast<int>(i)) != diff.end();
    vars.push_back(g.input(t, "in" + std::to_string(i), rg && seed.defined()));
  }
  Var y = c.build(vars);
  REQUIRE_MESSAGE(op_name_of(y) == c.op, "the case builds op '", op_name_of(y), "'");
  Run r{y.value().to(Device::cpu).clone(), Tensors(inputs.size())};
  if (seed.defined() && !diff.empty()) {
    g.backward(y, seed.to(y.dtype()).to(dev));
    for (int i : diff)
      r.grads[static_cast<size_t>(i)] =
          g.grad(vars[static_cast<size_t>(i)]).to(Device::cpu).clone();
  }
  return r;
}

double tol_for(const OpCase& c, DType dt) { return dt == DType::f32 ? c.tol_f32 : c.tol_f64; }

// An output seed for backward: normal values of the output's shape (f64).
Tensor seed_for(const OpCase& c, const Shape& s) {
  Generator gen(case_seed(c) + 1);
  return Tensor::randn(s, gen, DType::f64);
}

void check_against_reference(const OpCase& c, DType dt) {
  const Tensors in = cast_floats(make_inputs(c, c.inputs), dt);
  const Tensor ref = c.reference(cast_floats(in, DType::f64));
  const Tensor out = run_case(c, in, Device::cpu, Tensor(), /*misalign=*/true).out;
  if (is_floating(ref.dtype())) CHECK(out.dtype() == dt);  // float outputs keep the input dtype
  if (!is_floating(ref.dtype()) || c.exact) {
    test::check_equal(out, is_floating(ref.dtype()) ? ref.to(out.dtype()) : ref);
  } else {
    test::check_close(out, ref, tol_for(c, dt), tol_for(c, dt));
  }
}

// The op's output values, evaluated without a tape.
std::vector<double> output_values(const OpCase& c, const Tensors& in) {
  NoGradGuard no_grad;
  return values(run_case(c, in, Device::cpu, Tensor()).out);
}

// The analytic gradient's projection on a random direction d against the central difference of
// Σ seed ⊙ op along d (f64): cheap at any size; a wrong gradient over a chunk, block or tail shows
// (single-element errors are the small cases' job).
void check_directional_derivative(const OpCase& c, const Tensors& in) {
  const Tensor seed = seed_for(c, run_case(c, in, Device::cpu, Tensor()).out.shape());
  const Run r = run_case(c, in, Device::cpu, seed);
  const std::vector<double> w = values(seed);
  Generator gen(case_seed(c) + 2);
  // Small: a step of eps·d must not cross a kink (ReLUs inside neurallut, relu and clamp inputs
  // stay 0.05 away) for the difference to be exact to O(eps²).
  const double eps = 1e-7;
  Tensors plus = in, minus = in;
  double analytic = 0, scale = 0;
  for (int i : differentiable_inputs(c, in)) {
    const size_t u = static_cast<size_t>(i);
    const std::vector<double> d = values(Tensor::randn(in[u].shape(), gen, DType::f64));
    const std::vector<double> g = values(r.grads[u]), x = values(in[u]);
    std::vector<double> xp(x), xm(x);
    for (size_t e = 0; e < d.size(); ++e) {
      analytic += g[e] * d[e];
      scale += std::fabs(g[e] * d[e]);
      xp[e] += eps * d[e];
      xm[e] -= eps * d[e];
    }
    plus[u] = f64_tensor(xp, in[u].shape());
    minus[u] = f64_tensor(xm, in[u].shape());
  }
  // Differences per element before the weighted sum: no cancellation between two large sums.
  const std::vector<double> yp = output_values(c, plus), ym = output_values(c, minus);
  double numeric = 0, rounding = 0;
  for (size_t e = 0; e < w.size(); ++e) {
    numeric += w[e] * (yp[e] - ym[e]) / (2 * eps);
    // A few ulps of each output (and of the perturbed inputs it copies) over the step.
    rounding += std::fabs(w[e]) * (std::fabs(yp[e]) + std::fabs(ym[e])) * 1e-15 / eps;
  }
  CHECK_MESSAGE(std::fabs(numeric - analytic) <= 1e-6 * (scale + 1.0) + rounding,
                "directional derivative: analytic ", analytic, " numeric ", numeric);
}

void check_gradient(const OpCase& c) {
  const RegisteredOp& op = registered_op(c.op);
  if (c.grad == GradCheck::none) {
    INFO(c.grad_note);
    CHECK_FALSE(op.any_differentiable());
    // Inputs that want a gradient give an output that records none.
    const Tensors in = make_inputs(c, c.inputs);
    Graph g;
    std::vector<Var> vars;
    for (const Tensor& t : in) vars.push_back(g.input(t, "in", is_floating(t.dtype())));
    Var y = c.build(vars);
    CHECK_FALSE(g.node(y.id).requires_grad);
    return;
  }
  CHECK(op.any_differentiable());
  const Tensors in = cast_floats(make_inputs(c, c.fd_inputs ? c.fd_inputs : c.inputs), DType::f64);
  if (differentiable_inputs(c, in).empty())
    return;  // integer data (transpose of i64): forward only
  if (c.large) {
    // Too large for element-wise differences: one random direction through every input at once.
    if (c.grad == GradCheck::finite_differences) check_directional_derivative(c, in);
    return;  // a surrogate is checked on the op's small cases
  }
  if (c.grad == GradCheck::finite_differences) {
    GradcheckOptions opts;
    opts.check_inputs = differentiable_inputs(c, in);
    opts.seed = case_seed(c);
    const GradcheckResult r =
        gradcheck([&c](Graph&, const std::vector<Var>& v) { return c.build(v); }, in, opts);
    CHECK_MESSAGE(r.ok, r.report);
    return;
  }
  INFO(c.grad_note);
  const Tensor out = run_case(c, in, Device::cpu, Tensor()).out;
  const Tensor seed = seed_for(c, out.shape());
  const Run r = run_case(c, in, Device::cpu, seed);
  const Tensors expected = c.surrogate(in, seed);
  int checked = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    if (!expected[i].defined()) continue;
    CAPTURE(i);
    REQUIRE(r.grads[i].defined());
    test::check_close(r.grads[i], expected[i], 1e-7, 1e-6);
    ++checked;
  }
  CHECK(checked > 0);
}

void check_cuda_against_cpu(const OpCase& c, DType dt) {
  const Tensors in = cast_floats(make_inputs(c, c.inputs), dt);
  const Tensor shape_probe = run_case(c, in, Device::cpu, Tensor()).out;
  const bool backward = is_floating(shape_probe.dtype()) && !differentiable_inputs(c, in).empty();
  const Tensor seed = backward ? seed_for(c, shape_probe.shape()) : Tensor();
  const Run cpu = run_case(c, in, Device::cpu, seed);
  const Run gpu = run_case(c, in, Device::cuda, seed);
  const Run again = run_case(c, in, Device::cuda, seed);
  // Both devices round, in different orders (fused multiply-adds, tree sums, device math
  // functions): ten times the tolerance against the exact reference.
  const double tol = 10 * tol_for(c, dt);
  if (c.exact || !is_floating(cpu.out.dtype()))
    test::check_equal(gpu.out, cpu.out);
  else
    test::check_close(gpu.out, cpu.out, tol, tol);
  test::check_equal(again.out, gpu.out);
  for (size_t i = 0; i < in.size(); ++i) {
    if (!cpu.grads[i].defined()) continue;
    CAPTURE(i);
    if (c.exact_grad) {
      test::check_equal(gpu.grads[i], cpu.grads[i]);
    } else {
      // A broadcast operand's gradient sums out/in terms in a device-specific order.
      const double terms = static_cast<double>(cpu.out.numel()) /
                           static_cast<double>(std::max<int64_t>(1, in[i].numel()));
      const double gt = tol * std::max(1.0, std::sqrt(terms));
      test::check_close(gpu.grads[i], cpu.grads[i], gt, tol);
    }
    test::check_equal(again.grads[i], gpu.grads[i]);
  }
}

}  // namespace

TEST_CASE("every registered op has a case, and every differentiable op a gradient check") {
  std::map<std::string, std::vector<const OpCase*>> by_op;
  for (const OpCase& c : all_cases()) {
    CAPTURE(c.label());
    CHECK_NOTHROW(registered_op(c.op));  // no case for an op that no longer exists
    if (c.grad != GradCheck::finite_differences)
      CHECK_MESSAGE(!c.grad_note.empty(), "say what the gradient check asserts");
    by_op[c.op].push_back(&c);
  }
  int ops = 0;
  for (const RegisteredOp& op : registered_op_list()) {
    if (!op.has_kernel) continue;  // the leaf row: graph inputs, nothing to compute
    CAPTURE(op.name);
    ++ops;
    const auto& cs = by_op[op.name];
    CHECK_MESSAGE(!cs.empty(), "op '", op.name,
                  "' has no case: add one in tests/ops/op_cases_*.cpp");
    bool grad_checked = false;
    for (const OpCase* c : cs) {
      if (!op.any_differentiable()) CHECK_MESSAGE(c->grad == GradCheck::none, c->label());
      grad_checked |= !c->large && c->grad != GradCheck::none;
    }
    if (op.any_differentiable()) CHECK_MESSAGE(grad_checked, "no small case checks the gradient");
  }
  MESSAGE(all_cases().size(), " cases over ", ops, " ops");
}

TEST_CASE("(a) CPU ops match the f64 reference, f32 and f64") {
  for (const OpCase& c : all_cases())
    for (DType dt : {DType::f32, DType::f64}) {
      CAPTURE(c.label());
      CAPTURE(dtype_name(dt));
      check_against_reference(c, dt);
    }
}

TEST_CASE("(b) gradients match central differences or the documented surrogate") {
  for (const OpCase& c : all_cases()) {
    CAPTURE(c.label());
    check_gradient(c);
  }
}

TEST_CASE("(c) CUDA ops match the CPU ops, and repeat bit for bit") {
  DIFFLUT_REQUIRE_GPU();
  for (const OpCase& c : all_cases())
    for (DType dt : {DType::f32, DType::f64}) {
      CAPTURE(c.label());
      CAPTURE(dtype_name(dt));
      check_cuda_against_cpu(c, dt);
    }
}
