// Sparse learnable mapping: candidate draws, W init, the CSR index, the op builder and its op row
// (kernels in sparse_mapping_{cpu.cpp,cuda.cu}).
#include "lut/sparse_mapping.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <utility>
#include <vector>

#include "autograd/ops.h"
#include "lut/lut_ops.h"
#include "lut/mapping.h"
#include "lut/sparse_mapping_kernels.h"

namespace difflut {

Tensor sparse_mapping_candidates(int64_t num_inputs, int64_t num_slots, int64_t num_candidates,
                                 Generator& gen) {
  DIFFLUT_CHECK(num_candidates >= 1 && num_candidates <= num_inputs,
                "sparse_mapping_candidates: expected 1 <= C <= F = ", num_inputs,
                " candidates, found ", num_candidates);
  const std::vector<int64_t> first =
      random_mapping(num_inputs, num_slots, gen).to_vector<int64_t>();
  const int64_t C = num_candidates;
  std::vector<int32_t> cand(static_cast<size_t>(num_slots * C));
  for (int64_t s = 0; s < num_slots; ++s) {
    int32_t* row = cand.data() + s * C;
    row[0] = static_cast<int32_t>(first[static_cast<size_t>(s)]);
    for (int64_t c = 1; c < C; ++c) {
      int32_t r;
      do {
        r = static_cast<int32_t>(gen.below(static_cast<uint64_t>(num_inputs)));
      } while (std::find(row, row + c, r) != row + c);  // distinct within the slot
      row[c] = r;
    }
  }
  return Tensor::from_vector(cand, {num_slots, C});
}

Tensor weighted_mapping_candidates(const std::vector<double>& weights, int64_t num_slots,
                                   int64_t num_candidates, Generator& gen) {
  const auto F = static_cast<int64_t>(weights.size());
  std::vector<int32_t> drawable;  // inputs of positive weight
  std::vector<double> weight;     // and their weights
  for (int64_t i = 0; i < F; ++i) {
    const double w = weights[static_cast<size_t>(i)];
    DIFFLUT_CHECK(std::isfinite(w) && w >= 0, "weighted_mapping_candidates: expected finite, ",
                  "non-negative weights, found ", w, " for input ", i);
    if (w > 0) {
      drawable.push_back(static_cast<int32_t>(i));
      weight.push_back(w);
    }
  }
  const auto P = static_cast<int64_t>(drawable.size());
  DIFFLUT_CHECK(num_candidates >= 1 && num_candidates <= P,
                "weighted_mapping_candidates: expected 1 <= C <= ", P,
                " (the inputs of positive weight, of ", F, "), found ", num_candidates);
  DIFFLUT_CHECK(num_slots >= 0, "weighted_mapping_candidates: expected slots >= 0, found ",
                num_slots);
  const int64_t C = num_candidates;
  std::vector<int32_t> cand(static_cast<size_t>(num_slots * C));
  // Successive sampling: each pick is drawn from all inputs by weight (a binary search of the
  // cumulative weights) and drawn again when the slot holds it already, which is exactly a draw
  // among the inputs not yet picked.
  std::vector<double> cdf(weight.size());
  double total = 0;
  for (size_t j = 0; j < weight.size(); ++j) cdf[j] = total += weight[j];
  // A repeated pick is drawn again with probability at most the weight share of the C heaviest
  // inputs; up to one half a pick takes under two draws on average. Above that (a few inputs hold
  // most of the weight) every slot is drawn instead by keys (Efraimidis and Spirakis: input i gets
  // log(u_i) / w_i, u_i uniform in (0, 1], the C largest keys win): the same distribution at O(P)
  // a slot. The choice depends on the weights only, so each path is exact.
  std::vector<double> heaviest = weight;
  std::partial_sort(heaviest.begin(), heaviest.begin() + C, heaviest.end(), std::greater<>());
  double top = 0;
  for (int64_t c = 0; c < C; ++c) top += heaviest[static_cast<size_t>(c)];
  const bool by_keys = top > 0.5 * total;
  std::vector<std::pair<double, int32_t>> keys(by_keys ? weight.size() : 0);
  const auto larger = [](const std::pair<double, int32_t>& x, const std::pair<double, int32_t>& y) {
    // Ties (probability ~0) go to the lower input index, so the draw is a function of the stream.
    return x.first > y.first || (x.first == y.first && x.second < y.second);
  };
  for (int64_t s = 0; s < num_slots; ++s) {
    int32_t* row = cand.data() + s * C;
    if (!by_keys) {
      for (int64_t filled = 0; filled < C;) {
        const double u = gen.uniform() * total;
        const auto j =
            std::min<int64_t>(std::upper_bound(cdf.begin(), cdf.end(), u) - cdf.begin(), P - 1);
        const int32_t r = drawable[static_cast<size_t>(j)];
        if (std::find(row, row + filled, r) == row + filled) row[filled++] = r;
      }
      continue;
    }
    for (size_t j = 0; j < weight.size(); ++j) {
      const double u = 1.0 - gen.uniform();  // (0, 1]
      keys[j] = {std::log(u) / weight[j], drawable[j]};
    }
    std::partial_sort(keys.begin(), keys.begin() + C, keys.end(), larger);
    for (int64_t c = 0; c < C; ++c) row[c] = keys[static_cast<size_t>(c)].second;
  }
  return Tensor::from_vector(cand, {num_slots, C});
}

namespace {
void check_groups(int64_t num_inputs, int64_t groups, double overlap) {
  DIFFLUT_CHECK(groups >= 1 && groups <= num_inputs,
                "grouped mapping: expected 1 <= groups <= ", num_inputs,
                " (the layer's inputs), found ", groups);
  DIFFLUT_CHECK(overlap >= 0 && overlap <= 0.5,
                "grouped mapping: expected an overlap in [0, 0.5], found ", overlap);
}
}  // namespace

int64_t grouped_candidate_count(int64_t num_inputs, int64_t groups, double overlap) {
  check_groups(num_inputs, groups, overlap);
  const int64_t base = num_inputs / groups;
  const auto widen = static_cast<int64_t>(std::floor(static_cast<double>(base) * overlap));
  return std::min(num_inputs, base + widen);
}

Tensor grouped_mapping_candidates(int64_t num_inputs, int64_t num_nodes, int k, int64_t groups,
                                  double overlap) {
  const int64_t C = grouped_candidate_count(num_inputs, groups, overlap);
  const int64_t base = num_inputs / groups;
  const int64_t widen = C - base;  // 0 when the window is clipped to all F inputs (G = 1)
  const int64_t per_group = (num_nodes + groups - 1) / groups;
  // Nodes go to the groups in blocks of per_group: a group left without a node would leave its
  // inputs unconnected (more groups than nodes, or 60 nodes in 25 groups: 20 blocks of 3).
  DIFFLUT_CHECK(num_nodes >= 1 && (groups - 1) * per_group < num_nodes,
                "grouped mapping: expected every one of the ", groups, " groups to get a node, ",
                "found ", num_nodes, " nodes filling ",
                num_nodes >= 1 ? (num_nodes + per_group - 1) / per_group : 0, " groups of ",
                per_group);
  std::vector<int32_t> cand(static_cast<size_t>(num_nodes * k * C));
  for (int64_t j = 0; j < num_nodes; ++j) {
    const int64_t g = j / per_group;
    const int64_t start = std::min(std::max<int64_t>(0, g * base - widen), num_inputs - C);
    for (int l = 0; l < k; ++l) {
      int32_t* row = cand.data() + (j * k + l) * C;
      for (int64_t c = 0; c < C; ++c) row[c] = static_cast<int32_t>(start + c);
    }
  }
  return Tensor::from_vector(cand, {num_nodes * k, C});
}

Tensor sparse_mapping_init(int64_t num_slots, int64_t num_candidates, Generator& gen, DType dtype,
                           Device device) {
  DIFFLUT_CHECK(num_slots >= 0 && num_candidates >= 1, "sparse_mapping_init: expected S >= 0 and ",
                "C >= 1, found S = ", num_slots, ", C = ", num_candidates);
  DIFFLUT_CHECK(is_floating(dtype), "sparse_mapping_init: expected f32 or f64, found ",
                dtype_name(dtype));
  return Tensor::rand({num_slots, num_candidates}, gen, dtype, device);
}

SparseMappingIndex make_sparse_mapping_index(const Tensor& candidates, int64_t num_inputs,
                                             Device device) {
  DIFFLUT_CHECK(candidates.defined() && candidates.dim() == 2,
                "sparse_mapping: expected candidates [S, C], found ",
                candidates.defined() ? candidates.describe() : std::string("an undefined tensor"));
  const Tensor flat = candidates.to(Device::cpu).to(DType::i32).reshape({candidates.numel()});
  GatherInverse inv = make_gather_inverse(flat, num_inputs, device);  // checks the range
  return SparseMappingIndex{device, flat.to(device), inv.offsets, inv.positions};
}

Var sparse_mapping(Var x, Var w, const SparseMappingIndex& index, double tau,
                   std::shared_ptr<SparseMappingState> state) {
  DIFFLUT_CHECK(x.defined() && w.defined(), "sparse_mapping: undefined input Var");
  Attrs attrs;
  attrs.floats = {tau};
  attrs.tensors = {index.candidates, index.offsets, index.positions};
  attrs.context = std::move(state);
  return x.graph->apply(sparse_mapping_op(), {x, w}, std::move(attrs));
}

std::shared_ptr<SparseMappingState> make_sparse_mapping_state() {
  return std::make_shared<SparseMappingState>();
}

void sparse_mapping_stash(OpCall& c) {
  auto* state = static_cast<SparseMappingState*>(c.attrs.context.get());
  DIFFLUT_CHECK(state != nullptr,
                "sparse_mapping: W's parameter has a custom_update, but the node has no "
                "SparseMappingState to hand the gradient to (build it with sparse_mapping(x, W, "
                "index, tau, state) and make_sparse_mapping_update(state))");
  // x is copied (a caller may refill its input buffer before the step); g is the graph's own
  // gradient buffer, which the graph drops (or, retained, only reads) after this backward.
  state->stash.push_back({c.in[0]->clone(), *c.grad_out, c.attrs.tensors.at(0)});
}

void sparse_mapping_fused_step(SparseMappingState& state, Parameter& p, const OptimizerStep& step) {
  Tensor& w = p.value;
  DIFFLUT_CHECK(w.defined() && w.dim() == 2 && is_floating(w.dtype()) && !w.is_cuda(),
                "sparse_mapping update: expected '", p.name,
                "' to be a float W [S, C] on the CPU (the fused update has no CUDA kernel; build "
                "the layer with fused_update = false there), found ",
                w.defined() ? w.describe() : std::string("an undefined tensor"));
  const int64_t S = w.size(0), C = w.size(1);
  for (const auto& e : state.stash) {
    DIFFLUT_CHECK(
        e.x.dim() == 2 && e.g.dim() == 2 && e.g.size(0) == e.x.size(0) && e.g.size(1) == S &&
            e.candidates.numel() == S * C && e.candidates.dtype() == DType::i32 &&
            e.x.dtype() == w.dtype() && e.g.dtype() == w.dtype() && !e.x.is_cuda() &&
            !e.g.is_cuda() && !e.candidates.is_cuda(),
        "sparse_mapping update: a stashed batch (x ", e.x.describe(), ", g ", e.g.describe(),
        ", candidates ", e.candidates.describe(), ") does not belong to '", p.name, "' ",
        w.describe(), " (one SparseMappingState per W)");
  }
  Tensor* m = nullptr;
  Tensor* v = nullptr;
  const auto like_w = [&](const char* what, Tensor* t) {
    DIFFLUT_CHECK(
        t && t->defined() && t->shape() == w.shape() && t->dtype() == w.dtype() && !t->is_cuda(),
        "sparse_mapping update: expected the optimizer's ", what, " shaped like '", p.name, "' ",
        w.describe(), ", found ", t && t->defined() ? t->describe() : std::string("none"));
    return t;
  };
  if (step.kind == OptimizerStep::Kind::adam) {
    m = like_w("first moment", step.state[0]);
    v = like_w("second moment", step.state[1]);
  } else if (step.momentum != 0.0) {
    m = like_w("velocity", step.state[0]);
  }
  sparse_mapping_update_cpu(w, m, v, state.stash, step, p.clamp_min, p.clamp_max);
  state.stash.clear();
}

std::function<void(Parameter&, const OptimizerStep&)> make_sparse_mapping_update(
    std::shared_ptr<SparseMappingState> state) {
  DIFFLUT_CHECK(state != nullptr, "make_sparse_mapping_update: expected a state, found null");
  return [state](Parameter& p, const OptimizerStep& step) {
    sparse_mapping_fused_step(*state, p, step);
  };
}

Tensor sparse_mapping_choice(const Tensor& w, const Tensor& candidates) {
  DIFFLUT_CHECK(
      w.defined() && w.dim() == 2 && is_floating(w.dtype()) && candidates.defined() &&
          candidates.numel() == w.numel(),
      "sparse_mapping_choice: expected a float W [S, C] and candidates of as many entries");
  const Tensor wh = w.to(Device::cpu);
  const Tensor ch = candidates.to(Device::cpu).to(DType::i32);
  Tensor idx = Tensor::empty({w.size(0)}, DType::i32, Device::cpu);
  sparse_mapping_choice_cpu(wh, ch, idx);
  return idx.to(DType::i64);
}

namespace {
// x [B, F] float, W [S, C] of x's dtype, attrs: tau > 0, {cand [S*C], offsets [F+1],
// positions [S*C]} i32 -> [B, S].
TensorMeta infer_sparse_mapping(const std::vector<TensorMeta>& in, const Attrs& attrs) {
  DIFFLUT_CHECK(in.size() == 2, "sparse_mapping: expected 2 inputs (x, W), found ", in.size());
  const TensorMeta& x = in[0];
  const TensorMeta& w = in[1];
  DIFFLUT_CHECK(is_floating(x.dtype) && w.dtype == x.dtype,
                "sparse_mapping: expected a floating x and W of its dtype, found ",
                dtype_name(x.dtype), " and ", dtype_name(w.dtype));
  DIFFLUT_CHECK(x.shape.size() == 2 && w.shape.size() == 2,
                "sparse_mapping: expected x [B, F] and ", "W [S, C], found ", shape_str(x.shape),
                " and ", shape_str(w.shape));
  DIFFLUT_CHECK(w.shape[1] >= 1, "sparse_mapping: expected C >= 1 candidates, found W ",
                shape_str(w.shape));
  DIFFLUT_CHECK(attrs.floats.size() == 1 && attrs.floats[0] > 0.0,
                "sparse_mapping: expected attrs.floats = {tau > 0}");
  DIFFLUT_CHECK(attrs.tensors.size() == 3, "sparse_mapping: expected attrs.tensors = {candidates, ",
                "offsets, positions}, found ", attrs.tensors.size(), " tensors");
  const int64_t SC = w.shape[0] * w.shape[1];
  const Tensor& cand = attrs.tensors[0];
  const Tensor& off = attrs.tensors[1];
  const Tensor& pos = attrs.tensors[2];
  DIFFLUT_CHECK(cand.dtype() == DType::i32 && cand.numel() == SC && off.dtype() == DType::i32 &&
                    off.numel() == x.shape[1] + 1 && pos.dtype() == DType::i32 && pos.numel() == SC,
                "sparse_mapping: expected i32 candidates [", SC, "], offsets [", x.shape[1] + 1,
                "], positions [", SC, "], found ", cand.describe(), ", ", off.describe(), ", ",
                pos.describe());
  return TensorMeta{{x.shape[0], w.shape[0]}, x.dtype};
}
}  // namespace

OpKind sparse_mapping_op() {
  static const OpKind kind = register_op(OpDef{
      .name = "sparse_mapping",
      .differentiable_inputs = {0, 1},  // x, W
      .infer = infer_sparse_mapping,
      .forward = {sparse_mapping_forward_cpu, DIFFLUT_CUDA_FN(sparse_mapping_forward_cuda)},
      .backward = {sparse_mapping_backward_cpu, DIFFLUT_CUDA_FN(sparse_mapping_backward_cuda)}});
  return kind;
}

}  // namespace difflut
