// The built-in batched node types as NodeType objects (one class, parameterised by the node kind
// and its options), make_node_type, and the per-layer regulariser.
#include "lut/nodes/node_types.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "autograd/ops.h"
#include "lut/nodes/node_kernels.h"

namespace difflut {

using nodes::NodeConsts;
using nodes::NodeKind;

namespace {

// The op constants of options `o` (k = 0: not known yet).
NodeConsts consts_of(const NodeOptions& o, int k) {
  NodeConsts c;
  c.k = k;
  c.degree = o.degree;
  c.width = o.hidden_width;
  c.depth = o.depth;
  c.skip = o.skip_interval;
  c.temperature = o.temperature;
  c.max_amplitude = o.max_amplitude;
  c.signed_amplitudes = o.signed_amplitudes;
  return c;
}

// Every built-in type of the node list (node_list.h) is this class, parameterised by its kind;
// everything type-specific comes from the math struct.
class BuiltinNodeType final : public NodeType {
 public:
  BuiltinNodeType(NodeKind kind, NodeOptions opts) : kind_(kind), opts_(opts) {
    nodes::dispatch_node_math(
        kind_, [&](auto m) { nodes::node_check<decltype(m)>(consts_of(opts_, 0), name()); });
  }

  std::string name() const override { return nodes::node_type_name(kind_); }

  int64_t num_params(int k) const override {
    Tensor table;
    return consts(k, table).num_params;
  }

  void init(Tensor& params, int k, Generator& gen) const override {
    Tensor table;
    const NodeConsts c = consts(k, table);
    nodes::dispatch_node_math(kind_, [&](auto m) { decltype(m)::init(params, c, gen); });
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
    check_k(k);
    return nodes::apply_builtin_node(kind_, x, params, k, training, consts_of(opts_, k));
  }

  // dwn_stable's training backward is scaled by its gradient scale, so the generic corner
  // evaluation would give the regularisers a scaled gradient: its corner values are σ(θ) exactly.
  Var corner_values(Var params, int k) const override {
    if (kind_ != NodeKind::dwn_stable) return NodeType::corner_values(params, k);
    check_k(k);
    DIFFLUT_CHECK(
        params.defined() && params.shape().size() == 2 && params.size(1) == (int64_t{1} << k),
        name(), ".corner_values: expected params [N, ", int64_t{1} << k, "]");
    return transpose(sigmoid(params));
  }

 private:
  void check_k(int k) const {
    DIFFLUT_CHECK(k >= 1 && k <= nodes::kMaxK, name(), ": k must be in [1, ", nodes::kMaxK,
                  "], found ", k);
    nodes::dispatch_node_math(
        kind_, [&](auto m) { nodes::node_check<decltype(m)>(consts_of(opts_, k), name()); });
  }

  // The op constants for k; `table` keeps polylut's host monomial table alive.
  NodeConsts consts(int k, Tensor& table) const {
    check_k(k);
    NodeConsts c = consts_of(opts_, k);
    bool term_table = false;
    nodes::dispatch_node_math(
        kind_, [&](auto m) { term_table = nodes::node_uses_term_table<decltype(m)>(); });
    if (term_table) {
      table = nodes::polylut_term_table(k, opts_.degree);
      c.num_terms = static_cast<int>(table.size(0));
      c.poly_table = table.data<int32_t>();
    }
    c.num_params = nodes::node_num_params(kind_, c);
    return c;
  }

  NodeKind kind_;
  NodeOptions opts_;
};

// The built-in kind called `name`, or -1.
int builtin_kind(const std::string& name) {
  for (int i = 0; i < nodes::kNumNodeKinds; ++i)
    if (name == nodes::kNodeTypeNames[i]) return i;
  return -1;
}

}  // namespace

std::vector<std::shared_ptr<NodeType>> builtin_node_types() {
  std::vector<std::shared_ptr<NodeType>> v;
  for (int i = 0; i < nodes::kNumNodeKinds; ++i)
    v.push_back(std::make_shared<BuiltinNodeType>(static_cast<NodeKind>(i), NodeOptions{}));
  return v;
}

std::shared_ptr<NodeType> make_node_type(const std::string& name, const NodeOptions& opts,
                                         const std::string& what) {
  std::shared_ptr<NodeType> registered = find_node_type(name, what);  // unknown names throw here
  const int kind = builtin_kind(name);
  bool uses_options = false;
  if (kind >= 0)
    nodes::dispatch_node_math(static_cast<NodeKind>(kind), [&](auto m) {
      uses_options = nodes::node_uses_options<decltype(m)>();
    });
  if (!uses_options) return registered;
  return std::make_shared<BuiltinNodeType>(static_cast<NodeKind>(kind), opts);
}

LutRegularizer parse_lut_regularizer(const std::string& name, const std::string& what) {
  if (name == "functional" || name == "l" || name == "l2" || name == "l2_functional")
    return LutRegularizer::functional;
  if (name == "spectral" || name == "fourier" || name == "walsh") return LutRegularizer::spectral;
  DIFFLUT_FAIL(what, "='", name, "' is not a regularizer (known: functional, spectral)");
}

Var node_regularizer(Var params, const NodeType& type, int k, LutRegularizer kind, double weight) {
  DIFFLUT_CHECK(params.defined(), "node_regularizer: params is an undefined Var");
  DIFFLUT_CHECK(std::isfinite(weight), "node_regularizer: expected a finite weight, found ",
                weight);
  Var per_node = lut_regularizer(type.corner_values(params, k), k, kind);
  return mul_scalar(mean_all(per_node), weight);
}

}  // namespace difflut
