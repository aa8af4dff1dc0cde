// The built-in batched node types as NodeType objects (one class, parameterised by the node kind
// and its options), make_node_type, and the per-layer regulariser.
#include "lut/nodes/node_types.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "autograd/ops.h"
#include "lut/nodes/neurallut_math.h"
#include "lut/nodes/node_kernels.h"

namespace difflut {

using nodes::NodeConsts;
using nodes::NodeKind;

namespace {

void check_options(const std::string& type, const NodeOptions& o) {
  if (type == "polylut")
    DIFFLUT_CHECK(o.degree >= 1, "polylut: expected degree >= 1, found ", o.degree);
  if (type == "neurallut") {
    DIFFLUT_CHECK(o.hidden_width >= 1 && o.hidden_width <= nodes::kNeuralMaxWidth,
                  "neurallut: expected hidden_width in [1, ", nodes::kNeuralMaxWidth, "], found ",
                  o.hidden_width);
    DIFFLUT_CHECK(o.depth >= 1 && o.depth <= nodes::kNeuralMaxDepth,
                  "neurallut: expected depth (linear layers) in [1, ", nodes::kNeuralMaxDepth,
                  "], found ", o.depth);
    DIFFLUT_CHECK(o.skip_interval >= 0, "neurallut: expected skip_interval >= 0 (0: none), found ",
                  o.skip_interval);
  }
  if (type == "probabilistic")
    DIFFLUT_CHECK(std::isfinite(o.temperature) && o.temperature > 0,
                  "probabilistic: expected temperature > 0, found ", o.temperature);
}

// Fills p [N, P] (host) with N(0, std²) draws.
void init_normal(Tensor& p, Generator& gen, double std) {
  Tensor r = Tensor::randn(p.shape(), gen, p.dtype());
  DIFFLUT_DISPATCH_FLOAT(p.dtype(), "node.init", [&] {
    const scalar_t* rp = r.data<scalar_t>();
    scalar_t* d = p.data<scalar_t>();
    for (int64_t i = 0; i < p.numel(); ++i) d[i] = static_cast<scalar_t>(std * rp[i]);
  });
}

class BuiltinNodeType final : public NodeType {
 public:
  BuiltinNodeType(NodeKind kind, std::string name, NodeOptions opts)
      : kind_(kind), name_(std::move(name)), opts_(opts) {
    check_options(name_, opts_);
  }

  std::string name() const override { return name_; }

  int64_t num_params(int k) const override {
    Tensor table;
    return consts(k, table).num_params;
  }

  void init(Tensor& params, int k, Generator& gen) const override {
    switch (kind_) {
      case NodeKind::linear_lut: {  // w ~ N(0, 0.1²), b = 0
        init_normal(params, gen, 0.1);
        DIFFLUT_DISPATCH_FLOAT(params.dtype(), "linear_lut.init", [&] {
          for (int64_t j = 0; j < params.size(0); ++j) params.data<scalar_t>()[j * (k + 1) + k] = 0;
        });
        return;
      }
      case NodeKind::polylut:
      case NodeKind::hybrid: init_normal(params, gen, 0.1); return;
      case NodeKind::probabilistic:
      case NodeKind::unbound_probabilistic:
      case NodeKind::difflogic: init_normal(params, gen, 1.0); return;
      case NodeKind::neurallut: init_neural(params, k, gen); return;
    }
  }

  void forward_train(const Tensor& x, const Tensor& params, int k, Tensor& out) const override {
    Tensor table;
    nodes::node_forward_host(kind_, x, params, consts(k, table), true, out);
  }
  void forward_eval(const Tensor& x, const Tensor& params, int k, Tensor& out) const override {
    Tensor table;
    nodes::node_forward_host(kind_, x, params, consts(k, table), false, out);
  }
  void backward(const Tensor& x, const Tensor& params, int k, const Tensor& grad_out,
                Tensor* grad_x, Tensor* grad_params) const override {
    Tensor table;
    nodes::node_backward_host(kind_, x, params, consts(k, table), grad_out, grad_x, grad_params);
  }
  Tensor truth_table(const Tensor& params, int k) const override {
    Tensor table;
    return nodes::node_truth_table_host(kind_, params.to(Device::cpu), consts(k, table));
  }

  Var apply(Var x, Var params, int k, bool training) const override {
    switch (kind_) {
      case NodeKind::linear_lut: return linear_lut(x, params, k, training);
      case NodeKind::polylut: return polylut(x, params, k, opts_.degree, training);
      case NodeKind::neurallut:
        return neurallut(x, params, k, opts_.hidden_width, opts_.depth, opts_.skip_interval,
                         training);
      case NodeKind::probabilistic:
        return probabilistic_lut(x, params, k, opts_.temperature, training);
      case NodeKind::unbound_probabilistic:
        return unbound_probabilistic_lut(x, params, k, training);
      case NodeKind::hybrid: return hybrid_lut(x, params, k, training);
      case NodeKind::difflogic:
        check_k(k);
        return difflogic_lut(x, params, training);
    }
    DIFFLUT_FAIL(name_, ": unknown node kind");
  }

