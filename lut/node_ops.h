// User-facing constructors of the LUT node ops and GroupSum. Attribute conventions (kernels rely on
// them) are documented here once.
#pragma once
#include <memory>

#include "autograd/graph.h"
#include "lut/lut_ops.h"

namespace difflut {

class NodeType;

// EFD defaults of torch_dwn: alpha = 0.5 * 0.75^(k-1), beta = 1/3. With them the EFD input gradient
// equals ½·E[T(addr with bit l = 1) − T(addr with bit l = 0)] under independent 0.25 bit flips of
// every other address bit.
double dwn_default_alpha(int k);
constexpr double kDwnDefaultBeta = 1.0 / 3.0;

// DWN LUT node (op dwn_lut). x [B, N*k] float (slot j*k + l is input l of LUT j), table [N, 2^k]
// same dtype -> [B, N] in {0, 1}: out = 1[table[j][addr] > 0] with addr = Σ_l 1[x ≥ 0.5] << l.
// attrs.ints = {k}, k in [1, 8] (addresses are saved as u8 and tables are 2^k wide);
// attrs.floats = {alpha, beta}. Backward: dT[j][a] = Σ_b g[b][j]·1[addr[b][j] = a] and the EFD
// input gradient dx[b, j*k+l] = g[b][j]·alpha Σ_a (2a_l − 1) T[j][a] β^{popcount((addr ⊕ a) & ~(1<<l))}.
Var dwn_lut(Var x, Var table, int k, double alpha, double beta);
Var dwn_lut(Var x, Var table, int k);  // default alpha(k), beta

// GroupSum (op group_sum). x [B, M] float -> [B, C]: M is padded with zeros to C*g, g = ceil(M/C),
// group c is columns [c*g, (c+1)*g), out = group sum / tau. attrs.ints = {C}, attrs.floats = {tau}.
Var group_sum(Var x, int64_t num_groups, double tau);

// A registered node type (op custom_lut). x [B, N*k] float, params [N, P] same dtype (P =
// type->num_params(k)) -> [B, N]. attrs.context = the std::shared_ptr<NodeType> (stored as
// shared_ptr<void>), attrs.ints = {k, training}: training runs forward_train, else forward_eval.
// k in [1, 8]. On CUDA the node's host functions run on copies (a CPU-speed path).
Var custom_lut(Var x, Var params, const std::shared_ptr<NodeType>& type, int k, bool training);
// The node type's regularisation of its parameters (op custom_lut_reg): params [N, P] -> [1].
// attrs.context as above, attrs.ints = {k}.
Var custom_lut_reg(Var params, const std::shared_ptr<NodeType>& type, int k);

// Built-in node types, one batched op each (kernels in lut/nodes/; math and defaults in
// docs/NODES.md). All take x [B, N*k] float (slot j*k + l is input l of node j; inputs may be soft
// values in [0, 1]) and params [N, P] of the same dtype, and return [B, N]. training = true gives
// the soft (differentiable) output; training = false gives the eval function as bits, out =
// truth_table[j][addr] with addr = Σ_l 1[x ≥ 0.5] << l. Backward always differentiates the soft
// function (so an eval-mode graph gets the soft function's gradient, a straight-through surrogate).
// attrs: ints = {k, training, degree, width, depth, skip, signed_amplitudes}, floats =
// {temperature, max_amplitude}, and polylut's monomial table as attribute tensor. k in [1, 8].
//   linear_lut:    σ(Σ_l w_l x_l + b), P = k + 1 (w_0..w_{k-1}, b)
//   polylut:       σ(Σ_m w_m · monomial_m(x)) over all monomials of degree <= D, P = C(k + D, D)
//                  (at most 256)
//   neurallut:     σ(MLP(x)) with ReLU hidden layers (width <= 32, depth <= 6 linear layers, skip
//                  connections from x every `skip_interval` layers, 0 = none)
//   probabilistic: Σ_a σ(θ_a/T) Π_j p_j(a_j), p_j(1) = x_j, p_j(0) = 1 − x_j; P = 2^k
//   unbound_probabilistic: σ(Σ_a θ_a Π_j p_j(a_j)); P = 2^k
//   hybrid:        σ(θ_addr) forward, probabilistic (T = 1) gradients backward; P = 2^k
//   difflogic:     Σ_i softmax(θ)_i gate_i(x_0, x_1) over the 16 relaxed gates; k = 2, P = 16
Var linear_lut(Var x, Var params, int k, bool training);
Var polylut(Var x, Var params, int k, int degree, bool training);
Var neurallut(Var x, Var params, int k, int width, int depth, int skip_interval, bool training);
Var probabilistic_lut(Var x, Var params, int k, double temperature, bool training);
Var unbound_probabilistic_lut(Var x, Var params, int k, bool training);
Var hybrid_lut(Var x, Var params, int k, bool training);
Var difflogic_lut(Var x, Var params, bool training);

// Per-node regularisers of a node's soft function F_j over the 2^k binary corners (op
// lut_regularizer): corner_values [2^k, N] -> [N].
//   functional: (1/(2^k k)) Σ_a Σ_l (F_j(a) − F_j(a ⊕ e_l))²   (mean squared bit-flip sensitivity)
//   spectral:   Σ_S |S| f̂_j(S)², f̂_j(S) = 2^-k Σ_a F_j(a) (−1)^{|a ∧ S|}  (degree-weighted
//               Walsh spectrum; equals k/4 times the functional one)
enum class LutRegularizer { functional, spectral };
Var lut_regularizer(Var corner_values, int k, LutRegularizer kind);

}  // namespace difflut
