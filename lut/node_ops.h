// User-facing constructors of the LUT node ops and GroupSum. Attribute conventions (kernels rely on
// them) are documented here once.
#pragma once
#include <memory>

#include "autograd/graph.h"

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

}  // namespace difflut
