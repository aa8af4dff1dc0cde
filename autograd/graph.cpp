// Graph engine: eager forward on append, reverse-mode backward under the accumulate contract.
#include "autograd/graph.h"

#include "tensor/cuda_utils.h"

namespace difflut {

namespace {
thread_local bool t_grad_enabled = true;
}

NoGradGuard::NoGradGuard() : prev_(t_grad_enabled) { t_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { t_grad_enabled = prev_; }
bool grad_enabled() { return t_grad_enabled; }

void Parameter::ensure_grad() {
  if (!grad.defined() || grad.shape() != value.shape() || grad.dtype() != value.dtype() ||
      grad.device() != value.device()) {
    grad = Tensor::zeros(value.shape(), value.dtype(), value.device());
  }
}

const Tensor& Var::value() const {
  DIFFLUT_CHECK(defined(), "var: use of an undefined Var");
  return graph->node(id).value;
}
const Shape& Var::shape() const { return value().shape(); }
int64_t Var::size(int64_t d) const { return value().size(d); }
DType Var::dtype() const { return value().dtype(); }
Device Var::device() const { return value().device(); }

const Node& Graph::node(int id) const {
  DIFFLUT_CHECK(id >= 0 && static_cast<size_t>(id) < nodes_.size(), "graph: node id ", id,
                " out of range (graph has ", nodes_.size(), " nodes; was it cleared?)");
  return nodes_[static_cast<size_t>(id)];
}

void Graph::set_name(Var v, std::string name) {
  DIFFLUT_CHECK(v.graph == this, "graph.set_name: the Var belongs to another graph");
  node(v.id);  // range check
  nodes_[static_cast<size_t>(v.id)].name = std::move(name);
}

Var Graph::input(const Tensor& value, std::string name, bool requires_grad) {
  DIFFLUT_CHECK(value.defined(), "graph.input: '", name, "' is an undefined tensor");
  Node n;
  n.op = OpKind::leaf;
  n.value = value;
  n.name = std::move(name);
  n.requires_grad = requires_grad && t_grad_enabled;
  nodes_.push_back(std::move(n));
  return Var{this, static_cast<int>(nodes_.size() - 1)};
}

Var Graph::param(Parameter& p) {
  DIFFLUT_CHECK(p.value.defined(), "graph.param: parameter '", p.name, "' has no value");
  Node n;
  n.op = OpKind::leaf;
  n.value = p.value;
  n.name = p.name;
  n.param = &p;
  n.requires_grad = p.requires_grad && t_grad_enabled;
  nodes_.push_back(std::move(n));
  return Var{this, static_cast<int>(nodes_.size() - 1)};
}

void Graph::run_forward(Node& n) {
  const OpDef& def = op_def(n.op);
  const Device dev = n.value.device();
  KernelFn fwd = def.forward[static_cast<int>(dev)];
  DIFFLUT_CHECK(fwd != nullptr, def.name, ": no ", device_name(dev), " kernel in this build");
  OpCall call{.def = &def,
              .attrs = n.attrs,
              .in = {},
              .out = &n.value,
              .saved = n.saved,
              .grad_out = nullptr,
              .grad_in = {},
              .device = dev};
  call.in.reserve(n.inputs.size());
  for (int id : n.inputs) call.in.push_back(&nodes_[static_cast<size_t>(id)].value);
  n.saved.clear();
  fwd(call);
  if (!n.requires_grad) n.saved.clear();
  if (dev == Device::cuda && cuda_sync_debug()) cuda_synchronize();
}

Var Graph::apply(OpKind kind, const std::vector<Var>& inputs, Attrs attrs, std::string name) {
  const OpDef& def = op_def(kind);
  DIFFLUT_CHECK(kind != OpKind::leaf, "graph.apply: leaves are created with input()/param()");
  std::vector<TensorMeta> metas;
  metas.reserve(inputs.size());
  Device dev = Device::cpu;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Var& v = inputs[i];
    DIFFLUT_CHECK(v.graph == this, def.name, ": input ", i, " belongs to another graph");
    const Tensor& t = node(v.id).value;
    if (i == 0) dev = t.device();
    DIFFLUT_CHECK(t.device() == dev, def.name,
                  ": expected all inputs on one device, found input 0 ",
                  node(inputs[0].id).value.describe(), " and input ", i, " ", t.describe());
    metas.push_back(TensorMeta{t.shape(), t.dtype()});
  }
  for (const Tensor& t : attrs.tensors) {
    DIFFLUT_CHECK(!t.defined() || inputs.empty() || t.device() == dev, def.name,
                  ": attribute tensor ", t.describe(), " is not on the inputs' device ",
                  device_name(dev));
  }
  TensorMeta meta = def.infer(metas, attrs);

  Node n;
  n.op = kind;
  n.attrs = std::move(attrs);
  n.inputs.reserve(inputs.size());
  bool needs_grad = false;
  for (size_t i = 0; i < inputs.size(); ++i) {
    n.inputs.push_back(inputs[i].id);
    if (def.is_differentiable(static_cast<int>(i)) && node(inputs[i].id).requires_grad)
      needs_grad = true;
  }
  n.requires_grad = needs_grad && t_grad_enabled;
  n.value = Tensor::empty(meta.shape, meta.dtype, dev);
  n.name = name.empty() ? str_cat(def.name, "_", nodes_.size()) : std::move(name);
  run_forward(n);
  nodes_.push_back(std::move(n));
  return Var{this, static_cast<int>(nodes_.size() - 1)};
}

void Graph::backward(Var loss) {
  DIFFLUT_CHECK(loss.graph == this, "backward: the loss belongs to another graph");
  const Tensor& v = node(loss.id).value;
  DIFFLUT_CHECK(v.numel() == 1, "backward: expected a scalar loss, found ", v.describe(),
                " (pass a seed gradient for non-scalar outputs)");
  backward(loss, Tensor::ones(v.shape(), v.dtype(), v.device()));
}

void Graph::backward(Var out, const Tensor& seed) {
  DIFFLUT_CHECK(out.graph == this, "backward: the output belongs to another graph");
  const Node& root = node(out.id);
  DIFFLUT_CHECK(seed.shape() == root.value.shape() && seed.dtype() == root.value.dtype() &&
                    seed.device() == root.value.device(),
                "backward: seed ", seed.describe(), " does not match output ",
                root.value.describe());
  DIFFLUT_CHECK(root.requires_grad, "backward: '", root.name,
                "' does not depend on any parameter or input that requires a gradient");
  grads_.assign(nodes_.size(), Tensor());
  grads_[static_cast<size_t>(out.id)] = seed;

  // The gradient buffer of node `id`: parameters accumulate into their own grad (never zeroed
  // here: that is the optimizer's zero_grad), everything else gets a fresh zeroed buffer.
  auto grad_buffer = [&](int id) -> Tensor* {
    Node& n = nodes_[static_cast<size_t>(id)];
    Tensor& g = grads_[static_cast<size_t>(id)];
    if (!g.defined()) {
      if (n.param && n.param->custom_update) {
        return &g;  // stays undefined: the op stashes for the parameter's fused update (op_def.h)
      } else if (n.param) {
        n.param->ensure_grad();
        g = n.param->grad;
      } else {
        g = Tensor::zeros(n.value.shape(), n.value.dtype(), n.value.device());
      }
    }
    return &g;
  };

  for (int id = out.id; id >= 0; --id) {
    Node& n = nodes_[static_cast<size_t>(id)];
    if (n.op == OpKind::leaf || !n.requires_grad) continue;
    Tensor& gout = grads_[static_cast<size_t>(id)];
    if (!gout.defined()) continue;  // no path from this node to the output
    const OpDef& def = op_def(n.op);
    const Device dev = n.value.device();
    KernelFn bwd = def.backward[static_cast<int>(dev)];
    DIFFLUT_CHECK(bwd != nullptr, def.name, ": no ", device_name(dev), " backward kernel");
    OpCall call{.def = &def,
                .attrs = n.attrs,
                .in = {},
                .out = &n.value,
                .saved = n.saved,
                .grad_out = &gout,
                .grad_in = {},
                .device = dev};
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      const int in_id = n.inputs[i];
      call.in.push_back(&nodes_[static_cast<size_t>(in_id)].value);
      const bool need = def.is_differentiable(static_cast<int>(i)) &&
                        nodes_[static_cast<size_t>(in_id)].requires_grad;
      call.grad_in.push_back(need ? grad_buffer(in_id) : nullptr);
    }
    bwd(call);
    if (dev == Device::cuda && cuda_sync_debug()) cuda_synchronize();
    if (!n.retain_grad) gout = Tensor();  // consumed: intermediate gradients are not kept
  }
  // Keep only leaf gradients (inputs with requires_grad, parameters' views) and retained ones.
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i].op != OpKind::leaf && !nodes_[i].retain_grad) grads_[i] = Tensor();
}

