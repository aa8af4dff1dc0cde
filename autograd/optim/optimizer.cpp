// Optimizer base: state layout that follows the parameter buffer, the chunk work list, custom
// update hooks, and state save/load.
#include "autograd/optim/optimizer.h"

#include <cmath>
#include <unordered_map>

namespace difflut {

namespace {
// Integer parameters (lookup indices, say) may live in a module but never train: they must be
// frozen, and the optimizer keeps no state for them.
void check_trainable_dtypes(const ParameterBuffer& buffer, const std::string& who) {
  for (const auto& g : buffer.groups()) {
    if (is_floating(g.dtype)) continue;
    for (const auto& s : g.segments)
      DIFFLUT_CHECK(parameter_update_class(*s.param) == 2, who, ": parameter '", s.param->name,
                    "' is ", dtype_name(g.dtype),
                    " and trainable: expected a floating dtype, or requires_grad = false");
  }
}
bool trains(const ParameterBuffer::Group& g) { return is_floating(g.dtype); }
}  // namespace

Tensor segment_view(const Tensor& flat, const ParameterBuffer::Segment& s, const Shape& shape) {
  return Tensor::view_of(
      flat.storage(),
      flat.offset_bytes() + static_cast<size_t>(s.offset) * dtype_size(flat.dtype()), shape,
      flat.dtype());
}

Optimizer::Optimizer(Module& module, double lr) : Optimizer(module.flatten(), lr) {}

Optimizer::Optimizer(std::shared_ptr<ParameterBuffer> buffer, double lr)
    : lr_(lr), buffer_(std::move(buffer)) {
  DIFFLUT_CHECK(buffer_ != nullptr, "optimizer: null parameter buffer");
  DIFFLUT_CHECK(std::isfinite(lr) && lr >= 0.0, "optimizer: expected a finite lr >= 0, found ", lr);
  check_trainable_dtypes(*buffer_, "optimizer");
}

void Optimizer::set_lr(double lr) {
  DIFFLUT_CHECK(std::isfinite(lr) && lr >= 0.0, name(), ": expected a finite lr >= 0, found ", lr);
  lr_ = lr;
}

void Optimizer::zero_grad() {
  buffer_->ensure_bound();
  buffer_->zero_grad();
}

// Follows the buffer after a (re)pack: new flat state per group, each parameter's old state copied
// into its new place (across devices if the module moved), so training continues exactly.
void Optimizer::sync_layout() {
  if (synced_version_ == buffer_->version()) return;
  check_trainable_dtypes(*buffer_, name());
  const int slots = num_state_slots();
  std::unordered_map<const Parameter*, std::vector<Tensor>> old;
  if (!state_.empty()) {
    // The previous layout is described by state_ and the segments saved alongside it.
    for (size_t gi = 0; gi < state_segments_.size(); ++gi)
      for (const auto& s : state_segments_[gi]) {
        std::vector<Tensor> views;
        for (int k = 0; k < static_cast<int>(state_[gi].slots.size()); ++k)
          views.push_back(segment_view(state_[gi].slots[static_cast<size_t>(k)], s, {s.numel}));
        old.emplace(s.param, std::move(views));
      }
  }
  std::vector<GroupState> fresh;
  state_segments_.clear();
  for (const auto& g : buffer_->groups()) {
    GroupState gs;
    for (int k = 0; k < (trains(g) ? slots : 0); ++k)
      gs.slots.push_back(Tensor::zeros({g.numel()}, g.dtype, g.device));
    for (const auto& s : g.segments) {
      auto it = old.find(s.param);
      if (it == old.end() || gs.slots.empty()) continue;
      for (int k = 0; k < slots; ++k)
        segment_view(gs.slots[static_cast<size_t>(k)], s, {s.numel})
            .copy_(it->second[static_cast<size_t>(k)]);
    }
    fresh.push_back(std::move(gs));
    state_segments_.push_back(g.segments);
  }
  state_ = std::move(fresh);
  synced_version_ = buffer_->version();
}

namespace {
// The chunk work list over a group's generic prefix: runs of consecutive segments with one clamp
// range, cut into pieces of at most kOptimChunkElems elements.
OptimChunks build_chunks(const ParameterBuffer::Group& g) {
  std::vector<int64_t> bounds;
  std::vector<double> clamps;
  size_t i = 0;
  while (i < g.segments.size() && parameter_update_class(*g.segments[i].param) == 0) {
    const Parameter& first = *g.segments[i].param;
    const int64_t begin = g.segments[i].offset;
    int64_t end = begin + g.segments[i].numel;
    ++i;
    while (i < g.segments.size() && parameter_update_class(*g.segments[i].param) == 0 &&
           g.segments[i].param->clamp_min == first.clamp_min &&
           g.segments[i].param->clamp_max == first.clamp_max) {
      end = g.segments[i].offset + g.segments[i].numel;
      ++i;
    }
    for (int64_t b = begin; b < end; b += kOptimChunkElems) {
      bounds.push_back(b);
      bounds.push_back(std::min(end, b + kOptimChunkElems));
      clamps.push_back(first.clamp_min);
      clamps.push_back(first.clamp_max);
    }
  }
  OptimChunks c;
  const int64_t n = static_cast<int64_t>(bounds.size() / 2);
  if (n == 0) return c;
  c.bounds = Tensor::from_vector(bounds, {n, 2}, g.device);
  c.clamps = Tensor::from_vector(clamps, {n, 2}, g.device);
  return c;
}

std::vector<double> chunk_signature(const ParameterBuffer::Group& g) {
  std::vector<double> sig;
  sig.reserve(g.segments.size() * 3);
  for (const auto& s : g.segments) {
    sig.push_back(parameter_update_class(*s.param));
    sig.push_back(s.param->clamp_min);
    sig.push_back(s.param->clamp_max);
  }
  return sig;
}
}  // namespace

void Optimizer::step() {
  buffer_->ensure_bound();
  sync_layout();
  ++step_;
  auto& groups = buffer_->groups();
  for (size_t gi = 0; gi < groups.size(); ++gi) {
    if (!trains(groups[gi])) continue;
    GroupState& gs = state_[gi];
    std::vector<double> sig = chunk_signature(groups[gi]);
    if (sig != gs.signature) {
      gs.chunks = build_chunks(groups[gi]);
      gs.signature = std::move(sig);
    }
    if (gs.chunks.count() > 0) update_group(groups[gi], gs.slots, gs.chunks);
  }
  // Parameters that update themselves, after the fused passes (their order is registration order).
  for (size_t gi = 0; gi < groups.size(); ++gi) {
    for (const auto& s : groups[gi].segments) {
      Parameter& p = *s.param;
      if (!p.custom_update) continue;
      OptimizerStep info = step_info();
      info.step = step_;
      Tensor views[2];
      for (int k = 0; k < num_state_slots() && k < 2; ++k) {
        views[k] = segment_view(state_[gi].slots[static_cast<size_t>(k)], s, p.value.shape());
        info.state[k] = &views[k];
      }
      p.custom_update(p, info);
    }
  }
}

namespace {
// Every element finite (and >= 0 for slots such as Adam's second moment): a NaN moment turns the
// parameters it updates into NaN on the first step, and the run then trains to chance.
void check_state_values(const std::string& who, const std::string& entry, const Tensor& t,
                        bool nonnegative) {
  if (t.dtype() != DType::f32 && t.dtype() != DType::f64) return;
  const std::vector<double> v = t.to(Device::cpu).to(DType::f64).to_vector<double>();
  for (size_t i = 0; i < v.size(); ++i) {
    DIFFLUT_CHECK(std::isfinite(v[i]), who, ": entry '", entry, "': expected finite values, found ",
                  v[i], " at element ", i);
    DIFFLUT_CHECK(!nonnegative || v[i] >= 0.0, who, ": entry '", entry,
                  "': expected values >= 0, found ", v[i], " at element ", i);
  }
}
}  // namespace

NamedTensors Optimizer::state_dict() {
  buffer_->ensure_bound();
  sync_layout();
  NamedTensors out;
  const auto& groups = buffer_->groups();
  for (size_t gi = 0; gi < groups.size(); ++gi)
    for (const auto& s : groups[gi].segments)
      for (int k = 0; k < static_cast<int>(state_[gi].slots.size()); ++k)
        out.emplace_back(
            s.param->name + "." + state_slot_name(k),
            segment_view(state_[gi].slots[static_cast<size_t>(k)], s, s.param->value.shape())
                .to(Device::cpu)
                .clone());
  out.emplace_back("optimizer.step", Tensor::from_vector(std::vector<int64_t>{step_}, {1}));
  out.emplace_back("optimizer.lr", Tensor::from_vector(std::vector<double>{lr_}, {1}));
  return out;
}

void Optimizer::load_state_dict(const NamedTensors& state) {
  buffer_->ensure_bound();
  sync_layout();
  const std::string who = name() + ".load_state_dict";
  std::unordered_map<std::string, const Tensor*> by_name;
  for (const auto& [n, t] : state) {
    DIFFLUT_CHECK(by_name.emplace(n, &t).second, who, ": duplicate entry '", n, "'");
  }
  size_t used = 0;
  auto take = [&](const std::string& n) -> const Tensor& {
    auto it = by_name.find(n);
    DIFFLUT_CHECK(it != by_name.end(), who, ": expected an entry '", n, "', found none");
    ++used;
    return *it->second;
  };
  const Tensor& step_t = take("optimizer.step");
  const Tensor& lr_t = take("optimizer.lr");
  DIFFLUT_CHECK(step_t.numel() == 1 && lr_t.numel() == 1, who,
                ": expected one-element optimizer.step and optimizer.lr, found ", step_t.describe(),
                " and ", lr_t.describe());
  // A negative or fractional step count would silently change Adam's bias correction (a resume
  // with step=-5 trained to chance); a non-finite lr would poison every parameter.
  const double step_v = step_t.item_as_double();
  DIFFLUT_CHECK(
      std::isfinite(step_v) && step_v >= 0 && step_v <= 9.0e15 && step_v == std::floor(step_v), who,
      ": entry 'optimizer.step': expected an integer >= 0, found ", step_v);
  const double lr_v = lr_t.item_as_double();
  DIFFLUT_CHECK(std::isfinite(lr_v) && lr_v >= 0.0, who,
                ": entry 'optimizer.lr': expected a finite lr >= 0, found ", lr_v);
  // Validate everything before writing anything, so a bad file leaves the optimizer unchanged.
  std::vector<std::pair<Tensor, const Tensor*>> copies;
  const auto& groups = buffer_->groups();
  for (size_t gi = 0; gi < groups.size(); ++gi)
    for (const auto& s : groups[gi].segments)
      for (int k = 0; k < static_cast<int>(state_[gi].slots.size()); ++k) {
        const std::string n = s.param->name + "." + state_slot_name(k);
        const Tensor& src = take(n);
        const Shape& shape = s.param->value.shape();
        DIFFLUT_CHECK(src.shape() == shape && src.dtype() == groups[gi].dtype, who, ": entry '", n,
                      "': expected ", dtype_name(groups[gi].dtype), shape_str(shape), ", found ",
                      src.describe());
        check_state_values(who, n, src, state_slot_nonnegative(k));
        copies.emplace_back(segment_view(state_[gi].slots[static_cast<size_t>(k)], s, shape), &src);
      }
  if (used != by_name.size()) {
    for (const auto& [n, t] : state) {
      bool known = n == "optimizer.step" || n == "optimizer.lr";
      for (size_t gi = 0; gi < groups.size() && !known; ++gi)
        for (const auto& s : groups[gi].segments)
          for (int k = 0; k < static_cast<int>(state_[gi].slots.size()); ++k)
            if (n == s.param->name + "." + state_slot_name(k)) known = true;
      DIFFLUT_CHECK(known, who, ": unexpected entry '", n, "' (no such parameter state)");
    }
  }
  for (auto& [dst, src] : copies) dst.copy_(*src);
  step_ = static_cast<int64_t>(step_v);
  set_lr(lr_v);
  on_state_loaded();
}

}  // namespace difflut