 private:
  void check_k(int k) const {
    DIFFLUT_CHECK(k >= 1 && k <= nodes::kMaxK, name_, ": k must be in [1, ", nodes::kMaxK,
                  "], found ", k);
    if (kind_ == NodeKind::difflogic)
      DIFFLUT_CHECK(k == 2, name_, ": difflogic nodes are 2-input logic gates: expected k = 2 "
                    "(model.params.num_inputs=2), found k = ", k);
  }

  // The op constants for k; `table` keeps polylut's host monomial table alive.
  NodeConsts consts(int k, Tensor& table) const {
    check_k(k);
    NodeConsts c;
    c.k = k;
    c.degree = opts_.degree;
    c.width = opts_.hidden_width;
    c.depth = opts_.depth;
    c.skip = opts_.skip_interval;
    c.temperature = opts_.temperature;
    if (kind_ == NodeKind::polylut) {
      const int64_t M = nodes::polylut_num_terms(k, std::min(opts_.degree, 16));
      DIFFLUT_CHECK(opts_.degree <= 16 && M <= nodes::kPolyMaxTerms, name_, ": k = ", k,
                    " and degree ", opts_.degree, " give more than ", nodes::kPolyMaxTerms,
                    " monomials (", M, "); lower the degree");
      table = nodes::polylut_term_table(k, opts_.degree);
      c.num_terms = static_cast<int>(M);
      c.poly_table = table.data<int32_t>();
    }
    c.num_params = nodes::node_num_params(kind_, c);
    return c;
  }

  // PyTorch's nn.Linear default per layer: weights and biases ~ U(−1/√fan_in, 1/√fan_in).
  void init_neural(Tensor& params, int k, Generator& gen) const {
    Tensor table;
    const NodeConsts c = consts(k, table);
    Tensor u = Tensor::rand(params.shape(), gen, DType::f64);
    std::vector<double> bound(static_cast<size_t>(c.num_params));
    int64_t off = 0;
    auto fill = [&](int64_t n, int fan_in) {
      for (int64_t i = 0; i < n; ++i) bound[static_cast<size_t>(off + i)] = 1.0 / std::sqrt(fan_in);
      off += n;
    };
    for (int i = 0; i < c.depth; ++i) {
      const int in = nodes::NeuralLutMath::in_dim(c, i), out = nodes::NeuralLutMath::out_dim(c, i);
      fill(int64_t{out} * in + out, in);
      if (nodes::NeuralLutMath::has_skip(c, i)) fill(int64_t{out} * k + out, k);
    }
    DIFFLUT_DISPATCH_FLOAT(params.dtype(), "neurallut.init", [&] {
      const double* up = u.data<double>();
      scalar_t* p = params.data<scalar_t>();
      for (int64_t j = 0; j < params.size(0); ++j)
        for (int64_t i = 0; i < c.num_params; ++i) {
          const double b = bound[static_cast<size_t>(i)];
          p[j * c.num_params + i] = static_cast<scalar_t>(b * (2.0 * up[j * c.num_params + i] - 1.0));
        }
    });
  }

  NodeKind kind_;
  std::string name_;
  NodeOptions opts_;
};

std::shared_ptr<NodeType> make_builtin(const std::string& name, const NodeOptions& opts) {
  static const std::pair<const char*, NodeKind> kTypes[] = {
      {"linear_lut", NodeKind::linear_lut},
      {"polylut", NodeKind::polylut},
      {"neurallut", NodeKind::neurallut},
      {"probabilistic", NodeKind::probabilistic},
      {"unbound_probabilistic", NodeKind::unbound_probabilistic},
      {"hybrid", NodeKind::hybrid},
      {"difflogic", NodeKind::difflogic},
  };
  for (const auto& [n, kind] : kTypes)
    if (name == n) return std::make_shared<BuiltinNodeType>(kind, name, opts);
  return nullptr;
}

}  // namespace

std::vector<std::shared_ptr<NodeType>> builtin_node_types() {
  std::vector<std::shared_ptr<NodeType>> v;
  for (const char* n : {"linear_lut", "polylut", "neurallut", "probabilistic",
                        "unbound_probabilistic", "hybrid", "difflogic"})
    v.push_back(make_builtin(n, NodeOptions{}));
  return v;
}

std::shared_ptr<NodeType> make_node_type(const std::string& name, const NodeOptions& opts,
                                         const std::string& what) {
  if (name == "polylut" || name == "neurallut" || name == "probabilistic") {
    find_node_type(name, what);  // a removed or shadowed built-in still reports like the registry
    return make_builtin(name, opts);
  }
  return find_node_type(name, what);
}

LutRegularizer parse_lut_regularizer(const std::string& name, const std::string& what) {
  if (name == "functional" || name == "l" || name == "l2" || name == "l2_functional")
    return LutRegularizer::functional;
  if (name == "spectral" || name == "fourier" || name == "walsh") return LutRegularizer::spectral;
  DIFFLUT_FAIL(what, "='", name, "' is not a regularizer (known: functional, spectral)");
}

Var node_regularizer(Var params, const NodeType& type, int k, LutRegularizer kind, double weight) {
  DIFFLUT_CHECK(params.defined(), "node_regularizer: params is an undefined Var");
  DIFFLUT_CHECK(std::isfinite(weight), "node_regularizer: expected a finite weight, found ", weight);
  Var per_node = lut_regularizer(type.corner_values(params, k), k, kind);
  return mul_scalar(mean_all(per_node), weight);
}

}  // namespace difflut
