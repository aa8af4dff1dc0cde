// Fused optimizer updates over flat parameter buffers, CPU (optim_cpu.cpp) and CUDA (optim_cuda.cu).
//
// Clamping: parameters differ in their clamp range (DWN tables stay in [-1, 1], most parameters are
// unbounded), so the update is driven by a small work list of chunks instead of one flat range.
// Each chunk lies inside one run of segments sharing a clamp range and holds at most
// kOptimChunkElems elements; the optimizer builds the list on the host when the buffer layout or
// the flags change and caches it (on the GPU: one small upload, then reused every step). Each CUDA
// block / CPU task reads its chunk's bounds and clamp once and sweeps its elements, so the clamp
// is fused into the single pass at no extra memory traffic. The alternative, clamping per segment
// after the pass, would re-read and re-write every clamped parameter (DWN tables are most of a
// LUT model's parameters) and cost one extra launch per clamped segment.
#pragma once
#include <cstdint>

#include "tensor/tensor.h"

namespace difflut {

constexpr int64_t kOptimChunkElems = 4096;

// The work list: chunk c updates elements [bounds[c][0], bounds[c][1]) of the flat buffers and
// clamps the new values into [clamps[c][0], clamps[c][1]] (+-inf when unbounded).
struct OptimChunks {
  Tensor bounds;  // [C, 2] i64, on the buffers' device
  Tensor clamps;  // [C, 2] f64, on the buffers' device
  int64_t count() const { return bounds.defined() ? bounds.size(0) : 0; }
};

struct AdamHyper {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
  bool decoupled = false;  // AdamW: p *= 1 - lr * wd before the update, instead of g += wd * p
  int64_t step = 1;        // 1-based, for the bias corrections
};

struct SgdHyper {
  double lr = 1e-2, momentum = 0.0, dampening = 0.0, weight_decay = 0.0;
  bool nesterov = false;
  bool first_step = true;  // velocity starts as the first gradient (PyTorch semantics)
};

// param, grad, exp_avg, exp_avg_sq: flat [n] buffers of one float dtype on one device.
void adam_update_cpu(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq,
                     const OptimChunks& chunks, const AdamHyper& h);
void adam_update_cuda(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq,
                      const OptimChunks& chunks, const AdamHyper& h);
// velocity may be null when momentum == 0.
void sgd_update_cpu(Tensor& param, const Tensor& grad, Tensor* velocity, const OptimChunks& chunks,
                    const SgdHyper& h);
void sgd_update_cuda(Tensor& param, const Tensor& grad, Tensor* velocity, const OptimChunks& chunks,
                     const SgdHyper& h);

}  // namespace difflut
