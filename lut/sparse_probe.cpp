// Gradient probe for the guided candidate refresh (see sparse_probe.h).
#include "lut/sparse_probe.h"

#include <algorithm>

#include "lut/sparse_dw_cpu.h"
#include "tensor/error.h"
#include "tensor/parallel.h"

namespace difflut {

NewInputDraw::NewInputDraw(int64_t num_inputs)
    : num_inputs_(num_inputs), marked_(static_cast<size_t>(num_inputs), 0) {}

std::vector<int32_t> NewInputDraw::draw(const int32_t* row, int64_t C, int64_t r, Generator& gen) {
  DIFFLUT_CHECK(r >= 0 && r <= num_inputs_ - C, "sparse mapping: expected at most ",
                num_inputs_ - C, " new inputs for a slot of ", C, " over ", num_inputs_, ", found ",
                r);
  // The whole row is checked before any mark is set, so a throw leaves the marks clear.
  for (int64_t c = 0; c < C; ++c)
    DIFFLUT_CHECK(row[c] >= 0 && row[c] < num_inputs_,
                  "sparse mapping: expected candidates in [0, ", num_inputs_, "), found ", row[c]);
  for (int64_t c = 0; c < C; ++c) marked_[static_cast<size_t>(row[c])] = 1;
  std::vector<int32_t> out;
  out.reserve(static_cast<size_t>(r));
  for (int64_t k = 0; k < r; ++k) {
    int32_t i;
    do {
      i = static_cast<int32_t>(gen.below(static_cast<uint64_t>(num_inputs_)));
    } while (marked_[static_cast<size_t>(i)]);
    marked_[static_cast<size_t>(i)] = 1;
    out.push_back(i);
  }
  for (int64_t c = 0; c < C; ++c) marked_[static_cast<size_t>(row[c])] = 0;
  for (const int32_t i : out) marked_[static_cast<size_t>(i)] = 0;
  return out;
}

SparseProbe draw_sparse_probe(const Tensor& candidates, int64_t num_inputs, int64_t per_slot,
                              Generator& gen) {
  DIFFLUT_CHECK(candidates.defined() && candidates.dim() == 2 && candidates.dtype() == DType::i32 &&
                    candidates.device() == Device::cpu,
                "sparse probe: expected host i32 candidates [S, C], found ",
                candidates.defined() ? candidates.describe() : std::string("undefined"));
  DIFFLUT_CHECK(per_slot >= 1, "sparse probe: expected at least 1 probed input per slot, found ",
                per_slot);
  const int64_t S = candidates.size(0), C = candidates.size(1);
  const int64_t R = std::min(per_slot, num_inputs - C);
  DIFFLUT_CHECK(R >= 1, "sparse probe: the slots' ", C, " candidates already cover all ",
                num_inputs, " inputs; nothing is left to probe");
  SparseProbe p;
  p.slots = S;
  p.per_slot = R;
  p.num_inputs = num_inputs;
  p.inputs = Tensor::empty({S, R}, DType::i32, Device::cpu);
  p.sum.assign(static_cast<size_t>(S * R), 0.0);
  p.sumsq.assign(static_cast<size_t>(S * R), 0.0);
  const int32_t* cand = candidates.data<int32_t>();
  int32_t* in = p.inputs.data<int32_t>();
  NewInputDraw fresh(num_inputs);
  for (int64_t s = 0; s < S; ++s) {
    const std::vector<int32_t> drawn = fresh.draw(cand + s * C, C, R, gen);
    std::copy(drawn.begin(), drawn.end(), in + s * R);
  }
  return p;
}

void check_sparse_probe(const SparseProbe& probe, const char* who) {
  const int64_t S = probe.slots, R = probe.per_slot;
  DIFFLUT_CHECK(probe.inputs.defined() && probe.inputs.dtype() == DType::i32 &&
                    probe.inputs.device() == Device::cpu && probe.inputs.dim() == 2 &&
                    probe.inputs.size(0) == S && probe.inputs.size(1) == R,
                who, ": expected probe inputs i32 [", S, ", ", R, "] on the host, found ",
                probe.inputs.defined() ? probe.inputs.describe() : std::string("undefined"));
  DIFFLUT_CHECK(probe.sum.size() == static_cast<size_t>(S * R) &&
                    probe.sumsq.size() == static_cast<size_t>(S * R),
                who, ": expected probe sums of ", S * R, " entries, found ", probe.sum.size(),
                " and ", probe.sumsq.size());
  const int32_t* in = probe.inputs.data<int32_t>();
  for (int64_t e = 0; e < S * R; ++e)
    DIFFLUT_CHECK(in[e] >= 0 && in[e] < probe.num_inputs, who, ": expected probe inputs in [0, ",
                  probe.num_inputs, "), found ", in[e], " at entry ", e);
}

void accumulate_sparse_probe(SparseProbe& probe, const Tensor& x, const Tensor& g) {
  DIFFLUT_CHECK(x.defined() && g.defined() && x.dim() == 2 && g.dim() == 2 &&
                    x.size(0) == g.size(0) && x.size(1) == probe.num_inputs &&
                    g.size(1) == probe.slots && is_floating(x.dtype()) && is_floating(g.dtype()),
                "sparse probe: expected x [B, ", probe.num_inputs, "] and g [B, ", probe.slots,
                "], found x ", x.defined() ? x.describe() : std::string("undefined"), " and g ",
                g.defined() ? g.describe() : std::string("undefined"));
  check_sparse_probe(probe, "sparse probe");
  const Tensor xh = x.to(Device::cpu).to(DType::f32);
  const Tensor gh = g.to(Device::cpu).to(DType::f32);
  const int64_t B = x.size(0), F = probe.num_inputs, S = probe.slots, R = probe.per_slot;
  // This step's d for every (slot, probed input), as the sparse mapping's dW kernel sums it; the
  // buffer is the probe's, kept from step to step.
  std::vector<float>& d = probe.step_dw;
  d.assign(static_cast<size_t>(S * R), 0.0f);
  sparse_dw_over_batch(xh.data<float>(), gh.data<float>(), B, F, S, probe.inputs.data<int32_t>(), R,
                       d.data());
  parallel_for(0, S * R, 4096, [&](int64_t lo, int64_t hi) {
    for (int64_t e = lo; e < hi; ++e) {
      const double v = d[static_cast<size_t>(e)];
      probe.sum[static_cast<size_t>(e)] += v;
      probe.sumsq[static_cast<size_t>(e)] += v * v;
    }
  });
  ++probe.steps;
}

}  // namespace difflut
