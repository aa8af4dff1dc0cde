// Op cases of the reductions along one axis: sum, mean, max and argmax over every axis of small
// shapes (keepdim on and off), the long, wide and middle-axis shapes of the blocked CPU and the
// warp / block / segmented CUDA paths, and ties (max's gradient and argmax go to the first index).
#include <cmath>

#include "autograd/ops.h"
#include "op_case.h"

namespace difflut::optest {

namespace {

enum class Reduction { sum, mean, max, argmax };

Shape reduced_shape(const Shape& s, int axis, bool keep) {
  Shape out;
  const int a = normalize_axis(axis, s.size());
  for (int d = 0; d < static_cast<int>(s.size()); ++d) {
    if (d != a)
      out.push_back(s[static_cast<size_t>(d)]);
    else if (keep)
      out.push_back(1);
  }
  return out;
}

ReferenceFn reduce_reference(Reduction r, int axis, bool keep) {
  return [r, axis, keep](const Tensors& in) {
    const AxisSplit p = split_at(in[0].shape(), axis);
    const std::vector<double> x = values(in[0]);
    std::vector<double> y(static_cast<size_t>(p.outer * p.inner));
    std::vector<int64_t> idx(y.size());
    for (int64_t o = 0; o < p.outer; ++o)
      for (int64_t i = 0; i < p.inner; ++i) {
        long double acc = 0;
        double best = 0;
        int64_t at = 0;
        for (int64_t e = 0; e < p.extent; ++e) {
          const double v = x[static_cast<size_t>((o * p.extent + e) * p.inner + i)];
          acc += v;
          if (e == 0 || v > best) {  // strict: the first maximum wins
            best = v;
            at = e;
          }
        }
        const size_t k = static_cast<size_t>(o * p.inner + i);
        y[k] = r == Reduction::sum    ? static_cast<double>(acc)
               : r == Reduction::mean ? static_cast<double>(acc / p.extent)
                                      : best;
        idx[k] = at;
      }
    const Shape so = reduced_shape(in[0].shape(), axis, keep);
    return r == Reduction::argmax ? Tensor::from_vector(idx, so) : f64_tensor(y, so);
  };
}

// max's gradient: the seed goes to the first maximal element of each reduced line.
GradReferenceFn max_surrogate(int axis) {
  return [axis](const Tensors& in, const Tensor& seed) {
    const std::vector<int64_t> at =
        reduce_reference(Reduction::argmax, axis, false)(in).to_vector<int64_t>();
    const AxisSplit p = split_at(in[0].shape(), axis);
    const std::vector<double> g = values(seed);
    std::vector<double> dx(static_cast<size_t>(in[0].numel()), 0.0);
    for (int64_t o = 0; o < p.outer; ++o)
      for (int64_t i = 0; i < p.inner; ++i) {
        const size_t k = static_cast<size_t>(o * p.inner + i);
        dx[static_cast<size_t>((o * p.extent + at[k]) * p.inner + i)] = g[k];
      }
    return Tensors{f64_tensor(dx, in[0].shape())};
  };
}

BuildFn reduce_build(Reduction r, int axis, bool keep) {
  return [r, axis, keep](const std::vector<Var>& v) {
    switch (r) {
      case Reduction::sum: return sum(v[0], axis, keep);
      case Reduction::mean: return mean(v[0], axis, keep);
      case Reduction::max: return max(v[0], axis, keep);
      case Reduction::argmax: return argmax(v[0], axis, keep);
    }
    return Var{};
  };
}

const char* reduction_name(Reduction r) {
  switch (r) {
    case Reduction::sum: return "sum";
    case Reduction::mean: return "mean";
    case Reduction::max: return "max";
    case Reduction::argmax: return "argmax";
  }
  return "?";
}

OpCase reduce_case(Reduction r, const Shape& s, int axis, bool keep, bool large) {
  OpCase c;
  c.op = reduction_name(r);
  c.variant = shape_str(s) + " axis " + std::to_string(axis) + (keep ? " keepdim" : "");
  const bool order_free = r == Reduction::max || r == Reduction::argmax;
  // Random values for sum and mean (zeros planted); distinct ones for max and argmax.
  c.inputs = [s, order_free](Generator& gen) {
    return Tensors{order_free ? distinct(s, gen)
                              : with_edges(Tensor::randn(s, gen, DType::f64), {0.0, -0.0})};
  };
  c.build = reduce_build(r, axis, keep);
  c.reference = reduce_reference(r, axis, keep);
  c.large = large;
  // Sums of R terms in different orders: the absolute error grows like sqrt(R).
  const double R = static_cast<double>(s[static_cast<size_t>(normalize_axis(axis, s.size()))]);
  c.tol_f32 = 2e-6 * std::max(1.0, std::sqrt(R));
  c.tol_f64 = 1e-12 * std::max(1.0, std::sqrt(R));
  if (order_free) c.exact = true;
  if (r == Reduction::argmax) {
    c.grad = GradCheck::none;
    c.grad_note = "argmax is an index: no gradient";
  }
  return c;
}

// Ties: row 0 all equal; row 1 maximum at 40 and 70 (different warp lanes); row 2 at 97 and 3;
// the same data transposed for the column path.
Tensor ties(bool transposed) {
  std::vector<double> v(300, 1.0);
  v[100 + 40] = v[100 + 70] = 5.0;
  v[200 + 97] = v[200 + 3] = 2.0;
  v[7] = -0.0;  // a negative zero below the tie
  if (!transposed) return f64_tensor(v, {3, 100});
  std::vector<double> t(300);
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 100; ++c)
      t[static_cast<size_t>(c * 3 + r)] = v[static_cast<size_t>(r * 100 + c)];
  return f64_tensor(t, {100, 3});
}

void add_tie_cases(std::vector<OpCase>& cases) {
  for (bool transposed : {false, true}) {
    const int axis = transposed ? 0 : 1;
    for (Reduction r : {Reduction::max, Reduction::argmax}) {
      OpCase c = reduce_case(r, transposed ? Shape{100, 3} : Shape{3, 100}, axis, false, false);
      c.variant = std::string("ties, first index wins, ") + (transposed ? "columns" : "rows");
      c.inputs = [transposed](Generator&) { return Tensors{ties(transposed)}; };
      if (r == Reduction::max) {
        c.grad = GradCheck::surrogate;
        c.surrogate = max_surrogate(axis);
        c.grad_note = "at ties the gradient goes to the first maximal element only";
      }
      cases.push_back(c);
    }
  }
  OpCase flat = reduce_case(Reduction::argmax, {3000}, 0, false, false);
  flat.variant = "3000 equal values";
  flat.inputs = [](Generator&) { return Tensors{Tensor::full({3000}, 1.5, DType::f64)}; };
  cases.push_back(flat);
}

}  // namespace

