// Node types and their registry. A NodeType is a LUT node written in C++ by a user: its parameters
// per node, initialisation, soft (training) and bit (eval) forward, backward, optional
// regularisation, and the truth table hardware export uses. Registered types are found by name
// (the `model.params.node_type` config key). The built-in types are registered first: dwn (the
// dwn_lut op), then linear_lut, polylut, neurallut, probabilistic, unbound_probabilistic, hybrid
// and difflogic (each its own batched CPU/CUDA op, lut/nodes/); user types run through the generic
// custom_lut op.
//
// All functions below work on host (CPU) tensors of one floating dtype (f32 or f64, the dtype of
// the parameters); the custom_lut op copies device data to the host and back, so custom nodes are a
// CPU-speed path unless they ship their own device op.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autograd/graph.h"
#include "tensor/random.h"
#include "tensor/tensor.h"

namespace difflut {

class NodeType : public std::enable_shared_from_this<NodeType> {
 public:
  virtual ~NodeType() = default;

  // Registry key, e.g. "soft_majority". Letters, digits and '_' only.
  virtual std::string name() const = 0;
  // Parameters per node for k inputs (the layer's parameter tensor is [N, num_params(k)]).
  virtual int64_t num_params(int k) const = 0;
  // Fills params [N, P] (host, f32 or f64) with initial values.
  virtual void init(Tensor& params, int k, Generator& gen) const = 0;

  // Training forward: x [B, N*k] (slot j*k + l is input l of node j), params [N, P] -> out [B, N]
  // (preallocated, same dtype). May produce non-binary values.
  virtual void forward_train(const Tensor& x, const Tensor& params, int k, Tensor& out) const = 0;
  // Eval forward: out [B, N] in {0, 1}, reading every input as the bit x >= 0.5. The default looks
  // the address (input l is bit l) up in truth_table(params); override it for speed.
  virtual void forward_eval(const Tensor& x, const Tensor& params, int k, Tensor& out) const;
  // Backward of forward_train: given grad_out [B, N], ADD dL/dx into grad_x [B, N*k] and dL/dparams
  // into grad_params [N, P]. Either pointer may be null (not needed); skip that work.
  virtual void backward(const Tensor& x, const Tensor& params, int k, const Tensor& grad_out,
                        Tensor* grad_x, Tensor* grad_params) const = 0;

  // Optional regularisation term of the parameters (a scalar added to the loss) and its gradient:
  // ADD scale * dR/dparams into grad_params. Defaults: 0 and nothing.
  virtual double regularization(const Tensor& params, int k) const;
  virtual void regularization_backward(const Tensor& params, int k, double scale,
                                       Tensor& grad_params) const;
  // Whether regularization() is a real term. Trainers add LUTNetwork::node_regularization to the
  // loss only then, so types without one cost nothing (no parameter round trip per step). A type
  // that overrides regularization() overrides this to return true.
  virtual bool has_regularization() const { return false; }

  // The eval function of every node as a truth table: [N, 2^k] u8 in {0, 1}, entry [j][a] is node
  // j's output when input l reads bit l of a. Hardware export and bit-sliced inference use it.
  virtual Tensor truth_table(const Tensor& params, int k) const = 0;

  // Appends one layer of this node type to x's graph: x [B, N*k], params [N, P] -> [B, N]. The
  // default runs the generic custom_lut op (host functions above); built-in types override it with
  // their own batched CPU/CUDA op (dwn -> dwn_lut). `training` selects forward_train/forward_eval.
  // The type must be owned by a shared_ptr (registered types are).
  virtual Var apply(Var x, Var params, int k, bool training) const;
  // Range the optimizer clamps the parameters into after every step (DWN tables: [-1, 1]).
  virtual std::pair<double, double> param_clamp() const;
  // Soft corner values [2^k, N]: row a is every node's soft (training) output when its inputs are
  // the bits of a; differentiable in params. The regularisers (node_regularizer in
  // lut/nodes/node_types.h) read it. Default: apply(corner inputs, params, k, training = true);
  // dwn returns its tables (transposed).
  virtual Var corner_values(Var params, int k) const;
};

// Adds a node type. Throws difflut::Error if the name is empty, malformed or already registered.
void register_node_type(std::shared_ptr<NodeType> type);
// The registered type called `name`; unknown names throw difflut::Error listing the known ones:
// "<what>='dwm' is not a registered node type (known: dwn, ...)".
std::shared_ptr<NodeType> find_node_type(const std::string& name,
                                         const std::string& what = "node_type");
// Every registered name, built-ins first, then in registration order.
std::vector<std::string> registered_node_types();
// Removes a user-registered type (tests; built-ins cannot be removed). Returns whether it existed.
bool unregister_node_type(const std::string& name);

// The built-in DWN node as a NodeType (the generic host path; layers use the dwn_lut op instead).
// Tables in [-1, 1]; forward is 1[T[addr] > 0] in training and eval; backward is the straight-
// through table gradient and the EFD input gradient with the default alpha(k) and beta.
std::shared_ptr<NodeType> dwn_node_type();

}  // namespace difflut
