// The Module layer: named parameters, child modules, train/eval mode, device moves and flat
// parameter buffers. Modules build their forward pass as nodes of a caller-owned Graph.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autograd/graph.h"
#include "autograd/io/named_tensors.h"
#include "autograd/nn/parameter_buffer.h"

namespace difflut {

class Generator;

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  // Parameters are referenced by address from graphs and buffers, so modules do not copy or move.
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // Appends this module's computation on `x` to `g`. The default throws (containers that are not
  // meant to be called directly need not implement it).
  virtual Var forward(Graph& g, Var x);
  Var operator()(Graph& g, Var x) { return forward(g, x); }
  // A short type name used in messages ("Linear", "Sequential", ...).
  virtual std::string type_name() const { return "Module"; }

  // Registers a parameter initialised with `init` (taken as is, not copied). Names are unique among
  // this module's parameters and children and contain no '.'. Parameter::name is set to the dotted
  // path from the outermost module it has been registered under (updated by register_module).
  Parameter& register_parameter(const std::string& name, Tensor init, bool requires_grad = true);
  // Registers a child; its parameters appear as "<name>.<child parameter name>".
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> child) {
    add_child(name, child);
    return child;
  }

  // Parameters of this module and all descendants, depth first in registration order (own
  // parameters before children's), with dotted names. A module registered twice is listed once.
  std::vector<std::pair<std::string, Parameter*>> named_parameters();
  std::vector<Parameter*> parameters();
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const {
    return children_;
  }
  // This module's own parameter called `name` (no dots), or the dotted path into descendants.
  Parameter& parameter(const std::string& dotted_name);
  int64_t num_parameters();  // total number of elements
  // Every module of the tree with its dotted path ("" for this one), depth first in registration
  // order, each once.
  std::vector<std::pair<std::string, Module*>> named_modules();

  // State a checkpoint must restore besides the parameters: what training changes outside the
  // optimizer (a sparse layer's candidates, which the candidate refresh redraws). This module's
  // own entries, names without dots; none by default.
  virtual NamedTensors extra_state() const { return {}; }
  // Throws difflut::Error naming the entry when `state` (this module's entries, named as
  // extra_state() names them) cannot be loaded; changes nothing. The default expects none.
  virtual void check_extra_state(const NamedTensors& state) const;
  // Loads entries check_extra_state accepted.
  virtual void load_extra_state(const NamedTensors& /*state*/) {}

  // Training mode, applied to the whole tree.
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // Moves every parameter (and gradient) to `device`. When the tree is flattened the flat buffers
  // are re-packed on the new device, so parameters stay views of one allocation per dtype. Every
  // module of the tree is asked first (check_device_change: a refusal throws before anything
  // moves) and told after (on_device_changed).
  Module& to(Device device);
  // Zeroes every parameter gradient (one memset per flat buffer once flattened).
  void zero_grad();

  // Packs all parameters of the tree into flat buffers (see ParameterBuffer) and returns them.
  // Idempotent; re-packs if parameters were added or re-assigned since. Call it on the root module
  // (optimizers do this): a child flattened on its own is superseded by its parent's buffer.
  const std::shared_ptr<ParameterBuffer>& flatten();
  // The buffer made by flatten(), or null.
  const std::shared_ptr<ParameterBuffer>& flat_buffer() const { return buffer_; }

 protected:
  // Called by train(); override to react to a mode switch (the flag is already updated).
  virtual void on_train_mode_changed() {}
  // Called by to() on every module of the tree before anything moves: throw difflut::Error to
  // refuse the move (e.g. state that cannot follow the parameters).
  virtual void check_device_change(Device /*device*/) const {}
  // Called by to() on every module of the tree after the parameters moved: adapt what depends on
  // the device (e.g. an update hook that only exists on one of them).
  virtual void on_device_changed(Device /*device*/) {}

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> child);
  void check_new_name(const std::string& name) const;
  void collect(const std::string& prefix, std::vector<std::pair<std::string, Parameter*>>& out,
               std::vector<const Module*>& visited);
  void rename_parameters(const std::string& prefix);
  void drop_child_buffers();

  std::vector<std::pair<std::string, std::unique_ptr<Parameter>>> params_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  std::shared_ptr<ParameterBuffer> buffer_;
  bool training_ = true;
};

// Puts a module tree in eval mode for its lifetime, then restores the mode it found (predict(),
// logits() and lowering to hardware evaluate whatever mode the caller left the model in).
class EvalScope {
 public:
  explicit EvalScope(Module& m) : m_(m), was_training_(m.is_training()) { m_.eval(); }
  ~EvalScope() { m_.train(was_training_); }
  EvalScope(const EvalScope&) = delete;
  EvalScope& operator=(const EvalScope&) = delete;

 private:
  Module& m_;
  bool was_training_;
};

// Runs its children in order, each on the previous one's output. Children are named "0", "1", ...
class Sequential : public Module {
 public:
  Sequential() = default;
  explicit Sequential(std::vector<std::shared_ptr<Module>> modules);
  // Appends a module named after its position; returns it for chaining setup code.
  template <class M>
  std::shared_ptr<M> push_back(std::shared_ptr<M> m) {
    return register_module(std::to_string(children().size()), std::move(m));
  }
  size_t size() const { return children().size(); }
  Module& operator[](size_t i) const;
  Var forward(Graph& g, Var x) override;
  std::string type_name() const override { return "Sequential"; }
};

}  // namespace difflut
