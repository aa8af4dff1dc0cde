// ParameterBuffer: packs a set of parameters into one contiguous value buffer and one gradient
// buffer per (dtype, device) and re-binds every Parameter's value/grad as views into them, so an
// optimizer step is one pass over a flat array, zero_grad is one memset and a checkpoint is one
// sweep over one allocation.
#pragma once
#include <cstdint>
#include <vector>

#include "autograd/parameter.h"

namespace difflut {

class ParameterBuffer {
 public:
  // One parameter's place in its group's flat buffers (offsets and sizes in elements).
  struct Segment {
    Parameter* param = nullptr;
    int64_t offset = 0;
    int64_t numel = 0;
  };
  // All parameters of one dtype on one device. Segment order inside a group: parameters the
  // optimizer updates generically first, then those with a custom_update hook, then frozen ones
  // (requires_grad = false), each in registration order. The generic ones thus form one
  // contiguous prefix, which the fused optimizer kernel sweeps in a single pass.
  struct Group {
    DType dtype = DType::f32;
    Device device = Device::cpu;
    Tensor values;  // [numel] flat; every segment's Parameter::value is a view into it
    Tensor grads;   // [numel] flat; every segment's Parameter::grad is a view into it
    std::vector<Segment> segments;
    int64_t numel() const { return values.defined() ? values.numel() : 0; }
  };

  ParameterBuffer() = default;
  // Packs `params` on each parameter's current device (see pack()).
  explicit ParameterBuffer(std::vector<Parameter*> params);
  ParameterBuffer(const ParameterBuffer&) = delete;
  ParameterBuffer& operator=(const ParameterBuffer&) = delete;

  // (Re)packs `params`: copies every current value (and gradient, if it has one of the right
  // shape) into fresh flat buffers and re-binds value/grad as views. Duplicate pointers are packed
  // once. Every parameter must have a defined value.
  void pack(std::vector<Parameter*> params);
  // Re-packs every group onto `device` (values and gradients are copied across).
  void to(Device device);
  // Re-packs when any parameter's value or grad no longer points into this buffer (someone
  // assigned a new tensor to it) or its flags changed the segment order; returns true if it did.
  bool ensure_bound();

  const std::vector<Group>& groups() const { return groups_; }
  std::vector<Group>& groups() { return groups_; }
  const std::vector<Parameter*>& params() const { return params_; }
  // Bumped by every (re)pack: anything holding views or per-segment state compares it.
  uint64_t version() const { return version_; }
  int64_t numel() const;
  bool empty() const { return params_.empty(); }

  // Zeroes every group's gradient buffer (one memset per group).
  void zero_grad();
  // True when p's value and grad are views at the recorded place in this buffer.
  bool is_bound(const Parameter& p) const;

 private:
  void pack_on(std::vector<Parameter*> params, const Device* force_device);
  std::vector<Parameter*> params_;  // distinct, in the order given
  std::vector<Group> groups_;
  uint64_t version_ = 0;
};

// Segment class used for ordering (see Group): 0 generic, 1 custom_update, 2 frozen.
int parameter_update_class(const Parameter& p);

}  // namespace difflut
