// Kernels of the built-in node ops (every op of the node list, node_list.h: linear_lut, polylut,
// neurallut, probabilistic_lut, ..., gradient_stabilized_lut) and of the lut_regularizer op, plus the
// host entry points the NodeType objects use. One generic implementation per device, instantiated
// for every node type's math struct (lut/nodes/*_math.h).
//
// Shapes: x [B, N*k] (slot j*k + l is input l of node j), params [N, P], out [B, N].
// Attributes of every node op: ints = {k, training, degree, width, depth, skip,
// signed_amplitudes} (degree..skip only read by polylut / neurallut, the last by fourier), floats =
// {temperature, max_amplitude} (probabilistic and warp; fourier), tensors = {polylut term table
// [M, 2] i32 on the op's device} (polylut only).
//
// Determinism: every output element and every node's parameter gradient has one owner; parameter
// gradients are summed over the batch in double in a fixed order (CPU: ascending b; CUDA: chunks of
// kGradChunk samples, each ascending, then the chunks in order). No atomics.
#pragma once
#include "autograd/graph.h"
#include "autograd/op_def.h"
#include "lut/nodes/node_math.h"

namespace difflut::nodes {

constexpr int kGradChunk = 16;  // samples per partial parameter-gradient sum on the GPU

// The op kind of a built-in node (registered on first use) and, back, which node an op kind runs.
OpKind builtin_node_op(NodeKind kind);
NodeKind node_kind_of(OpKind op);
const char* node_op_name(NodeKind kind);    // "probabilistic_lut"
const char* node_type_name(NodeKind kind);  // "probabilistic"
// Parameters per node of `kind` with constants c (c.k and the type's options set).
int node_num_params(NodeKind kind, const NodeConsts& c);
// The constants of a node op call (the poly table pointer is the attribute tensor's data).
NodeConsts node_consts(NodeKind kind, const Attrs& attrs);

// PolyLUT monomials of k inputs up to degree D: [M, 2] i32 host table {parent term, variable}
// (term 0 is the constant), M = C(k + D, D) (polylut_num_terms), ordered by degree.
Tensor polylut_term_table(int k, int degree);

// Appends the built-in node op of `kind` to x's graph with the options in o (o.k and o.num_params
// are ignored; k is the argument).
Var apply_builtin_node(NodeKind kind, Var x, Var params, int k, bool training, const NodeConsts& o);

// Host (CPU tensor) entry points with the op kernels' semantics. training: soft output; else bits.
// prep_keep (training only): receives the per-node precomputation (Math::prep of every node, [N·Q];
// left undefined when the type has none), which the backward of the same step may reuse.
void node_forward_host(NodeKind kind, const Tensor& x, const Tensor& params, const NodeConsts& c,
                       bool training, Tensor& out, Tensor* prep_keep = nullptr);
// ADDS dL/dx into *grad_x and dL/dparams into *grad_params (either may be null). prep: the
// forward's prep_keep for these params, or null to compute it again.
void node_backward_host(NodeKind kind, const Tensor& x, const Tensor& params, const NodeConsts& c,
                        const Tensor& grad_out, Tensor* grad_x, Tensor* grad_params,
                        const Tensor* prep = nullptr);
// Eval function of every node as a truth table [N, 2^k] u8.
Tensor node_truth_table_host(NodeKind kind, const Tensor& params, const NodeConsts& c);

void node_lut_forward_cpu(OpCall& c);
void node_lut_backward_cpu(OpCall& c);
void node_lut_forward_cuda(OpCall& c);
void node_lut_backward_cuda(OpCall& c);

// lut_regularizer: corner values F [2^k, N] (row a: every node's soft output at address a) -> [N].
// attrs.ints = {k, kind} with kind 0 = functional, 1 = spectral:
//   functional_j = (1/(2^k k)) Σ_a Σ_l (F[a][j] − F[a ⊕ 2^l][j])²
//   spectral_j   = Σ_S |S| f̂_j(S)²,  f̂_j(S) = 2^-k Σ_a F[a][j] (−1)^{|a ∧ S|}
// (spectral_j = (k/4) functional_j: the total influence, by Parseval.)
constexpr int kRegFunctional = 0;
constexpr int kRegSpectral = 1;
void lut_regularizer_forward_cpu(OpCall& c);
void lut_regularizer_backward_cpu(OpCall& c);
void lut_regularizer_forward_cuda(OpCall& c);
void lut_regularizer_backward_cuda(OpCall& c);

}  // namespace difflut::nodes
