// Learnable mapping host API: W init, the state shared with the fused update, the op builder, the
// fused optimizer step (stash handling and dispatch), and the device-independent kernel helpers.
#include "lut/learnable_mapping.h"

#include "lut/learnable_mapping_kernels.h"
#include "lut/lut_ops.h"

namespace difflut {

namespace {
// Rows of several [B_k, N] tensors stacked into one [sum B_k, N] tensor (same dtype and device).
Tensor concat_rows(const std::vector<Tensor>& parts) {
  int64_t rows = 0;
  for (const Tensor& p : parts) rows += p.size(0);
  const Tensor& first = parts.front();
  Tensor out = Tensor::empty({rows, first.size(1)}, first.dtype(), first.device());
  size_t offset = out.offset_bytes();
  for (const Tensor& p : parts) {
    Tensor view = Tensor::view_of(out.storage(), offset, p.shape(), p.dtype());
    view.copy_(p);
    offset += p.nbytes();
  }
  return out;
}

void check_like(const char* what, const Tensor* t, const Tensor& w) {
  DIFFLUT_CHECK(t != nullptr && t->defined(), "learnable_mapping update: the optimizer passed no ",
                what, " buffer for '", w.describe(), "'");
  DIFFLUT_CHECK(t->shape() == w.shape() && t->dtype() == w.dtype() && t->device() == w.device(),
                "learnable_mapping update: expected the ", what, " buffer shaped like W ",
                w.describe(), ", found ", t->describe());
}
}  // namespace

Tensor learnable_mapping_init(int64_t num_inputs, int64_t num_slots, Generator& gen, DType dtype,
                              Device device) {
  DIFFLUT_CHECK(num_inputs >= 1 && num_slots >= 0, "learnable_mapping_init: expected F >= 1 and ",
                "S >= 0, found F = ", num_inputs, ", S = ", num_slots);
  DIFFLUT_CHECK(is_floating(dtype), "learnable_mapping_init: expected f32 or f64, found ",
                dtype_name(dtype));
  return Tensor::rand({num_inputs, num_slots}, gen, dtype, device);
}

std::shared_ptr<LearnableMappingState> make_learnable_mapping_state() {
  return std::make_shared<LearnableMappingState>();
}

Var learnable_mapping(Var x, Var w, std::shared_ptr<LearnableMappingState> state, double tau) {
  DIFFLUT_CHECK(x.defined() && w.defined(), "learnable_mapping: undefined input Var");
  Attrs attrs;
  attrs.floats = {tau};
  attrs.context = std::move(state);
  return x.graph->apply(learnable_mapping_op(), {x, w}, std::move(attrs));
}

Tensor learnable_mapping_argmax(const Tensor& w) {
  DIFFLUT_CHECK(w.defined() && w.dim() == 2 && is_floating(w.dtype()),
                "learnable_mapping_argmax: expected a float W [F, S], found ",
                w.defined() ? w.describe() : std::string("an undefined tensor"));
  Tensor idx = Tensor::empty({w.size(1)}, DType::i32, w.device());
  if (w.is_cuda()) {
    learnable_mapping_argmax_cuda(w, idx);
  } else {
    learnable_mapping_argmax_cpu(w, idx);
  }
  return idx;
}

LearnableMappingState* learnable_mapping_state_of(const OpCall& c) {
  return static_cast<LearnableMappingState*>(c.attrs.context.get());
}

Tensor learnable_mapping_forward_index(const Tensor& w, LearnableMappingState* state) {
  if (state && state->argmax_fresh && state->argmax_of == w.raw() && state->argmax.defined() &&
      state->argmax.numel() == w.size(1) && state->argmax.device() == w.device()) {
    return state->argmax;
  }
  Tensor idx = learnable_mapping_argmax(w);
  if (state) state->argmax = idx;  // kept for inspection; not trusted until a fused update
  return idx;
}

void learnable_mapping_stash(OpCall& c) {
  LearnableMappingState* state = learnable_mapping_state_of(c);
  DIFFLUT_CHECK(state != nullptr,
                "learnable_mapping: W's parameter has a custom_update, but the node has no "
                "LearnableMappingState to hand the gradient to (build it with learnable_mapping(x, "
                "W, state) and make_learnable_mapping_update(state))");
  // Copies, so that callers reusing their input or seed buffers cannot change a pending update.
  state->stash.push_back({c.in[0]->clone(), c.grad_out->clone()});
}

void learnable_mapping_fused_step(LearnableMappingState& state, Parameter& p,
                                  const OptimizerStep& step) {
  Tensor& w = p.value;
  DIFFLUT_CHECK(w.defined() && w.dim() == 2 && is_floating(w.dtype()),
                "learnable_mapping update: expected '", p.name, "' to be a float W [F, S], found ",
                w.defined() ? w.describe() : std::string("an undefined tensor"));
  const int64_t F = w.size(0), S = w.size(1);
  DIFFLUT_CHECK(step.kind != OptimizerStep::Kind::sgd || (step.dampening == 0.0 && !step.nesterov),
                "learnable_mapping update: the fused step implements SGD without dampening or "
                "Nesterov momentum, found dampening ",
                step.dampening, ", nesterov ", step.nesterov ? "true" : "false",
                " (build the layer with fused_update = false)");

  Tensor x, g;
  if (!state.stash.empty()) {
    std::vector<Tensor> xs, gs;
    for (const auto& e : state.stash) {
      DIFFLUT_CHECK(e.x.dim() == 2 && e.x.size(1) == F && e.g.dim() == 2 && e.g.size(1) == S &&
                        e.g.size(0) == e.x.size(0) && e.x.dtype() == w.dtype() &&
                        e.g.dtype() == w.dtype() && e.x.device() == w.device(),
                    "learnable_mapping update: a stashed batch (x ", e.x.describe(), ", g ",
                    e.g.describe(), ") does not belong to '", p.name, "' ", w.describe(),
                    " (one LearnableMappingState per W)");
      xs.push_back(e.x);
      gs.push_back(e.g);
    }
    x = xs.size() == 1 ? xs[0] : concat_rows(xs);
    g = gs.size() == 1 ? gs[0] : concat_rows(gs);
  }

  Tensor* m = nullptr;
  Tensor* v = nullptr;
  if (step.kind == OptimizerStep::Kind::adam) {
    check_like("first moment", step.state[0], w);
    check_like("second moment", step.state[1], w);
    m = step.state[0];
    v = step.state[1];
  } else if (step.momentum != 0.0) {
    check_like("velocity", step.state[0], w);
    m = step.state[0];
  }

  Tensor idx = Tensor::empty({S}, DType::i32, w.device());
  const Tensor* xp = x.defined() ? &x : nullptr;
  const Tensor* gp = g.defined() ? &g : nullptr;
  if (w.is_cuda()) {
    learnable_mapping_update_cuda(w, m, v, xp, gp, step, p.clamp_min, p.clamp_max, idx);
  } else {
    learnable_mapping_update_cpu(w, m, v, xp, gp, step, p.clamp_min, p.clamp_max, idx);
  }
  state.stash.clear();
  state.argmax = idx;
  state.argmax_of = w.raw();
  state.argmax_fresh = true;
}

std::function<void(Parameter&, const OptimizerStep&)> make_learnable_mapping_update(
    std::shared_ptr<LearnableMappingState> state) {
  DIFFLUT_CHECK(state != nullptr, "make_learnable_mapping_update: expected a state, found null");
  return [state](Parameter& p, const OptimizerStep& step) {
    learnable_mapping_fused_step(*state, p, step);
  };
}

#ifndef DIFFLUT_WITH_CUDA
// Host-only build: the CUDA entry points the host API names exist but say so.
void learnable_mapping_argmax_cuda(const Tensor&, Tensor&) {
  DIFFLUT_FAIL("learnable_mapping: this build of DiffLUT has no CUDA support");
}
void learnable_mapping_update_cuda(Tensor&, Tensor*, Tensor*, const Tensor*, const Tensor*,
                                   const OptimizerStep&, double, double, Tensor&) {
  DIFFLUT_FAIL("learnable_mapping: this build of DiffLUT has no CUDA support");
}
void learnable_mapping_optimizer_pass_cuda(Tensor&, const Tensor&, Tensor*, Tensor*,
                                           const OptimizerStep&, double, double) {
  DIFFLUT_FAIL("learnable_mapping: this build of DiffLUT has no CUDA support");
}
#endif

}  // namespace difflut
