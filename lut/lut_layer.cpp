// LUTLayer: mapping (random / cyclic gather with a cached CSR inverse, or learnable) + node type.
#include "lut/lut_layer.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "autograd/ops.h"
#include "lut/mapping.h"
#include "lut/node_registry.h"

#include "lut/learnable_mapping.h"
#include "lut/sparse_mapping.h"

namespace difflut {

std::string mapping_kind_name(MappingKind kind) {
  switch (kind) {
    case MappingKind::random: return "random";
    case MappingKind::cyclic: return "cyclic";
    case MappingKind::learnable: return "learnable";
    case MappingKind::sparse: return "sparse";
  }
  return "?";
}

MappingKind parse_mapping_kind(const std::string& name, const std::string& what) {
  if (name == "random") return MappingKind::random;
  if (name == "cyclic") return MappingKind::cyclic;
  if (name == "learnable") return MappingKind::learnable;
  if (name == "sparse") return MappingKind::sparse;
  DIFFLUT_FAIL(what, "='", name,
               "' is not a mapping kind (known: random, cyclic, learnable, sparse)");
}

struct LUTLayer::FixedCache {
  Device device = Device::cpu;
  Tensor index;  // i32 [N*k] on `device`
  GatherInverse inverse;
};

struct LUTLayer::SparseCache {
  SparseMappingIndex index;
};

namespace {
// i64 [n] host copy of an index vector of any integer dtype/device.
Tensor host_i64(const Tensor& t) { return t.to(Device::cpu).to(DType::i64).clone(); }
}  // namespace

LUTLayer::LUTLayer(const LUTLayerOptions& options, Generator& gen) : opt_(options) {
  DIFFLUT_CHECK(opt_.k >= 1 && opt_.k <= 8,
                "LUTLayer: expected k (inputs per node) in [1, 8], found ", opt_.k);
  DIFFLUT_CHECK(opt_.input_size >= 1, "LUTLayer: expected input_size >= 1, found ",
                opt_.input_size);
  DIFFLUT_CHECK(opt_.num_nodes >= 1, "LUTLayer: expected num_nodes >= 1, found ", opt_.num_nodes);
  DIFFLUT_CHECK(is_floating(opt_.dtype), "LUTLayer: expected dtype f32 or f64, found ",
                dtype_name(opt_.dtype));
  if (!opt_.node_type)
    opt_.node_type = make_node_type(opt_.node_type_name.empty() ? "dwn" : opt_.node_type_name,
                                    opt_.node_options, "LUTLayerOptions.node_type_name");
  DIFFLUT_CHECK(opt_.node_type_name.empty() || opt_.node_type_name == opt_.node_type->name(),
                "LUTLayer: node_type '", opt_.node_type->name(), "' and node_type_name '",
                opt_.node_type_name, "' disagree; set one of them");
  const int64_t S = num_slots();

  // 1. the mapping (random draws come first so a layer's mapping depends only on the seed).
  switch (opt_.mapping) {
    case MappingKind::random:
      index_ = random_mapping(opt_.input_size, S, gen).to(DType::i32);
      break;
    case MappingKind::cyclic:
      index_ = cyclic_mapping(opt_.input_size, S, opt_.k, opt_.cyclic_stride).to(DType::i32);
      break;
    case MappingKind::learnable:
      DIFFLUT_CHECK(opt_.learnable_tau > 0, "LUTLayer: expected learnable_tau > 0, found ",
                    opt_.learnable_tau);
      break;
    case MappingKind::sparse:
      DIFFLUT_CHECK(opt_.learnable_tau > 0, "LUTLayer: expected learnable_tau > 0, found ",
                    opt_.learnable_tau);
      if (opt_.sparse_groups > 0) {
        // Grouped connections draw nothing: the windows follow from the sizes.
        opt_.sparse_candidates =
            grouped_candidate_count(opt_.input_size, opt_.sparse_groups, opt_.sparse_group_overlap);
        candidates_ = grouped_mapping_candidates(opt_.input_size, opt_.num_nodes, opt_.k,
                                                 opt_.sparse_groups, opt_.sparse_group_overlap);
        break;
      }
      DIFFLUT_CHECK(opt_.sparse_groups == 0, "LUTLayer: expected sparse_groups >= 0, found ",
                    opt_.sparse_groups);
      DIFFLUT_CHECK(opt_.sparse_candidates >= 1 && opt_.sparse_candidates <= opt_.input_size,
                    "LUTLayer: expected sparse_candidates in [1, ", opt_.input_size,
                    "] (the layer's inputs), found ", opt_.sparse_candidates);
      candidates_ = sparse_mapping_candidates(opt_.input_size, S, opt_.sparse_candidates, gen);
      break;
  }

  // 2. node parameters [N, P], initialised by the node type on the host.
  const int64_t P = opt_.node_type->num_params(opt_.k);
  DIFFLUT_CHECK(P >= 1, "LUTLayer: node type '", opt_.node_type->name(), "' has ", P,
                " parameters per node for k = ", opt_.k);
  Tensor init = Tensor::empty({opt_.num_nodes, P}, opt_.dtype, Device::cpu);
  opt_.node_type->init(init, opt_.k, gen);
  params_ = &register_parameter("params", init.to(opt_.device));
  const auto [lo, hi] = opt_.node_type->param_clamp();
  params_->clamp_min = lo;
  params_->clamp_max = hi;

  // 3. learnable mapping weights W [F, S].
  if (opt_.mapping == MappingKind::learnable) {
    Tensor w = learnable_mapping_init(opt_.input_size, S, gen, opt_.dtype, opt_.device);
    weights_ = &register_parameter("mapping_weights", w);
    state_ = make_learnable_mapping_state();
    if (opt_.fused_update) {
      weights_->custom_update = make_learnable_mapping_update(state_);
      weights_->custom_zero_grad = [state = state_](Parameter&) { state->stash.clear(); };
    }
  }
  // 3'. sparse mapping scores W [S, C]: on the CPU updated by the fused dW + optimizer pass, on
  // CUDA by the generic optimizer (the fused pass has no CUDA kernel yet).
  if (opt_.mapping == MappingKind::sparse) {
    Tensor w = sparse_mapping_init(S, opt_.sparse_candidates, gen, opt_.dtype, opt_.device);
    weights_ = &register_parameter("mapping_weights", w);
    if (opt_.fused_update && opt_.device == Device::cpu) install_sparse_fused_update();
  }

  // 4. training aids: checked here; the bit-flip seed is drawn last and only when flips are on, so
  // a model without them draws exactly what it drew before they existed.
  DIFFLUT_CHECK(std::isfinite(opt_.flip_probability) && opt_.flip_probability >= 0 &&
                    opt_.flip_probability <= 1,
                "LUTLayer: expected flip_probability in [0, 1], found ", opt_.flip_probability);
  check_grad_stabilization(opt_.grad_stabilization);
  if (opt_.flip_probability > 0) aug_seed_ = gen.below(UINT64_MAX);
}

LUTLayer::~LUTLayer() = default;

std::string LUTLayer::node_prefix() const {
  // params_->name is the dotted path "layer0.params" (or just "params" for a lone layer).
  const std::string& n = params_->name;
  const std::string suffix = "params";
  return n.size() >= suffix.size() ? n.substr(0, n.size() - suffix.size()) : std::string();
}

Var LUTLayer::forward(Graph& g, Var x) {
  DIFFLUT_CHECK(x.graph == &g, "LUTLayer: x belongs to another graph");
  DIFFLUT_CHECK(x.value().dim() == 2 && x.size(1) == opt_.input_size, "LUTLayer '", node_prefix(),
                "': expected x [B, ", opt_.input_size, "], found ", x.value().describe());
  const std::string prefix = node_prefix();
  if (is_training() && opt_.flip_probability > 0) {
    x = bit_flip(x, opt_.flip_probability, bit_flip_key(aug_seed_, aug_step_++));
    g.set_name(x, prefix + "bit_flip");
  }
  Var mapped;
  if (opt_.mapping == MappingKind::learnable) {
    mapped = learnable_mapping(x, g.param(*weights_), state_, opt_.learnable_tau);
  } else if (opt_.mapping == MappingKind::sparse) {
    const Device dev = x.device();
    if (!sparse_cache_ || sparse_cache_->index.device != dev)
      sparse_cache_ = std::make_unique<SparseCache>(
          SparseCache{make_sparse_mapping_index(candidates_, opt_.input_size, dev)});
    mapped = sparse_mapping(x, g.param(*weights_), sparse_cache_->index, opt_.learnable_tau,
                            sparse_state_);
    probe_x_ = probe_out_ = Var();  // a forward that does not probe leaves nothing to collect
    if (probe_ && is_training()) {
      g.retain_grad(mapped);
      probe_x_ = x;
      probe_out_ = mapped;
    }
  } else {
    const Device dev = x.device();
    if (!cache_ || cache_->device != dev) {
      auto c = std::make_unique<FixedCache>();
      c->device = dev;
      c->index = index_.to(dev);
      c->inverse = make_gather_inverse(index_, opt_.input_size, dev);
      cache_ = std::move(c);
    }
    mapped = gather(x, cache_->index, cache_->inverse.offsets, cache_->inverse.positions);
  }
  g.set_name(mapped, prefix + "mapping");
  Var out = opt_.node_type->apply(mapped, g.param(*params_), opt_.k, is_training());
  g.set_name(out, prefix + "nodes");
  if (is_training() && opt_.grad_stabilization.mode != GradStabilization::none) {
    out = grad_stabilize(out, opt_.grad_stabilization);
    g.set_name(out, prefix + "grad_stabilize");
  }
  return out;
}

void LUTLayer::set_probe(SparseProbe* probe) {
  DIFFLUT_CHECK(probe == nullptr || opt_.mapping == MappingKind::sparse,
                "LUTLayer.set_probe: expected a sparse mapping, found ",
                mapping_kind_name(opt_.mapping));
  DIFFLUT_CHECK(probe == nullptr ||
                    (probe->slots == candidates_.size(0) && probe->num_inputs == opt_.input_size),
                "LUTLayer.set_probe: expected a probe of ", candidates_.size(0), " slots over ",
                opt_.input_size, " inputs, found ", probe->slots, " over ", probe->num_inputs);
  if (probe) check_sparse_probe(*probe, "LUTLayer.set_probe");
  probe_ = probe;
  probe_x_ = probe_out_ = Var();
}

void LUTLayer::collect_probe(const Graph& g) {
  if (!probe_ || !probe_out_.defined()) return;
  // The kept Vars must still name this layer's mapping node: a cleared or truncated tape may have
  // put another node at that id.
  const bool same_node = probe_out_.graph == &g && static_cast<size_t>(probe_out_.id) < g.size() &&
                         g.node(probe_out_.id).name == node_prefix() + "mapping" &&
                         static_cast<size_t>(probe_x_.id) < g.size();
  DIFFLUT_CHECK(same_node, "LUTLayer.collect_probe: expected the graph of the probed forward with ",
                "its node '", node_prefix(), "mapping', found another graph or a cleared tape");
  accumulate_sparse_probe(*probe_, probe_x_.value(), g.grad(probe_out_));
  probe_x_ = probe_out_ = Var();
}

Var LUTLayer::node_regularization(Graph& g) {
  return custom_lut_reg(g.param(*params_), opt_.node_type, opt_.k);
}

Tensor LUTLayer::mapping_indices() const {
  if (opt_.mapping == MappingKind::sparse)
    return sparse_mapping_choice(weights_->value, candidates_);
  if (opt_.mapping != MappingKind::learnable) return host_i64(index_);
  return host_i64(learnable_mapping_argmax(weights_->value));
}

void LUTLayer::set_mapping_indices(const Tensor& index) {
  DIFFLUT_CHECK(opt_.mapping != MappingKind::learnable && opt_.mapping != MappingKind::sparse,
                "LUTLayer.set_mapping_indices: a learnable or sparse mapping is set through its "
                "weights W");
  DIFFLUT_CHECK(index.defined() && index.dim() == 1 && index.numel() == num_slots() &&
                    (index.dtype() == DType::i32 || index.dtype() == DType::i64),
                "LUTLayer.set_mapping_indices: expected an i32/i64 index [", num_slots(),
                "], found ", index.defined() ? index.describe() : std::string("undefined"));
  Tensor idx = host_i64(index);
  const int64_t* p = idx.data<int64_t>();
  for (int64_t s = 0; s < idx.numel(); ++s)
    DIFFLUT_CHECK(p[s] >= 0 && p[s] < opt_.input_size, "LUTLayer.set_mapping_indices: index[", s,
                  "] = ", p[s], " is outside [0, ", opt_.input_size, ")");
  index_ = idx.to(DType::i32);
  cache_.reset();
}

Tensor LUTLayer::check_candidates(const Tensor& candidates, const std::string& who) const {
  DIFFLUT_CHECK(opt_.mapping == MappingKind::sparse, who, ": the layer's mapping is not sparse");
  DIFFLUT_CHECK(candidates.defined() && candidates.shape() == candidates_.shape() &&
                    (candidates.dtype() == DType::i32 || candidates.dtype() == DType::i64),
                who, ": expected i32/i64 candidates ", shape_str(candidates_.shape()), ", found ",
                candidates.defined() ? candidates.describe() : std::string("undefined"));
  const Tensor c = host_i64(candidates);
  const int64_t* p = c.data<int64_t>();
  for (int64_t e = 0; e < c.numel(); ++e)
    DIFFLUT_CHECK(p[e] >= 0 && p[e] < opt_.input_size, who, ": entry ", e, " = ", p[e],
                  " is outside [0, ", opt_.input_size, ")");
  return c;
}

void LUTLayer::set_mapping_candidates(const Tensor& candidates) {
  candidates_ = check_candidates(candidates, "LUTLayer.set_mapping_candidates").to(DType::i32);
  sparse_cache_.reset();
}

void LUTLayer::install_sparse_fused_update() {
  sparse_state_ = make_sparse_mapping_state();
  weights_->custom_update = make_sparse_mapping_update(sparse_state_);
  weights_->custom_zero_grad = [state = sparse_state_](Parameter&) { state->stash.clear(); };
}

void LUTLayer::check_device_change(Device device) const {
  DIFFLUT_CHECK(device == Device::cpu || !sparse_state_ || sparse_state_->stash.empty(),
                "LUTLayer '", node_prefix(),
                "': a backward is waiting for the fused sparse update (its gradient is not in "
                "W.grad); call the optimizer's step or zero_grad before moving the layer to ",
                device_name(device));
}

void LUTLayer::on_device_changed(Device device) {
  opt_.device = device;
  if (opt_.mapping != MappingKind::sparse || !opt_.fused_update) return;
  if (device == Device::cpu && !sparse_state_) {
    install_sparse_fused_update();
  } else if (device != Device::cpu && sparse_state_) {
    weights_->custom_update = nullptr;
    weights_->custom_zero_grad = nullptr;
    sparse_state_.reset();
  }
}

NamedTensors LUTLayer::extra_state() const {
  if (opt_.mapping != MappingKind::sparse) return {};
  return {{"mapping_candidates", candidates_}};
}

void LUTLayer::check_extra_state(const NamedTensors& state) const {
  if (opt_.mapping != MappingKind::sparse) return Module::check_extra_state(state);
  DIFFLUT_CHECK(state.size() == 1 && state[0].first == "mapping_candidates",
                "LUTLayer: expected the extra state entry 'mapping_candidates' alone, found ",
                state.size(), " entries");
  check_candidates(state[0].second, "LUTLayer: entry 'mapping_candidates'");
}

void LUTLayer::load_extra_state(const NamedTensors& state) {
  if (opt_.mapping == MappingKind::sparse) set_mapping_candidates(state.at(0).second);
}

void LUTLayer::invalidate_mapping_cache() {
  cache_.reset();
  if (state_) state_->invalidate();
}

}  // namespace difflut
