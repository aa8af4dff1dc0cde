// Sparse learnable mapping (host API): each slot s of a layer learns a choice among C candidate
// inputs cand[s, 0..C), fixed when the layer is built, with C scores W [S, C]. The forward is a hard
// gather of x at cand[s, argmax_c W[s, c]] (first index on ties); the backward is the dense learnable
// mapping's gradient restricted to the candidates: dW[s, c] = sum_b (2 x[b, cand[s, c]] - 1) g[b, s]
// and dx[b, i] = sum over the entries (s, c) with cand[s, c] = i of g[b, s] softmax(W[s, :] / tau)[c].
// Memory is O(S C) instead of the dense mapping's O(F S), so W is an ordinary Parameter. On the CPU
// a layer gives it a fused update (SparseMappingState below): at C = 128 the generic path's dW
// buffer, its zeroing, the optimizer's read of it and the optimizer pass itself streamed 1.5 M
// scores through memory several times a step.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "autograd/graph.h"
#include "autograd/parameter.h"
#include "tensor/random.h"

namespace difflut {

constexpr int64_t kSparseMappingDefaultCandidates = 8;

// Candidates i32 [S, C] on the host: candidate 0 of the slots is a random mapping (random_mapping in
// lut/mapping.h: every input is some slot's first candidate before any is used twice), the other
// C - 1 are uniform draws distinct within the slot. Needs 1 <= C <= F.
Tensor sparse_mapping_candidates(int64_t num_inputs, int64_t num_slots, int64_t num_candidates,
                                 Generator& gen);

// Candidates i32 [S, C] drawn with a prior: each slot's C distinct candidates are a weighted draw
// without replacement, input i with probability proportional to weights[i] at every step, so
// inputs of weight 0 are never candidates. Used to start a first layer's candidates on
// the inputs that carry information about the label (input_label_information). Needs at least C
// inputs of positive weight, and finite, non-negative weights.
Tensor weighted_mapping_candidates(const std::vector<double>& weights, int64_t num_slots,
                                   int64_t num_candidates, Generator& gen);

// The public DiffLUT's grouped connections as candidates: the F inputs split into G contiguous groups
// of base = floor(F / G) inputs, each widened to the left by floor(base * overlap) (overlap in
// [0, 0.5]); the N nodes split into G groups of ceil(N / G) in order; every slot of node j takes the
// window of its group as its candidates, in input order. Every window has the same width
// C = min(F, base + floor(base * overlap)) (grouped_candidate_count). Needs 1 <= G <= F.
int64_t grouped_candidate_count(int64_t num_inputs, int64_t groups, double overlap);
Tensor grouped_mapping_candidates(int64_t num_inputs, int64_t num_nodes, int k, int64_t groups,
                                  double overlap);

// Uniform [0, 1) scores W [S, C], as the dense mapping starts.
Tensor sparse_mapping_init(int64_t num_slots, int64_t num_candidates, Generator& gen,
                           DType dtype = DType::f32, Device device = Device::cpu);

// The candidates and their CSR inverse on one device, as the op takes them.
struct SparseMappingIndex {
  Device device = Device::cpu;
  Tensor candidates;  // i32 [S*C]
  Tensor offsets;     // i32 [F+1]
  Tensor positions;   // i32 [S*C]
};
// Checks every candidate is in [0, F) (throws difflut::Error otherwise).
SparseMappingIndex make_sparse_mapping_index(const Tensor& candidates, int64_t num_inputs,
                                             Device device);

// Shared between the op nodes of one sparse mapping and its fused optimizer update (one per W).
// When W's Parameter has custom_update = make_sparse_mapping_update(state), backward does not write
// dW: it stashes x, g and the candidates it used, and the optimizer's call runs one pass over W
// that sums a block of slots' dW into a small buffer and updates those scores and their optimizer
// moments at once. The same sums and the same element update as the generic path, so the same
// bits (tests/cpu/test_sparse_mapping.cpp). Host tensors only: the CUDA backward refuses a fused W.
struct SparseMappingState {
  struct Stash {
    Tensor x;           // [B, F], a copy (callers may reuse their input buffers)
    Tensor g;           // [B, S], the graph's gradient buffer, no longer written by the graph
    Tensor candidates;  // i32 [S*C], the candidates this backward's forward chose among
  };
  // One entry per backward since the last update (a second backward before a step adds its
  // gradient, as the accumulate rule says); the update consumes them.
  std::vector<Stash> stash;
};

std::shared_ptr<SparseMappingState> make_sparse_mapping_state();

// Appends a sparse_mapping node: x [B, F], W [S, C] (usually graph.param(p)) -> [B, S]. `state`
// may be null (no fused update).
Var sparse_mapping(Var x, Var w, const SparseMappingIndex& index, double tau,
                   std::shared_ptr<SparseMappingState> state = nullptr);

// The Parameter::custom_update of W for the fused path: Adam / AdamW and SGD (momentum, dampening,
// Nesterov, weight decay) with the generic optimizers' element math and W's clamp.
std::function<void(Parameter&, const OptimizerStep&)> make_sparse_mapping_update(
    std::shared_ptr<SparseMappingState> state);

// The same step as a plain function (tests and benchmarks call it directly).
void sparse_mapping_fused_step(SparseMappingState& state, Parameter& w, const OptimizerStep& step);

// cand[s, argmax_c W[s, c]] for every slot: i64 [S] on the host (what the forward gathers).
Tensor sparse_mapping_choice(const Tensor& w, const Tensor& candidates);

}  // namespace difflut
