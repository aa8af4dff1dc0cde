// Optimizer base: owns per-parameter state laid out like the flat parameter buffers, runs one fused
// kernel per buffer group each step, calls custom_update hooks, and saves/loads its state as named
// tensors (for checkpoints and exact resume).
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autograd/io/named_tensors.h"
#include "autograd/nn/module.h"
#include "autograd/optim/optim_kernels.h"

namespace difflut {

class Optimizer {
 public:
  // Optimizes every parameter of `module` (flattening it; see Module::flatten).
  explicit Optimizer(Module& module, double lr);
  // Optimizes the parameters of an existing buffer (shared with whoever else holds it).
  Optimizer(std::shared_ptr<ParameterBuffer> buffer, double lr);
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // One update of every parameter from its current gradient: the fused kernel over each group's
  // generically-updated prefix, then custom_update hooks. Frozen parameters are left alone.
  void step();
  // Zeroes every gradient of the buffer (one memset per group).
  void zero_grad();

  double lr() const { return lr_; }
  void set_lr(double lr);
  int64_t step_count() const { return step_; }
  virtual std::string name() const = 0;

  // Everything needed to resume: "<param>.<state>" per parameter and state slot, plus
  // "optimizer.step" (i64 [1]) and "optimizer.lr" (f64 [1]). Tensors are host copies.
  NamedTensors state_dict();
  // Restores a state_dict(): every parameter's state must be present with its shape and finite
  // values, the step count an integer >= 0 and the learning rate finite and >= 0. Throws naming
  // the first missing, mismatched or invalid entry, before changing anything.
  void load_state_dict(const NamedTensors& state);

  ParameterBuffer& buffer() { return *buffer_; }

 protected:
  // Number of state tensors per parameter (Adam 2, SGD with momentum 1, plain SGD 0) and names.
  virtual int num_state_slots() const = 0;
  virtual std::string state_slot_name(int slot) const = 0;
  // Whether a slot's values can only be >= 0 (Adam's second moment); load_state_dict refuses
  // negative values there, as it refuses non-finite values in every slot.
  virtual bool state_slot_nonnegative(int /*slot*/) const { return false; }
  // The fused update of elements covered by `chunks` in `group` (state[s] is slot s, flat).
  virtual void update_group(ParameterBuffer::Group& group, std::vector<Tensor>& state,
                            const OptimChunks& chunks) = 0;
  // What a custom_update hook is told about this step (state pointers are filled in by step()).
  virtual OptimizerStep step_info() const = 0;
  // Called after load_state_dict (e.g. SGD marks its velocity as initialised).
  virtual void on_state_loaded() {}

  double lr_;
  int64_t step_ = 0;  // steps taken; during update_group/step_info it already counts this step

 private:
  void sync_layout();
  std::shared_ptr<ParameterBuffer> buffer_;
  uint64_t synced_version_ = ~uint64_t{0};
  // Per group: flat state tensors (one per slot) and the cached chunk work list with the
  // signature (update class and clamp per segment) it was built for.
  struct GroupState {
    std::vector<Tensor> slots;
    OptimChunks chunks;
    std::vector<double> signature;
  };
  std::vector<GroupState> state_;
  // The segments state_ was laid out for (parameters are only used as keys, never dereferenced).
  std::vector<std::vector<ParameterBuffer::Segment>> state_segments_;
};

// A state tensor view of one parameter inside a flat state tensor of its group.
Tensor segment_view(const Tensor& flat, const ParameterBuffer::Segment& s, const Shape& shape);

}  // namespace difflut
