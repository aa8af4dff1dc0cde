// Central-difference gradient check (see gradcheck.h).
#include "autograd/gradcheck.h"

#include <cmath>

#include "tensor/random.h"

namespace difflut {

namespace {
double weighted_sum(const Tensor& out, const std::vector<double>& w) {
  std::vector<double> v = out.to(DType::f64).to_vector<double>();
  double s = 0.0;
  for (size_t i = 0; i < v.size(); ++i) s += v[i] * w[i];
  return s;
}
}  // namespace

GradcheckResult gradcheck(const GraphFn& fn, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& opts) {
  std::vector<int> check = opts.check_inputs;
  if (check.empty())
    for (size_t i = 0; i < inputs.size(); ++i)
      if (is_floating(inputs[i].dtype())) check.push_back(static_cast<int>(i));

  // Analytic pass.
  Graph g;
  std::vector<Var> vars;
  for (size_t i = 0; i < inputs.size(); ++i) {
    bool rg = false;
    for (int c : check) rg |= (c == static_cast<int>(i));
    vars.push_back(g.input(inputs[i].clone(), str_cat("in", i), rg));
  }
  Var out = fn(g, vars);
  Generator gen(opts.seed);
  Tensor w = Tensor::rand(out.shape(), gen, DType::f64).to(out.dtype()).to(out.device());
  std::vector<double> wv = w.to(DType::f64).to_vector<double>();
  g.backward(out, w);

  GradcheckResult res;
  int reported = 0;
  for (int c : check) {
    std::vector<double> analytic =
        g.grad(vars[static_cast<size_t>(c)]).to(DType::f64).to_vector<double>();
    Tensor base = inputs[static_cast<size_t>(c)].to(DType::f64).to(Device::cpu);
    for (int64_t e = 0; e < base.numel(); ++e) {
      auto eval_at = [&](double delta) {
        std::vector<Tensor> pert = inputs;
        Tensor t = base.clone();
        t.data<double>()[e] += delta;
        pert[static_cast<size_t>(c)] = t.to(inputs[static_cast<size_t>(c)].dtype())
                                           .to(inputs[static_cast<size_t>(c)].device());
        Graph g2;
        std::vector<Var> v2;
        NoGradGuard ng;
        for (size_t i = 0; i < pert.size(); ++i) v2.push_back(g2.input(pert[i], str_cat("in", i)));
        return weighted_sum(fn(g2, v2).value(), wv);
      };
      const double numeric = (eval_at(opts.eps) - eval_at(-opts.eps)) / (2 * opts.eps);
      const double a = analytic[static_cast<size_t>(e)];
      const double err = std::fabs(a - numeric);
      res.max_abs_error = std::max(res.max_abs_error, err);
      if (err > opts.atol + opts.rtol * std::fabs(numeric)) {
        res.ok = false;
        if (reported++ < 5)
          res.report +=
              str_cat("input ", c, " element ", e, ": analytic ", a, " numeric ", numeric, "\n");
      }
    }
  }
  return res;
}

}  // namespace difflut
