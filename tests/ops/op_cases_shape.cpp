// Op cases of the shape and indexing family: reshape (with -1), transpose (across tile boundaries,
// integer data), concat of several parts (a part used twice) along every axis, slice along every
// axis (empty ranges included), gather with repeated and unused indices, i32 and i64 indices, with
// and without a precomputed CSR inverse. All are data movement: exact against the reference.
#include "autograd/ops.h"
#include "op_case.h"

namespace difflut::optest {

namespace {

OpCase movement_case(const char* op, std::string variant, MakeInputs in, BuildFn build,
                     ReferenceFn ref, bool large) {
  OpCase c;
  c.op = op;
  c.variant = std::move(variant);
  c.inputs = std::move(in);
  c.build = std::move(build);
  c.reference = std::move(ref);
  c.exact = true;
  c.exact_grad = true;
  c.large = large;
  return c;
}

MakeInputs randn_inputs(std::vector<Shape> shapes) {
  return [shapes](Generator& gen) {
    Tensors t;
    for (const Shape& s : shapes)
      t.push_back(with_edges(Tensor::randn(s, gen, DType::f64), {0.0, -1.0}));
    return t;
  };
}

Tensor transpose_reference(const Tensors& in) {
  const int64_t M = in[0].size(0), N = in[0].size(1);
  const std::vector<double> x = values(in[0]);
  std::vector<double> y(x.size());
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j)
      y[static_cast<size_t>(j * M + i)] = x[static_cast<size_t>(i * N + j)];
  Tensor out = f64_tensor(y, {N, M});
  return is_floating(in[0].dtype()) ? out : out.to(in[0].dtype());
}

// Parts `order` (indices into the inputs) joined along `axis`.
ReferenceFn concat_reference(std::vector<int> order, int axis) {
  return [order, axis](const Tensors& in) {
    Shape so = in[static_cast<size_t>(order[0])].shape();
    const size_t a = static_cast<size_t>(normalize_axis(axis, so.size()));
    so[a] = 0;
    for (int p : order) so[a] += in[static_cast<size_t>(p)].size(static_cast<int64_t>(a));
    const AxisSplit out = split_at(so, axis);
    std::vector<double> y(static_cast<size_t>(shape_numel(so)));
    int64_t start = 0;
    for (int p : order) {
      const Tensor& t = in[static_cast<size_t>(p)];
      const AxisSplit s = split_at(t.shape(), axis);
      const std::vector<double> x = values(t);
      for (int64_t o = 0; o < s.outer; ++o)
        for (int64_t e = 0; e < s.extent; ++e)
          for (int64_t i = 0; i < s.inner; ++i)
            y[static_cast<size_t>((o * out.extent + start + e) * out.inner + i)] =
                x[static_cast<size_t>((o * s.extent + e) * s.inner + i)];
      start += s.extent;
    }
    return f64_tensor(y, so);
  };
}

ReferenceFn slice_reference(int axis, int64_t begin, int64_t end) {
  return [axis, begin, end](const Tensors& in) {
    const AxisSplit s = split_at(in[0].shape(), axis);
    Shape so = in[0].shape();
    so[static_cast<size_t>(normalize_axis(axis, so.size()))] = end - begin;
    const std::vector<double> x = values(in[0]);
    std::vector<double> y;
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t e = begin; e < end; ++e)
        for (int64_t i = 0; i < s.inner; ++i)
          y.push_back(x[static_cast<size_t>((o * s.extent + e) * s.inner + i)]);
    return f64_tensor(y, so);
  };
}

ReferenceFn gather_reference(Tensor index) {
  return [index](const Tensors& in) {
    const int64_t B = in[0].size(0), F = in[0].size(1), M = index.numel();
    const std::vector<double> x = values(in[0]);
    const std::vector<double> idx = values(index);
    std::vector<double> y(static_cast<size_t>(B * M));
    for (int64_t b = 0; b < B; ++b)
      for (int64_t m = 0; m < M; ++m)
        y[static_cast<size_t>(b * M + m)] =
            x[static_cast<size_t>(b * F + static_cast<int64_t>(idx[static_cast<size_t>(m)]))];
    return f64_tensor(y, {B, M});
  };
}

