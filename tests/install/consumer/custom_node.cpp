// A consumer-defined node type, written against the installed headers only: "flip_parity", the soft
// parity of the node's k inputs, flipped with a learnt probability.
//   training: y = s + f (1 - 2 s),  s = (1 - Π_l (1 - 2 x_l)) / 2,  f = σ(θ)     (P = 1: θ)
//   eval:     y = parity(bits) XOR [θ >= 0]
// The program registers it, checks dL/dθ and dL/dx against finite differences through a LUT layer,
// trains a few Adam steps until the nodes flip to XNOR, and checks the truth table. Exit 0 = pass.
#include <difflut/difflut.h>

#include <cmath>
#include <cstdio>
#include <memory>

using namespace difflut;

namespace {

class FlipParityNode : public NodeType {
 public:
  std::string name() const override { return "flip_parity"; }
  int64_t num_params(int) const override { return 1; }
  void init(Tensor& params, int, Generator&) const override {
    DIFFLUT_DISPATCH_FLOAT(params.dtype(), "flip_parity.init", [&] {
      for (int64_t j = 0; j < params.size(0); ++j) params.data<scalar_t>()[j] = scalar_t(-1);
    });
  }
  void forward_train(const Tensor& x, const Tensor& params, int k, Tensor& out) const override {
    DIFFLUT_DISPATCH_FLOAT(x.dtype(), "flip_parity", [&] {
      for_each_node<scalar_t>(x, params, k, [&](int64_t i, const scalar_t* xs, scalar_t theta) {
        const double s = soft_parity(xs, k, -1), f = sigmoid(theta);
        out.data<scalar_t>()[i] = static_cast<scalar_t>(s + f * (1 - 2 * s));
      });
    });
  }
  void backward(const Tensor& x, const Tensor& params, int k, const Tensor& grad_out,
                Tensor* grad_x, Tensor* grad_params) const override {
    DIFFLUT_DISPATCH_FLOAT(x.dtype(), "flip_parity", [&] {
      const int64_t N = params.size(0);
      for_each_node<scalar_t>(x, params, k, [&](int64_t i, const scalar_t* xs, scalar_t theta) {
        const double g = grad_out.data<scalar_t>()[i], s = soft_parity(xs, k, -1);
        const double f = sigmoid(theta);
        if (grad_params)
          grad_params->data<scalar_t>()[i % N] +=
              static_cast<scalar_t>(g * f * (1 - f) * (1 - 2 * s));
        if (grad_x)  // ds/dx_l = Π_{m≠l} (1 - 2 x_m)
          for (int l = 0; l < k; ++l)
            grad_x->data<scalar_t>()[i * k + l] +=
                static_cast<scalar_t>(g * (1 - 2 * f) * soft_parity_rest(xs, k, l));
      });
    });
  }
  Tensor truth_table(const Tensor& params, int k) const override {
    const int64_t N = params.size(0), K = int64_t{1} << k;
    Tensor tt = Tensor::empty({N, K}, DType::u8);
    const Tensor p = params.to(DType::f64);
    for (int64_t j = 0; j < N; ++j)
      for (int64_t a = 0; a < K; ++a)
        tt.data<uint8_t>()[j * K + a] =
            static_cast<uint8_t>((__builtin_popcountll(static_cast<unsigned long long>(a)) & 1) ^
                                 (p.data<double>()[j] >= 0 ? 1 : 0));
    return tt;
  }

 private:
  static double sigmoid(double z) { return 1 / (1 + std::exp(-z)); }
  // (1 - Π_{l != skip} (1 - 2 x_l)) / 2
  template <class T>
  static double soft_parity(const T* xs, int k, int skip) {
    double prod = 1;
    for (int l = 0; l < k; ++l)
      if (l != skip) prod *= 1 - 2 * static_cast<double>(xs[l]);
    return (1 - prod) / 2;
  }
  template <class T>
  static double soft_parity_rest(const T* xs, int k, int l) {
    return 1 - 2 * soft_parity(xs, k, l);
  }
  template <class T, class Fn>
  static void for_each_node(const Tensor& x, const Tensor& params, int k, Fn&& fn) {
    const int64_t B = x.size(0), N = params.size(0);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < N; ++j)
        fn(b * N + j, x.data<T>() + (b * N + j) * k, params.data<T>()[j]);
  }
};

int failures = 0;
void check(bool ok, const char* what, double got, double want) {
  std::printf("%-44s %s (got %.6g, want %.6g)\n", what, ok ? "ok" : "FAILED", got, want);
  failures += ok ? 0 : 1;
}

}  // namespace

int main() {
  register_node_type(std::make_shared<FlipParityNode>());
  Generator gen(7);
  LUTLayerOptions o;
  o.input_size = 12;
  o.num_nodes = 6;
  o.k = 3;
  o.node_type = find_node_type("flip_parity");
  o.dtype = DType::f64;
  LUTLayer layer(o, gen);
  const Tensor x = Tensor::rand({5, 12}, gen, DType::f64);

  // The loss sum(y * w) for fixed weights w, and its gradient through the custom op.
  const Tensor w = Tensor::rand({5, 6}, gen, DType::f64);
  auto loss_of = [&](Graph& g, Var xin) { return sum_all(mul(layer(g, xin), g.input(w))); };
  Graph g;
  Var xin = g.input(x, "x", /*requires_grad=*/true);
  layer.zero_grad();
  g.backward(loss_of(g, xin));
  const double dtheta = layer.node_params().grad.data<double>()[2];
  const double dx = g.grad(xin).data<double>()[7];
  auto numeric = [&](Tensor& t, int64_t idx) {
    const double h = 1e-6, keep = t.data<double>()[idx];
    double at[2];
    for (int s = 0; s < 2; ++s) {
      t.data<double>()[idx] = keep + (s ? -h : h);
      Graph gg;
      at[s] = loss_of(gg, gg.input(x)).value().item<double>();
    }
    t.data<double>()[idx] = keep;
    return (at[0] - at[1]) / (2 * h);
  };
  const double want_theta = numeric(layer.node_params().value, 2);
  Tensor xv = x;  // shares storage: perturbing it perturbs the input
  const double want_x = numeric(xv, 7);
  check(std::fabs(dtheta - want_theta) < 1e-6, "dL/dtheta equals finite differences", dtheta,
        want_theta);
  check(std::fabs(dx - want_x) < 1e-6, "dL/dx equals finite differences", dx, want_x);

  // Adam steps maximising the mean output on all-zero inputs (parity 0, so y = f): every theta
  // must grow past 0 (flip on).
  Adam opt(layer, {.lr = 0.5});
  Graph tg;
  Var tx = tg.input(Tensor::zeros({5, 12}, DType::f64));
  for (int it = 0; it < 20; ++it) {
    Graph::Step step = tg.step();
    opt.zero_grad();
    tg.backward(mul_scalar(mean_all(layer(tg, tx)), -1.0));
    opt.step();
  }
  check(tg.size() == 1, "tape back to its input after the steps", double(tg.size()), 1);
  const Tensor tt = find_node_type("flip_parity")->truth_table(layer.node_params().value, 3);
  const double theta0 = layer.node_params().value.data<double>()[0];
  check(theta0 > 0, "training flipped node 0 (theta > 0)", theta0, 0);
  check(tt.data<uint8_t>()[0] == 1 && tt.data<uint8_t>()[1] == 0, "truth table: XNOR after flip",
        tt.data<uint8_t>()[0], 1);
  return failures == 0 ? 0 : 1;
}
