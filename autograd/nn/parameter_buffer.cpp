// Packing parameters into flat per-(dtype, device) buffers and re-binding them as views.
#include "autograd/nn/parameter_buffer.h"

#include <algorithm>
#include <unordered_set>

namespace difflut {

int parameter_update_class(const Parameter& p) {
  // A custom hook wins over requires_grad: such a parameter may compute its gradient outside the
  // graph, but the optimizer must still call it every step.
  if (p.custom_update) return 1;
  return p.requires_grad ? 0 : 2;
}

ParameterBuffer::ParameterBuffer(std::vector<Parameter*> params) { pack(std::move(params)); }

void ParameterBuffer::pack(std::vector<Parameter*> params) { pack_on(std::move(params), nullptr); }

void ParameterBuffer::to(Device device) {
  std::vector<Parameter*> params = params_;
  pack_on(std::move(params), &device);
}

void ParameterBuffer::pack_on(std::vector<Parameter*> params, const Device* force_device) {
  // Distinct parameters, first occurrence wins (a module registered twice shares its weights).
  std::vector<Parameter*> distinct;
  std::unordered_set<const Parameter*> seen;
  for (Parameter* p : params) {
    DIFFLUT_ASSERT(p != nullptr);
    DIFFLUT_CHECK(p->value.defined(), "parameter buffer: parameter '", p->name,
                  "' has no value to pack");
    if (seen.insert(p).second) distinct.push_back(p);
  }

  std::vector<Group> groups;
  auto group_of = [&](DType dt, Device dev) -> Group& {
    for (Group& g : groups)
      if (g.dtype == dt && g.device == dev) return g;
    groups.push_back(Group{.dtype = dt, .device = dev, .values = {}, .grads = {}, .segments = {}});
    return groups.back();
  };
  // Segment order: by update class, then by the order given (stable).
  for (int cls = 0; cls < 3; ++cls) {
    for (Parameter* p : distinct) {
      if (parameter_update_class(*p) != cls) continue;
      Group& g = group_of(p->value.dtype(), force_device ? *force_device : p->value.device());
      const int64_t offset =
          g.segments.empty() ? 0 : g.segments.back().offset + g.segments.back().numel;
      g.segments.push_back(Segment{.param = p, .offset = offset, .numel = p->value.numel()});
    }
  }
  for (Group& g : groups) {
    const int64_t n = g.segments.back().offset + g.segments.back().numel;
    // Only ordinary trainable parameters (class 0, packed first) get gradient storage: frozen ones
    // need none, and custom-update ones never materialise a gradient (the learnable mapping's
    // would be as large as its weight and would be zeroed every step for nothing).
    int64_t n_grad = 0;
    for (const Segment& s : g.segments)
      if (parameter_update_class(*s.param) == 0) n_grad = s.offset + s.numel;
    g.values = Tensor::empty({n}, g.dtype, g.device);
    g.grads = Tensor::zeros({n_grad}, g.dtype, g.device);
    const size_t esize = dtype_size(g.dtype);
    for (const Segment& s : g.segments) {
      Parameter& p = *s.param;
      const Shape shape = p.value.shape();
      Tensor v = Tensor::view_of(g.values.storage(), s.offset * esize, shape, g.dtype);
      v.copy_(p.value);
      p.value = v;
      if (parameter_update_class(p) != 0) {
        p.grad = Tensor();
        continue;
      }
      Tensor gr = Tensor::view_of(g.grads.storage(), s.offset * esize, shape, g.dtype);
      if (p.grad.defined() && p.grad.shape() == shape && p.grad.dtype() == g.dtype)
        gr.copy_(p.grad);
      p.grad = gr;
    }
  }
  params_ = std::move(distinct);
  groups_ = std::move(groups);
  ++version_;
}

namespace {
bool segment_bound(const ParameterBuffer::Group& g, const ParameterBuffer::Segment& s) {
  const Parameter& p = *s.param;
  const size_t off = static_cast<size_t>(s.offset) * dtype_size(g.dtype);
  const bool value_ok = p.value.storage() == g.values.storage() && p.value.offset_bytes() == off &&
                        p.value.numel() == s.numel && p.value.dtype() == g.dtype;
  if (parameter_update_class(p) != 0) return value_ok && !p.grad.defined();
  return value_ok && p.grad.storage() == g.grads.storage() && p.grad.offset_bytes() == off &&
         p.grad.numel() == s.numel && p.grad.dtype() == g.dtype;
}
}  // namespace

bool ParameterBuffer::is_bound(const Parameter& p) const {
  for (const Group& g : groups_)
    for (const Segment& s : g.segments)
      if (s.param == &p) return segment_bound(g, s);
  return false;
}

bool ParameterBuffer::ensure_bound() {
  bool stale = false;
  for (const Group& g : groups_) {
    int prev_cls = 0;
    for (const Segment& s : g.segments) {
      const int cls = parameter_update_class(*s.param);
      // A class lower than its predecessor's means flags changed since packing: order is wrong.
      if (cls < prev_cls || !segment_bound(g, s)) {
        stale = true;
        break;
      }
      prev_cls = cls;
    }
    if (stale) break;
  }
  if (!stale) return false;
  std::vector<Parameter*> params = params_;
  pack(std::move(params));
  return true;
}

int64_t ParameterBuffer::numel() const {
  int64_t n = 0;
  for (const Group& g : groups_) n += g.numel();
  return n;
}

void ParameterBuffer::zero_grad() {
  for (Group& g : groups_) {
    g.grads.zero_();
    for (const auto& seg : g.segments)
      if (seg.param->custom_zero_grad) seg.param->custom_zero_grad(*seg.param);
  }
}

}  // namespace difflut
