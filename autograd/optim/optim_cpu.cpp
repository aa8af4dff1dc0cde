// CPU optimizer kernels: one parallel pass over the chunk work list (see optim_kernels.h). The
// update is elementwise, so any partition gives bit-identical results.
#include "autograd/optim/optim_checks.h"
#include "autograd/optim/optim_math.h"
#include "tensor/cpu_clones.h"
#include "tensor/parallel.h"

namespace difflut {

namespace {
// Elements [lo, hi) of one chunk (the hot loop: one clone per instruction set, tensor/cpu_clones.h).
template <class T>
DIFFLUT_CPU_CLONES void adam_range(T* p, const T* g, T* m, T* v, int64_t lo, int64_t hi,
                                   const AdamCoeffs<T>& c, T min, T max) {
  for (int64_t i = lo; i < hi; ++i) adam_element(p[i], g[i], m[i], v[i], c, min, max);
}
}  // namespace

void adam_update_cpu(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq,
                     const OptimChunks& chunks, const AdamHyper& h) {
  check_optim_flat_grad("adam", param, grad);
  check_optim_flat("adam", param, exp_avg, "first moment");
  check_optim_flat("adam", param, exp_avg_sq, "second moment");
  DIFFLUT_DISPATCH_FLOAT(param.dtype(), "adam", [&] {
    using T = scalar_t;
    const AdamCoeffs<T> c = make_adam_coeffs<T>(h);
    T* p = param.data<T>();       // [n]
    const T* g = grad.data<T>();  // [n_grad <= n]: only the chunks' range is read
    T* m = exp_avg.data<T>();     // [n]
    T* v = exp_avg_sq.data<T>();  // [n]
    const int64_t* bounds = chunks.bounds.data<int64_t>();  // [C, 2]
    const double* clamps = chunks.clamps.data<double>();    // [C, 2]
    parallel_for(0, chunks.count(), 1, [&](int64_t lo_c, int64_t hi_c) {
      for (int64_t k = lo_c; k < hi_c; ++k) {
        adam_range(p, g, m, v, bounds[2 * k], bounds[2 * k + 1], c, static_cast<T>(clamps[2 * k]),
                   static_cast<T>(clamps[2 * k + 1]));
      }
    });
  });
}

void sgd_update_cpu(Tensor& param, const Tensor& grad, Tensor* velocity, const OptimChunks& chunks,
                    const SgdHyper& h) {
  check_optim_flat_grad("sgd", param, grad);
  DIFFLUT_CHECK(h.momentum == 0.0 || velocity != nullptr, "sgd: momentum needs a velocity buffer");
  if (h.momentum != 0.0) check_optim_flat("sgd", param, *velocity, "velocity");
  DIFFLUT_DISPATCH_FLOAT(param.dtype(), "sgd", [&] {
    using T = scalar_t;
    const SgdCoeffs<T> c = make_sgd_coeffs<T>(h);
    T* p = param.data<T>();                                   // [n]
    const T* g = grad.data<T>();                              // [n_grad <= n]
    T* buf = c.has_momentum ? velocity->data<T>() : nullptr;  // [n] or null
    const int64_t* bounds = chunks.bounds.data<int64_t>();    // [C, 2]
    const double* clamps = chunks.clamps.data<double>();      // [C, 2]
    parallel_for(0, chunks.count(), 1, [&](int64_t lo_c, int64_t hi_c) {
      for (int64_t k = lo_c; k < hi_c; ++k) {
        const T lo = static_cast<T>(clamps[2 * k]), hi = static_cast<T>(clamps[2 * k + 1]);
        for (int64_t i = bounds[2 * k]; i < bounds[2 * k + 1]; ++i)
          sgd_element(p[i], g[i], buf ? buf + i : nullptr, c, lo, hi);
      }
    });
  });
}

#ifndef DIFFLUT_WITH_CUDA
// Host-only build: the CUDA entry points exist but say so.
void adam_update_cuda(Tensor&, const Tensor&, Tensor&, Tensor&, const OptimChunks&,
                      const AdamHyper&) {
  DIFFLUT_FAIL("adam: this build of DiffLUT has no CUDA support (configure with DIFFLUT_CUDA=ON)");
}
void sgd_update_cuda(Tensor&, const Tensor&, Tensor*, const OptimChunks&, const SgdHyper&) {
  DIFFLUT_FAIL("sgd: this build of DiffLUT has no CUDA support (configure with DIFFLUT_CUDA=ON)");
}
#endif

}  // namespace difflut