void add_reshape_transpose_cases(std::vector<OpCase>& cases) {
  const std::vector<std::pair<Shape, Shape>> reshapes = {
      {{2, 3, 4}, {4, -1}}, {{2, 3, 4}, {-1}}, {{4, 3, 5}, {-1, 6}}, {{6}, {1, 2, 3}}};
  for (const auto& [from, to] : reshapes) {
    const Shape target = to;
    cases.push_back(movement_case(
        "reshape", shape_str(from) + " to " + shape_str(to), randn_inputs({from}),
        [target](const std::vector<Var>& v) { return reshape(v[0], target); },
        [target](const Tensors& in) { return in[0].clone().reshape(target); }, false));
  }
  const std::vector<std::pair<Shape, bool>> transposes = {
      {{5, 3}, false}, {{1, 7}, false}, {{67, 45}, true}, {{1, 300}, true}, {{300, 1}, true}};
  for (const auto& [s, large] : transposes)
    cases.push_back(movement_case(
        "transpose", shape_str(s), randn_inputs({s}),
        [](const std::vector<Var>& v) { return transpose(v[0]); }, transpose_reference, large));
  cases.push_back(movement_case(
      "transpose", "i64 data [2, 3]",
      [](Generator&) {
        return Tensors{Tensor::arange(6).reshape({2, 3})};
      },
      [](const std::vector<Var>& v) { return transpose(v[0]); }, transpose_reference, false));
}

void add_concat_slice_cases(std::vector<OpCase>& cases) {
  for (int pass = 0; pass < 2; ++pass)
    for (int axis : {0, 1, -1}) {
      const Shape base = pass == 0 ? Shape{2, 3, 4} : Shape{3, 40, 50};
      Shape sb = base, sc = base;
      const size_t d = static_cast<size_t>(normalize_axis(axis, 3));
      sb[d] = 1;
      sc[d] = 2;
      // Three parts, the first used twice (its gradient sums both uses).
      cases.push_back(movement_case(
          "concat",
          shape_str(base) + ", " + shape_str(sb) + ", " + shape_str(sc) + ", part 0 again, axis " +
              std::to_string(axis),
          randn_inputs({base, sb, sc}),
          [axis](const std::vector<Var>& v) {
            return concat({v[0], v[1], v[2], v[0]}, axis);
          },
          concat_reference({0, 1, 2, 0}, axis), pass == 1));
    }
  for (int axis : {0, 1, 2, -1, -3})
    for (auto [b, e] : std::vector<std::pair<int64_t, int64_t>>{{1, 3}, {0, 1}, {1, 1}}) {
      const int64_t begin = b, end = e;
      cases.push_back(movement_case(
          "slice",
          "[3, 4, 5] axis " + std::to_string(axis) + " [" + std::to_string(begin) + ", " +
              std::to_string(end) + ")",
          randn_inputs({{3, 4, 5}}),
          [axis, begin, end](const std::vector<Var>& v) { return slice(v[0], axis, begin, end); },
          slice_reference(axis, begin, end), false));
    }
  cases.push_back(movement_case(
      "slice", "[40, 3000] axis 1 [7, 2999)", randn_inputs({{40, 3000}}),
      [](const std::vector<Var>& v) { return slice(v[0], 1, 7, 2999); },
      slice_reference(1, 7, 2999), true));
}

void add_gather_cases(std::vector<OpCase>& cases) {
  struct G {
    int64_t B, F;
    Tensor index;
    bool large;
  };
  Generator gen(30);
  const std::vector<G> gs = {
      {3, 7, Tensor::from_vector<int64_t>({4, 1, 4, 4, 0, 1, 6}, {7}), false},  // 2, 3, 5 unused
      {5, 7, Tensor::from_vector<int64_t>({3, 0, 3, 6, 3, 1}, {6}), false},
      {64, 300, Tensor::randint({2000}, 0, 300, gen, DType::i64), true},  // ~6.7 uses per input
  };
  for (const G& g : gs)
    for (DType it : {DType::i64, DType::i32})
      for (bool csr : {false, true}) {
        const Tensor index = g.index.to(it);
        const GatherInverse inv = make_gather_inverse(index, g.F, Device::cpu);
        const Shape s{g.B, g.F};
        cases.push_back(movement_case(
            "gather",
            shape_str(s) + " by " + std::string(dtype_name(it)) + "[" +
                std::to_string(index.numel()) + "]" + (csr ? " with CSR inverse" : ""),
            randn_inputs({s}),
            [index, inv, csr](const std::vector<Var>& v) {
              const Device d = v[0].device();
              return csr ? gather(v[0], index.to(d), inv.offsets.to(d), inv.positions.to(d))
                         : gather(v[0], index.to(d));
            },
            gather_reference(index), g.large));
      }
}

}  // namespace

void add_shape_cases(std::vector<OpCase>& cases) {
  add_reshape_transpose_cases(cases);
  add_concat_slice_cases(cases);
  add_gather_cases(cases);
}

}  // namespace difflut::optest
