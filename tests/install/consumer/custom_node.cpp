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

// Per-node scalar functions on the ScalarNodeType base, which does the dtype dispatch, the loops
// over samples and nodes, the threads and the truth table (from node_eval).
class FlipParityNode : public ScalarNodeType<FlipParityNode> {
 public:
  std::string name() const override { return "flip_parity"; }
  int64_t num_params(int) const override { return 1; }

  template <class T>
  void node_init(T* p, int) const {
    p[0] = T(-1);
  }
  template <class T>
  T node_forward(const T* x, const T* p, int k) const {
    const double s = soft_parity(x, k, -1), f = sigmoid(p[0]);
    return static_cast<T>(s + f * (1 - 2 * s));
  }
  template <class T>
  void node_backward(const T* x, const T* p, int k, T g, T* dx, T* dp) const {
    const double s = soft_parity(x, k, -1), f = sigmoid(p[0]);
    dp[0] += static_cast<T>(g * f * (1 - f) * (1 - 2 * s));
    for (int l = 0; l < k; ++l)  // ds/dx_l = Π_{m≠l} (1 - 2 x_m)
      dx[l] += static_cast<T>(g * (1 - 2 * f) * (1 - 2 * soft_parity(x, k, l)));
  }
  template <class T>
  bool node_eval(const T* bits, const T* p, int k) const {
    int parity = 0;
    for (int l = 0; l < k; ++l) parity ^= bits[l] != T(0);
    return (parity ^ (p[0] >= 0 ? 1 : 0)) != 0;
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
