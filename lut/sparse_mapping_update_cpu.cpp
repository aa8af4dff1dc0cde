// The sparse mapping's fused optimizer step on the host (lut/sparse_mapping.h): per block of slots,
// their dW summed from every stashed batch into a small buffer, then the optimizer's element update
// applied to those scores at once.
//
// Why: at C = 128 the default model's W holds 1.5 M scores, and the generic path streamed them
// through memory five times a step (dW's read-modify-write, the gradient's zeroing, the optimizer's
// reads of W, dW and the moments). Here dW never leaves the cache. The sums are SparseDwBatch's
// (the backward's) and the element update is the generic optimizers' (autograd/optim/optim_math.h),
// so the result is the generic path's to the bit.
#include <algorithm>
#include <memory>
#include <vector>

#include "autograd/optim/optim_math.h"
#include "lut/sparse_dw_cpu.h"
#include "lut/sparse_mapping_kernels.h"
#include "tensor/cpu_clones.h"
#include "tensor/parallel.h"

namespace difflut {
namespace {

constexpr int64_t kSlotBlock = 64;  // slots a buffer: 32 KiB of dW at C = 128 in float

// Vectorised like the generic optimizer's loop only with -fno-math-errno (set for this file in
// CMakeLists.txt, as for autograd/optim/optim_cpu.cpp); the coefficients are copied in and the
// buffers marked unaliased so that nothing is reloaded per element.
template <class T>
DIFFLUT_CPU_CLONES void adam_block(T* __restrict p, const T* __restrict g, T* __restrict m,
                                   T* __restrict v, int64_t n, const AdamCoeffs<T>& coeffs, T lo,
                                   T hi) {
  const AdamCoeffs<T> c = coeffs;
  for (int64_t i = 0; i < n; ++i) adam_element(p[i], g[i], m[i], v[i], c, lo, hi);
}

template <class T>
DIFFLUT_CPU_CLONES void sgd_block(T* __restrict p, const T* __restrict g, T* __restrict buf,
                                  int64_t n, const SgdCoeffs<T>& coeffs, T lo, T hi) {
  const SgdCoeffs<T> c = coeffs;
  for (int64_t i = 0; i < n; ++i) sgd_element(p[i], g[i], buf ? buf + i : nullptr, c, lo, hi);
}

}  // namespace

void sparse_mapping_update_cpu(Tensor& w, Tensor* m, Tensor* v,
                               const std::vector<SparseMappingState::Stash>& stash,
                               const OptimizerStep& step, double lo, double hi) {
  const int64_t S = w.size(0), C = w.size(1);
  const bool adam = step.kind == OptimizerStep::Kind::adam;
  DIFFLUT_DISPATCH_FLOAT(w.dtype(), "sparse_mapping update", [&] {
    using T = scalar_t;
    std::vector<std::unique_ptr<SparseDwBatch<T>>> batches;
    std::vector<const int32_t*> cands;
    for (const auto& e : stash) {
      batches.push_back(std::make_unique<SparseDwBatch<T>>(e.x.data<T>(), e.g.data<T>(),
                                                           e.x.size(0), e.x.size(1), S, C));
      cands.push_back(e.candidates.data<int32_t>());
    }
    AdamCoeffs<T> ac{};
    SgdCoeffs<T> sc{};
    if (adam) {
      ac = make_adam_coeffs<T>(AdamHyper{.lr = step.lr,
                                         .beta1 = step.beta1,
                                         .beta2 = step.beta2,
                                         .eps = step.eps,
                                         .weight_decay = step.weight_decay,
                                         .decoupled = step.decoupled_weight_decay,
                                         .step = step.step});
    } else {
      sc = make_sgd_coeffs<T>(SgdHyper{.lr = step.lr,
                                       .momentum = step.momentum,
                                       .dampening = step.dampening,
                                       .weight_decay = step.weight_decay,
                                       .nesterov = step.nesterov,
                                       .first_step = step.step == 1});
    }
    const T tlo = static_cast<T>(lo), thi = static_cast<T>(hi);
    T* wp = w.data<T>();
    T* mp = m ? m->data<T>() : nullptr;
    T* vp = v ? v->data<T>() : nullptr;
    parallel_for(0, S, 256, [&](int64_t lo_s, int64_t hi_s) {
      std::vector<T> dw(static_cast<size_t>(std::min(kSlotBlock, hi_s - lo_s) * C));
      for (int64_t s0 = lo_s; s0 < hi_s; s0 += kSlotBlock) {
        const int64_t s1 = std::min(hi_s, s0 + kSlotBlock);
        const int64_t n = (s1 - s0) * C, off = s0 * C;
        std::fill(dw.begin(), dw.begin() + n, T(0));  // as the generic path's zeroed gradient
        for (size_t e = 0; e < batches.size(); ++e)
          batches[e]->add_slots(s0, s1, cands[e], dw.data());
        if (adam)
          adam_block(wp + off, dw.data(), mp + off, vp + off, n, ac, tlo, thi);
        else
          sgd_block(wp + off, dw.data(), mp ? mp + off : nullptr, n, sc, tlo, thi);
      }
    });
  });
}

}  // namespace difflut
