// Op cases of the convolutional LUT ops (lut/conv_ops.h): conv_patches (a padded gather into
// position rows; linear, so checked by finite differences) and bit_pool (max over table windows;
// finite differences on distinct values, the first maximum on ties).
#include <memory>

#include "lut/conv_layer.h"
#include "lut/conv_ops.h"
#include "lut/node_registry.h"
#include "op_case.h"

namespace difflut::optest {

namespace {

// A random table [Q, R] with entries in [lo, F) (lo = -1: padding entries too).
std::vector<int64_t> random_table(int64_t Q, int64_t R, int64_t F, int64_t lo, uint64_t seed) {
  Generator gen(seed);
  std::vector<int64_t> t(static_cast<size_t>(Q * R));
  for (int64_t& e : t) e = lo + static_cast<int64_t>(gen.below(static_cast<uint64_t>(F - lo)));
  return t;
}

// The table of a real layer's geometry (3x3 field, stride 2, padding 1) over a [2, 5, 6] image.
std::vector<int64_t> layer_table(int64_t* F, int64_t* Q, int64_t* R) {
  ConvLUTOptions o;
  o.input = BitImage::thermometer(1, 5, 6, 2);
  o.out_channels = 2;
  o.kernel = 3;
  o.stride = 2;
  o.padding = 1;
  o.tree_depth = 1;
  o.k = 3;
  o.node_type = make_node_type("dwn", NodeOptions{}, "test");
  Generator gen(5);
  ConvLUTLayer layer(o, gen);
  const Tensor t = layer.patch_table().to(DType::i64);
  *F = o.input.size();
  *Q = t.size(0);
  *R = t.size(1);
  return t.to_vector<int64_t>();
}

Tensor table_tensor(const std::vector<int64_t>& t, int64_t Q, int64_t R) {
  std::vector<int32_t> v(t.begin(), t.end());
  return Tensor::from_vector(v, {Q, R}, Device::cpu);
}

Tensor patches_reference(const Tensor& x, const std::vector<int64_t>& t, int64_t Q, int64_t R) {
  const int64_t B = x.size(0), F = x.size(1);
  const std::vector<double> xv = values(x);
  std::vector<double> y(static_cast<size_t>(B * Q * R));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t m = 0; m < Q * R; ++m) {
      const int64_t f = t[static_cast<size_t>(m)];
      y[static_cast<size_t>(b * Q * R + m)] = f < 0 ? 0.0 : xv[static_cast<size_t>(b * F + f)];
    }
  return f64_tensor(y, {B * Q, R});
}

Tensor pool_reference(const Tensor& x, const std::vector<int64_t>& t, int64_t Q, int64_t R) {
  const int64_t B = x.size(0), F = x.size(1);
  const std::vector<double> xv = values(x);
  std::vector<double> y(static_cast<size_t>(B * Q));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t q = 0; q < Q; ++q) {
      double m = xv[static_cast<size_t>(b * F + t[static_cast<size_t>(q * R)])];
      for (int64_t r = 1; r < R; ++r)
        m = std::max(m, xv[static_cast<size_t>(b * F + t[static_cast<size_t>(q * R + r)])]);
      y[static_cast<size_t>(b * Q + q)] = m;
    }
  return f64_tensor(y, {B, Q});
}

void add_patches_cases(std::vector<OpCase>& cases) {
  struct P {
    int64_t B, F, Q, R;
    bool layer, large;
  };
  uint64_t seed = 11;
  for (P p : {P{3, 7, 4, 5, false, false}, P{2, 3, 6, 2, false, false}, P{2, 0, 0, 0, true, false},
              P{16, 3000, 700, 36, false, true}}) {
    std::vector<int64_t> t;
    if (p.layer)
      t = layer_table(&p.F, &p.Q, &p.R);
    else
      t = random_table(p.Q, p.R, p.F, -1, seed++);
    OpCase c;
    c.op = "conv_patches";
    c.variant = str_cat(p.layer ? "layer geometry 3x3/2 pad 1 " : "random table ", "x [", p.B, ", ",
                        p.F, "] -> [", p.B * p.Q, ", ", p.R, "]");
    c.inputs = [p](Generator& gen) {
      return Tensors{with_edges(uniform({p.B, p.F}, gen, 0, 1), {0.0, 1.0})};
    };
    const Tensor table = table_tensor(t, p.Q, p.R);
    const int64_t F = p.F;
    c.build = [table, F](const std::vector<Var>& v) {
      return conv_patches(v[0], make_conv_table(table, F, v[0].device(), true, "test"));
    };
    c.reference = [t, p](const Tensors& in) { return patches_reference(in[0], t, p.Q, p.R); };
    c.exact = true;
    c.exact_grad = true;
    c.large = p.large;
    cases.push_back(c);
  }
}

void add_pool_cases(std::vector<OpCase>& cases) {
  struct P {
    int64_t B, F, Q, R;
    bool bits, large;
  };
  uint64_t seed = 21;
  for (P p : {P{3, 9, 5, 4, false, false}, P{4, 6, 3, 1, false, false}, P{4, 8, 6, 4, true, false},
              P{16, 4000, 1000, 4, true, true}}) {
    const std::vector<int64_t> t = random_table(p.Q, p.R, p.F, 0, seed++);
    OpCase c;
    c.op = "bit_pool";
    c.variant = str_cat(p.bits ? "bits (ties) " : "soft values ", "x [", p.B, ", ", p.F,
                        "], windows [", p.Q, ", ", p.R, "]");
    c.inputs = [p](Generator& gen) {
      Tensor x = uniform({p.B, p.F}, gen, 0, 1);
      if (!p.bits) return Tensors{x};
      std::vector<double> v = values(x);
      for (double& e : v) e = e < 0.5 ? 0.0 : 1.0;
      return Tensors{f64_tensor(v, x.shape())};
    };
    c.fd_inputs = [p](Generator& gen) { return Tensors{distinct({p.B, p.F}, gen)}; };
    const Tensor table = table_tensor(t, p.Q, p.R);
    const int64_t F = p.F;
    c.build = [table, F](const std::vector<Var>& v) {
      return bit_pool(v[0], make_conv_table(table, F, v[0].device(), false, "test"));
    };
    c.reference = [t, p](const Tensors& in) { return pool_reference(in[0], t, p.Q, p.R); };
    c.grad_note = "finite differences on distinct values (the first maximum takes the gradient)";
    c.exact = true;
    c.exact_grad = true;
    c.large = p.large;
    cases.push_back(c);
  }
}

}  // namespace

void add_conv_cases(std::vector<OpCase>& cases) {
  add_patches_cases(cases);
  add_pool_cases(cases);
}

}  // namespace difflut::optest