const Tensor& Graph::grad(Var v) const {
  DIFFLUT_CHECK(v.graph == this && v.id >= 0 && static_cast<size_t>(v.id) < grads_.size() &&
                    grads_[static_cast<size_t>(v.id)].defined(),
                "graph.grad: no gradient for node ", v.id,
                " (only leaves created with requires_grad and nodes marked with retain_grad, ",
                "after backward)");
  return grads_[static_cast<size_t>(v.id)];
}

void Graph::retain_grad(Var v) {
  DIFFLUT_CHECK(v.graph == this && v.id >= 0 && static_cast<size_t>(v.id) < nodes_.size(),
                "graph.retain_grad: node ", v.id, " is not in this graph");
  nodes_[static_cast<size_t>(v.id)].retain_grad = true;
}

void Graph::set_input(Var v, const Tensor& value) {
  Node& n = nodes_.at(static_cast<size_t>(v.id));
  DIFFLUT_CHECK(n.op == OpKind::leaf && !n.param, "graph.set_input: node '", n.name,
                "' is not an input leaf");
  DIFFLUT_CHECK(value.shape() == n.value.shape() && value.dtype() == n.value.dtype() &&
                    value.device() == n.value.device(),
                "graph.set_input: '", n.name, "' expects ", n.value.describe(), ", found ",
                value.describe());
  n.value = value;
}

void Graph::replay() {
  for (Node& n : nodes_) {
    if (n.op == OpKind::leaf) {
      if (n.param) n.value = n.param->value;  // parameters may have been re-bound
      continue;
    }
    run_forward(n);
  }
}

void Graph::clear() {
  nodes_.clear();
  grads_.clear();
}

void Graph::truncate(size_t size) {
  DIFFLUT_CHECK(size <= nodes_.size(), "graph.truncate: expected at most ", nodes_.size(),
                " nodes, found ", size);
  nodes_.resize(size);
  grads_.clear();
}

}  // namespace difflut
