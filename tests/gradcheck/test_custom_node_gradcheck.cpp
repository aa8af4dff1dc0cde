// Finite-difference checks of a user-defined node type's regularisation as the layers apply it
// (LUTLayer/LUTNetwork::node_regularization), on the soft-majority example built on the
// ScalarNodeType base. The custom_lut / custom_lut_reg ops themselves are cases of tests/ops.
#include <algorithm>
#include <cmath>

#include "autograd/gradcheck.h"
#include "encoders/thermometer.h"
#include "lut/examples/soft_majority_node.h"
#include "lut/lut_network.h"
#include "lut/node_ops.h"
#include "lut/node_registry.h"
#include "lut/scalar_node_type.h"
#include "test_networks.h"
#include "test_util.h"

using namespace difflut;

namespace {
std::shared_ptr<NodeType> soft_majority() {
  const auto names = registered_node_types();
  if (std::find(names.begin(), names.end(), "soft_majority") == names.end())
    register_node_type(std::make_shared<examples::SoftMajorityNode>(0.1));
  return find_node_type("soft_majority");
}
}  // namespace

namespace {
// Value of every layer's node regularisation of `net` in a fresh graph.
double net_regularization(LUTNetwork& net) {
  Graph g;
  return net.node_regularization(g).value().to_vector<double>()[0];
}
}  // namespace

TEST_CASE(
    "LUTNetwork::node_regularization adds every layer's NodeType::regularization; "
    "its gradient passes a finite-difference check") {
  auto type = soft_majority();  // R = ½·λ·Σ w² over weights (λ = 0.1), biases free
  Generator data_gen(5);
  Tensor x = Tensor::rand({16, 4}, data_gen, DType::f32);
  ThermometerEncoder enc("uniform", 2);
  enc.fit(x);
  LUTNetworkConfig c = test::small_config(4, 2, {6, 4}, 3);
  c.node_type = "soft_majority";
  c.first_mapping = MappingKind::random;
  c.dtype = DType::f64;
  Generator gen(2);
  LUTNetwork net(c, enc, gen);
  // Random parameters instead of the init (all weights 1), so every element matters differently.
  for (size_t i = 0; i < net.num_layers(); ++i) {
    Parameter& p = net.layer(i).node_params();
    const std::vector<double> r =
        Tensor::randn(p.value.shape(), gen, DType::f64).to_vector<double>();
    std::copy(r.begin(), r.end(), p.value.data<double>());
  }
  double expect = 0;
  for (size_t i = 0; i < net.num_layers(); ++i)
    expect += type->regularization(net.layer(i).node_params().value, c.k);
  CHECK(expect > 0);
  CHECK(net.has_node_regularization());  // the trainer adds the term to every step's loss
  CHECK(net_regularization(net) == doctest::Approx(expect).epsilon(1e-12));

  Graph g;
  net.zero_grad();
  g.backward(net.node_regularization(g));
  const double eps = 1e-6;
  for (size_t i = 0; i < net.num_layers(); ++i) {
    Parameter& p = net.layer(i).node_params();
    REQUIRE(p.grad.defined());
    const std::vector<double> analytic = p.grad.to_vector<double>();
    double* v = p.value.data<double>();
    for (int64_t e = 0; e < p.value.numel(); ++e) {
      CAPTURE(i);
      CAPTURE(e);
      const double keep = v[e];
      v[e] = keep + eps;
      const double hi = net_regularization(net);
      v[e] = keep - eps;
      const double lo = net_regularization(net);
      v[e] = keep;
      CHECK(analytic[static_cast<size_t>(e)] ==
            doctest::Approx((hi - lo) / (2 * eps)).epsilon(1e-5));
    }
  }
}

TEST_CASE("node_regularization is 0 for node types without a regularisation term") {
  LUTLayerOptions o;
  o.input_size = 8;
  o.num_nodes = 3;
  o.k = 2;
  o.node_type_name = "linear_lut";
  o.dtype = DType::f64;
  Generator gen(4);
  LUTLayer layer(o, gen);
  Graph g;
  CHECK(layer.node_regularization(g).value().to_vector<double>() == std::vector<double>{0.0});
  CHECK_FALSE(layer.node_type()->has_regularization());  // so the trainer skips the term
}

namespace {
// The smallest ScalarNodeType: only forward and backward; init, eval and regularisation default.
struct ProductNode : ScalarNodeType<ProductNode> {
  std::string name() const override { return "test_product"; }
  int64_t num_params(int) const override { return 1; }
  template <class T>
  T node_forward(const T* x, const T* p, int k) const {  // y = p_0 · Π_l x_l
    T y = p[0];
    for (int l = 0; l < k; ++l) y *= x[l];
    return y;
  }
  template <class T>
  void node_backward(const T* x, const T* p, int k, T g, T* dx, T* dp) const {
    for (int l = 0; l < k; ++l) {
      T rest = p[0];
      for (int m = 0; m < k; ++m)
        if (m != l) rest *= x[m];
      dx[l] += g * rest;
    }
    dp[0] += g * node_forward(x, p, k) / p[0];
  }
};
}  // namespace

TEST_CASE(
    "ScalarNodeType defaults: gradcheck, eval = forward >= 0.5 on the truth table, no "
    "regularisation, N(0, 0.1²) init") {
  auto type = std::make_shared<ProductNode>();
  CHECK_FALSE(type->has_regularization());  // no node_regularization member: no term
  const int k = 3;
  Generator gen(9);
  Tensor x = Tensor::rand({5, 4 * k}, gen, DType::f64);
  Tensor p = Tensor::rand({4, 1}, gen, DType::f64);
  GradcheckResult r = gradcheck(
      [&](Graph&, const std::vector<Var>& v) { return custom_lut(v[0], v[1], type, k, true); },
      {x, p});
  CHECK_MESSAGE(r.ok, r.report);
  // p_0 > 0.5 for node 0 only: its table is 1 exactly at the all-ones address.
  const Tensor q = Tensor::from_vector(std::vector<double>{0.9, 0.4, -1.0, 0.5}, {4, 1});
  const std::vector<uint8_t> tt = type->truth_table(q, k).to_vector<uint8_t>();
  for (int64_t j = 0; j < 4; ++j)
    for (int64_t a = 0; a < 8; ++a)
      CHECK(tt[static_cast<size_t>(j * 8 + a)] == ((j == 0 || j == 3) && a == 7 ? 1 : 0));
  CHECK(type->regularization(q, k) == 0.0);
  Tensor init = Tensor::empty({4000, 1}, DType::f64);
  type->init(init, k, gen);
  double sq = 0;
  for (double v : init.to_vector<double>()) sq += v * v;
  CHECK(std::sqrt(sq / 4000) == doctest::Approx(0.1).epsilon(0.05));
}
