// Op cases of the elementwise family: binary ops with numpy broadcasting (small shapes for finite
// differences, large and odd ones for the blocked CPU and CUDA paths), scalar-attribute and unary
// ops with edge values (zeros, negatives, kinks, bounds), threshold_ste's straight-through gradient.
#include <cmath>

#include "autograd/ops.h"
#include "op_case.h"

namespace difflut::optest {

namespace {

Shape broadcast_shape(const Shape& a, const Shape& b) {
  const size_t r = std::max(a.size(), b.size());
  Shape out(r, 1);
  for (size_t k = 0; k < r; ++k) {
    const int64_t ea = k < a.size() ? a[a.size() - 1 - k] : 1;
    const int64_t eb = k < b.size() ? b[b.size() - 1 - k] : 1;
    out[r - 1 - k] = ea == 1 ? eb : ea;
  }
  return out;
}

// The element of an operand of shape `s` (right-aligned to `out`) read at flat output index `flat`.
int64_t broadcast_source(const Shape& out, const Shape& s, int64_t flat) {
  int64_t idx = 0, stride = 1;
  for (size_t k = 0; k < out.size(); ++k) {
    const size_t d = out.size() - 1 - k;
    const int64_t coord = flat % out[d];
    flat /= out[d];
    if (k < s.size()) {
      const int64_t e = s[s.size() - 1 - k];
      if (e != 1) idx += coord * stride;
      stride *= e;
    }
  }
  return idx;
}

ReferenceFn binary_reference(double (*f)(double, double)) {
  return [f](const Tensors& in) {
    const Shape so = broadcast_shape(in[0].shape(), in[1].shape());
    const std::vector<double> a = values(in[0]), b = values(in[1]);
    std::vector<double> y(static_cast<size_t>(shape_numel(so)));
    for (int64_t i = 0; i < shape_numel(so); ++i)
      y[static_cast<size_t>(i)] = f(a[static_cast<size_t>(broadcast_source(so, in[0].shape(), i))],
                                    b[static_cast<size_t>(broadcast_source(so, in[1].shape(), i))]);
    return f64_tensor(y, so);
  };
}

ReferenceFn unary_reference(std::function<double(double)> f) {
  return [f](const Tensors& in) {
    std::vector<double> y = values(in[0]);
    for (double& v : y) v = f(v);
    return f64_tensor(y, in[0].shape());
  };
}

// Moves values within `margin` of any of `points` to 2·margin past it (finite differences must not
// straddle a kink).
MakeInputs avoiding(MakeInputs make, std::vector<double> points, double margin = 0.05) {
  return [make, points, margin](Generator& gen) {
    Tensors in = make(gen);
    Tensor t = in[0].clone();
    for (int64_t i = 0; i < t.numel(); ++i) {
      double& v = t.data<double>()[i];
      for (double p : points)
        if (std::fabs(v - p) < margin) v = p + (v < p ? -2 * margin : 2 * margin);
    }
    in[0] = t;
    return in;
  };
}

// Elementwise gradient rule g · d(x) for a unary op (the documented subgradient at kinks).
GradReferenceFn unary_surrogate(std::function<double(double)> d) {
  return [d](const Tensors& in, const Tensor& seed) {
    std::vector<double> x = values(in[0]), g = values(seed);
    for (size_t i = 0; i < x.size(); ++i) g[i] *= d(x[i]);
    return Tensors{f64_tensor(g, in[0].shape())};
  };
}

struct Binary {
  const char* name;
  Var (*op)(Var, Var);
  double (*f)(double, double);
};

struct Unary {
  const char* op;
  const char* variant;
  std::function<Var(Var)> build;
  std::function<double(double)> f;
  double lo, hi;              // input range
  std::vector<double> edges;  // planted first values
};

void add_binary_cases(std::vector<OpCase>& cases) {
  const Binary ops[] = {
      {"add", [](Var a, Var b) { return add(a, b); }, [](double a, double b) { return a + b; }},
      {"sub", [](Var a, Var b) { return sub(a, b); }, [](double a, double b) { return a - b; }},
      {"mul", [](Var a, Var b) { return mul(a, b); }, [](double a, double b) { return a * b; }},
      {"div", [](Var a, Var b) { return div(a, b); }, [](double a, double b) { return a / b; }},
  };
  // Small shapes (finite differences): equal, row, column, scalar, outer, leading dims, rank 0.
  const std::vector<std::pair<Shape, Shape>> small = {
      {{3, 4}, {3, 4}}, {{3, 4}, {4}},       {{3, 4}, {1, 4}},
      {{3, 4}, {3, 1}}, {{3, 4}, {1}},       {{1}, {3, 4}},
      {{3, 1}, {1, 4}}, {{2, 3, 4}, {3, 1}}, {{2, 1, 3, 1}, {2, 1, 2}},
      {{}, {3, 2}},     {{2, 1, 4}, {3, 1}}, {{2, 1, 3, 1, 2, 1}, {1, 2, 1, 3, 1, 2}},
  };
  // Large and odd shapes: parallel chunks, CUDA block tails, several reduced groups per operand.
  const std::vector<std::pair<Shape, Shape>> large = {
      {{70001}, {70001}},
      {{1000, 37}, {37}},
      {{1000, 37}, {1, 37}},
      {{1000, 37}, {1000, 1}},
      {{37}, {1}},
      {{1}, {999, 3}},
      {{257, 1}, {1, 129}},
      {{5, 1, 7, 3}, {4, 1, 3}},
      {{3, 1, 5, 1}, {2, 3, 4, 5, 6}},
      {{3, 100003}, {3, 1}},
      {{100003, 3}, {3}},
      {{300, 130}, {300, 1}},
      {{300, 130}, {130}},
  };
  for (const Binary& b : ops)
    for (int pass = 0; pass < 2; ++pass)
      for (const auto& [sa, sb] : pass == 0 ? small : large) {
        OpCase c;
        c.op = b.name;
        c.variant = shape_str(sa) + " with " + shape_str(sb);
        c.inputs = [sa, sb](Generator& gen) {
          // a: zeros and negatives planted; b: away from 0 (div's pole).
          return Tensors{with_edges(signed_uniform(sa, gen, 0.5, 2.0), {0.0, -1.0}),
                         signed_uniform(sb, gen, 0.5, 2.0)};
        };
        auto op = b.op;
        c.build = [op](const std::vector<Var>& v) { return op(v[0], v[1]); };
        c.reference = binary_reference(b.f);
        c.large = pass == 1;
        cases.push_back(c);
      }
}

void add_unary_cases(std::vector<OpCase>& cases) {
  const std::vector<Unary> us = {
      {"add_scalar",
       "s = 0.75",
       [](Var v) { return add_scalar(v, 0.75); },
       [](double x) { return x + 0.75; },
       -3,
       3,
       {0.0, -0.75}},
      {"mul_scalar",
       "s = -1.5",
       [](Var v) { return mul_scalar(v, -1.5); },
       [](double x) { return -1.5 * x; },
       -3,
       3,
       {0.0, -2.0}},
      {"pow_scalar",
       "p = 2",
       [](Var v) { return pow_scalar(v, 2); },
       [](double x) { return x * x; },
       -3,
       3,
       {0.0, -1.0}},
      {"pow_scalar",
       "p = 3",
       [](Var v) { return pow_scalar(v, 3); },
       [](double x) { return x * x * x; },
       -3,
       3,
       {0.0, -2.0}},
      {"pow_scalar",
       "p = 0.5",
       [](Var v) { return pow_scalar(v, 0.5); },
       [](double x) { return std::sqrt(x); },
       0.1,
       3,
       {1.0}},
      {"pow_scalar",
       "p = -1",
       [](Var v) { return pow_scalar(v, -1); },
       [](double x) { return 1.0 / x; },
       0.25,
       4,
       {0.25, 1.0, 4.0}},
      {"pow_scalar",
       "p = -1.5",
       [](Var v) { return pow_scalar(v, -1.5); },
       [](double x) { return 1.0 / (x * std::sqrt(x)); },
       0.5,
       2,
       {1.0}},
      {"neg", "", [](Var v) { return neg(v); }, [](double x) { return -x; }, -3, 3, {0.0}},
      {"exp",
       "",
       [](Var v) { return exp(v); },
       [](double x) { return std::exp(x); },
       -3,
       3,
       {0.0, -20.0}},
      {"log",
       "",
       [](Var v) { return log(v); },
       [](double x) { return std::log(x); },
       0.1,
       3,
       {1.0}},
      {"sigmoid",
       "",
       [](Var v) { return sigmoid(v); },
       [](double x) { return 1.0 / (1.0 + std::exp(-x)); },
       -6,
       6,
       {0.0, -30.0, 30.0}},
      {"tanh",
       "",
       [](Var v) { return tanh(v); },
       [](double x) { return std::tanh(x); },
       -3,
       3,
       {0.0, -20.0}},
  };
  const std::vector<Shape> small = {{1}, {3, 5}, {255}, {33, 47}};
  for (const Unary& u : us)
    for (const Shape& s : std::vector<Shape>{small[0], small[1], small[2], small[3], {100003}}) {
      OpCase c;
      c.op = u.op;
      c.variant = std::string(u.variant) + (u.variant[0] ? " " : "") + shape_str(s);
      const double lo = u.lo, hi = u.hi;
      const std::vector<double> edges = u.edges;
      c.inputs = [s, lo, hi, edges](Generator& gen) {
        return Tensors{with_edges(uniform(s, gen, lo, hi), edges)};
      };
      auto build = u.build;
      c.build = [build](const std::vector<Var>& v) { return build(v[0]); };
      c.reference = unary_reference(u.f);
      c.large = shape_numel(s) > 10000;
      cases.push_back(c);
    }
}

// relu and clamp: kinks planted in the forward, avoided by finite differences; one more case each
// checks the documented subgradient at the kink (relu: 0 at x = 0; clamp: passes on [lo, hi]).
void add_kinked_cases(std::vector<OpCase>& cases) {
  auto relu_ref = [](double x) { return x > 0 ? x : 0.0; };
  auto clamp_ref = [](double x) { return std::min(1.0, std::max(-0.5, x)); };
  for (const Shape& s : std::vector<Shape>{{3, 5}, {33, 47}, {100003}}) {
    OpCase r;
    r.op = "relu";
    r.variant = shape_str(s);
    r.inputs = [s](Generator& gen) {
      return Tensors{with_edges(uniform(s, gen, -3, 3), {0.0, -0.0, -1.0, 1e-30})};
    };
    r.fd_inputs = avoiding(r.inputs, {0.0});
    r.build = [](const std::vector<Var>& v) { return relu(v[0]); };
    r.reference = unary_reference(relu_ref);
    r.large = shape_numel(s) > 10000;
    cases.push_back(r);

    OpCase c = r;
    c.op = "clamp";
    c.variant = "[-0.5, 1] " + shape_str(s);
    c.inputs = [s](Generator& gen) {
      return Tensors{with_edges(uniform(s, gen, -3, 3), {-0.5, 1.0, 0.0, -3.0})};
    };
    c.fd_inputs = avoiding(c.inputs, {-0.5, 1.0});
    c.build = [](const std::vector<Var>& v) { return clamp(v[0], -0.5, 1.0); };
    c.reference = unary_reference(clamp_ref);
    cases.push_back(c);
  }
  OpCase rk;
  rk.op = "relu";
  rk.variant = "subgradient at the kink";
  rk.inputs = [](Generator&) { return Tensors{f64_tensor({-2, -0.0, 0, 1e-300, 0.5, 3}, {6})}; };
  rk.build = [](const std::vector<Var>& v) { return relu(v[0]); };
  rk.reference = unary_reference(relu_ref);
  rk.grad = GradCheck::surrogate;
  rk.surrogate = unary_surrogate([](double x) { return x > 0 ? 1.0 : 0.0; });
  rk.grad_note = "relu'(0) = 0, as in PyTorch";
  cases.push_back(rk);

  OpCase ck;
  ck.op = "clamp";
  ck.variant = "gradient on the closed interval";
  ck.inputs = [](Generator&) { return Tensors{f64_tensor({-2, -1, -0.5, 0, 0.99, 1, 2}, {7})}; };
  ck.build = [](const std::vector<Var>& v) { return clamp(v[0], -1.0, 1.0); };
  ck.reference = unary_reference([](double x) { return std::min(1.0, std::max(-1.0, x)); });
  ck.grad = GradCheck::surrogate;
  ck.surrogate = unary_surrogate([](double x) { return x >= -1 && x <= 1 ? 1.0 : 0.0; });
  ck.grad_note = "the gradient passes where lo <= x <= hi (bounds included), 0 outside";
  cases.push_back(ck);
}

void add_threshold_cases(std::vector<OpCase>& cases) {
  for (const Shape& s : std::vector<Shape>{{5}, {33, 47}, {100003}})
    for (double t : {0.25, 0.5}) {
      OpCase c;
      c.op = "threshold_ste";
      c.variant = "t = " + std::to_string(t) + " " + shape_str(s);
      c.inputs = [s, t](Generator& gen) {
        // The threshold itself (-> 1), just below it (-> 0), zeros and negatives.
        return Tensors{with_edges(uniform(s, gen, -3, 3), {t, t - 1e-6, 0.0, -3.0, 0.9})};
      };
      c.build = [t](const std::vector<Var>& v) { return threshold_ste(v[0], t); };
      c.reference = unary_reference([t](double x) { return x >= t ? 1.0 : 0.0; });
      c.grad = GradCheck::surrogate;
      c.surrogate = unary_surrogate([](double) { return 1.0; });
      c.grad_note = "straight-through: the input gradient is the output gradient unchanged";
      c.large = shape_numel(s) > 10000;
      c.exact = true;
      cases.push_back(c);
    }
}

}  // namespace

void add_elementwise_cases(std::vector<OpCase>& cases) {
  add_binary_cases(cases);
  add_unary_cases(cases);
  add_kinked_cases(cases);
  add_threshold_cases(cases);
}

}  // namespace difflut::optest
