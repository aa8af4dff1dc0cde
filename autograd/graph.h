// The Graph: an append-only tape of nodes that is also the model's IR. Building an op appends a node
// and runs its forward at once (eager). backward() walks the tape in reverse; replay() re-runs it
// forward with new leaf values; hdl/ walks it to emit Verilog. A value is the id of its node.
#pragma once
#include <string>
#include <vector>

#include "autograd/op_def.h"
#include "autograd/parameter.h"

namespace difflut {

class Graph;

// A handle to a node's value: (graph, node id). Cheap to copy.
struct Var {
  Graph* graph = nullptr;
  int id = -1;
  bool defined() const { return graph != nullptr && id >= 0; }
  const Tensor& value() const;
  const Shape& shape() const;
  int64_t size(int64_t d) const;
  DType dtype() const;
  Device device() const;
};

struct Node {
  OpKind op = OpKind::leaf;
  std::vector<int> inputs;
  Attrs attrs;
  Tensor value;
  std::vector<Tensor> saved;   // what forward kept for backward (e.g. addresses, softmax)
  std::string name;            // used in errors and as the Verilog wire name
  bool requires_grad = false;  // some path from a trainable leaf reaches this node
  Parameter* param = nullptr;  // leaf parameters: gradients accumulate into param->grad
  bool retain_grad = false;    // keep this node's gradient after backward (Graph::retain_grad)
};

class Graph {
 public:
  Graph() = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  // Leaves. An input with requires_grad gets a fresh gradient per backward (read it with grad()).
  Var input(const Tensor& value, std::string name = "input", bool requires_grad = false);
  Var param(Parameter& p);

  // Appends a node of `kind` over `inputs` and runs its forward now. Throws difflut::Error on bad
  // shapes/dtypes/devices (naming the op and operands) and leaves the graph unchanged.
  Var apply(OpKind kind, const std::vector<Var>& inputs, Attrs attrs = {}, std::string name = {});

  // Reverse pass from a scalar `loss` (or any value with an explicit `seed` of its shape). Kernels
  // add into zeroed buffers, so calling it twice without zeroing parameter grads doubles them.
  void backward(Var loss);
  void backward(Var out, const Tensor& seed);

  // The gradient of an input leaf created with requires_grad, or of a node marked with
  // retain_grad (valid until the next backward/clear).
  const Tensor& grad(Var v) const;
  // Keeps the gradient of an intermediate node after backward, readable with grad() (training
  // statistics that need the gradient at one point of the network, e.g. a sparse mapping's probe).
  void retain_grad(Var v);

  // Re-runs every non-leaf node's forward in tape order with the current leaf values (set_input
  // replaces an input leaf's value; the shape must stay the same).
  void set_input(Var v, const Tensor& value);
  void replay();

  // Drops all nodes, values and saved tensors (returning memory to the caching allocator).
  void clear();
  // Drops the nodes from `size` on (and every gradient): the tape as it was when it had `size`
  // nodes. Vars of the dropped nodes become invalid. Throws if `size` > size().
  void truncate(size_t size);

  // One training step's scope: when it ends, the graph drops every node appended since it began
  // (nodes built before it, such as inputs refilled with set_input, stay). A loop written
  //   for (...) { Graph::Step step = g.step(); Var loss = ...; g.backward(loss); opt.step(); }
  // keeps the tape at one step's nodes however many iterations run, without a clear() to forget.
  class Step {
   public:
    explicit Step(Graph& g) : graph_(g), begin_(g.size()) {}
    ~Step() {
      if (graph_.size() > begin_)
        graph_.truncate(begin_);  // a clear() inside the step already did it
    }
    Step(const Step&) = delete;
    Step& operator=(const Step&) = delete;

   private:
    Graph& graph_;
    size_t begin_;
  };
  [[nodiscard]] Step step() { return Step(*this); }

  size_t size() const { return nodes_.size(); }
  const Node& node(int id) const;
  // Renames a node (modules give the nodes their ops built meaningful names: "layer0.mapping").
  void set_name(Var v, std::string name);
  const std::vector<Node>& nodes() const { return nodes_; }
  Var var(int id) { return Var{this, id}; }

  // Training mode is visible to ops that behave differently in eval (none of the core ops do).
  bool training() const { return training_; }
  void set_training(bool t) { training_ = t; }

 private:
  void run_forward(Node& n);
  std::vector<Node> nodes_;
  std::vector<Tensor> grads_;  // per node, during/after backward
  bool training_ = true;
};

// While alive, new nodes record no gradient information (inference): nothing is saved for backward.
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};
bool grad_enabled();

}  // namespace difflut
