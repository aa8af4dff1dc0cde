// The built-in node types beyond dwn (linear_lut, polylut, neurallut, probabilistic,
// unbound_probabilistic, hybrid, difflogic) as NodeType objects, their options, and the per-layer
// regularisers. Each type runs its own batched op (lut/node_ops.h) in NodeType::apply; the registry
// (lut/node_registry.h) holds one instance of each with default options, and make_node_type builds
// instances with other options. Math, defaults and config keys: docs/NODES.md.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "lut/node_ops.h"
#include "lut/node_registry.h"

namespace difflut {

// Hyper-parameters of the built-in node types (defaults: the original DiffLUT's). Each type reads
// only its own; the others are ignored.
struct NodeOptions {
  int degree = 2;            // polylut: maximum monomial degree D (>= 1)
  int hidden_width = 8;      // neurallut: width of the hidden layers (1..32)
  int depth = 2;             // neurallut: number of linear layers (1..6)
  int skip_interval = 2;     // neurallut: a skip connection from the inputs into every layer i > 0
                             // with i % skip_interval == 0 (0: none)
  double temperature = 1.0;  // probabilistic: T in σ(θ/T) (> 0)
  // fourier: A, the bound on the cosine sum's amplitude (> 0; the published node's is 0.5).
  double max_amplitude = 8.0;
  // fourier: normalise the amplitudes by Σ a as the published code (unbounded once some turn
  // negative) instead of Σ |a|.
  bool signed_amplitudes = false;
};

// A node type called `name` with options `opts`: a fresh instance for the built-in types that take
// options (polylut, neurallut, probabilistic), the registered instance otherwise. Throws
// difflut::Error for unknown names (listing the known ones, prefixed by `what`) and out-of-range
// options (naming the option).
std::shared_ptr<NodeType> make_node_type(const std::string& name, const NodeOptions& opts = {},
                                         const std::string& what = "node_type");

// The built-in batched node types with default options, in registry order (after dwn).
std::vector<std::shared_ptr<NodeType>> builtin_node_types();

// Regulariser kinds by config name: "functional" (also "l", "l2", "l2_functional"), "spectral"
// (also "fourier", "walsh"). Throws difflut::Error naming `what` for anything else.
LutRegularizer parse_lut_regularizer(const std::string& name,
                                     const std::string& what = "regularizer.kind");

// weight · mean over the layer's nodes of the regulariser of each node's soft function at its 2^k
// corners (type.corner_values): a [1] value to add to the loss. params [N, P] is the layer's
// parameter Var. Differentiable in params; CPU and CUDA.
Var node_regularizer(Var params, const NodeType& type, int k, LutRegularizer kind, double weight);

}  // namespace difflut