void add_reduce_cases(std::vector<OpCase>& cases) {
  const Reduction all[] = {Reduction::sum, Reduction::mean, Reduction::max, Reduction::argmax};
  for (Reduction r : all) {
    for (const Shape& s : std::vector<Shape>{{7}, {3, 5}, {2, 3, 4}}) {
      const int rank = static_cast<int>(s.size());
      for (int axis = -rank; axis < rank; ++axis)
        for (bool keep : {false, true}) cases.push_back(reduce_case(r, s, axis, keep, false));
    }
    const std::vector<std::pair<Shape, int>> large = {
        {{1000, 37}, 1},  {{1000, 37}, 0},   {{64, 1500}, -1},   {{3, 100003}, 1}, {{1, 300001}, 0},
        {{100003, 5}, 0}, {{4, 2000, 3}, 1}, {{2, 20000, 3}, 1}, {{513, 1}, 0},    {{1, 513}, 0},
        {{40001, 7}, 0},  {{1, 100000}, 1},  {{100000, 1}, 0},   {{3, 40001}, 0},  {{3, 40001}, 1},
        {{70, 130}, 0},   {{70, 130}, 1},    {{40001, 5}, 1},
    };
    bool keep = false;
    for (const auto& [s, axis] : large) {
      cases.push_back(reduce_case(r, s, axis, keep, true));
      keep = !keep;
    }
  }
  add_tie_cases(cases);
}

}  // namespace difflut::optest
