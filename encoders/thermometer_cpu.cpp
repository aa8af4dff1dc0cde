// CPU kernel of the thermometer op: one row of the batch per loop iteration, bits feature-major.
#include <algorithm>

#include "encoders/thermometer_kernels.h"
#include "tensor/cpu_clones.h"
#include "tensor/parallel.h"

namespace difflut {

namespace {
// Rows [lo, hi) (hot loop: one clone per instruction set, tensor/cpu_clones.h).
template <class T>
DIFFLUT_CPU_CLONES void thermometer_rows(const T* xp, const T* tp, T* yp, int64_t F, int64_t nb,
                                         int64_t lo, int64_t hi) {
  for (int64_t b = lo; b < hi; ++b) {
    const T* xr = xp + b * F;
    T* yr = yp + b * F * nb;
    for (int64_t f = 0; f < F; ++f) {
      const T v = xr[f];
      const T* tf = tp + f * nb;
      T* yf = yr + f * nb;
      for (int64_t i = 0; i < nb; ++i) yf[i] = v > tf[i] ? T(1) : T(0);
    }
  }
}
}  // namespace

void thermometer_forward_cpu(OpCall& c) {
  const Tensor& x = *c.in[0];
  const Tensor& t = c.attrs.tensors[0];
  const int64_t B = x.size(0), F = x.size(1), nb = t.size(1);
  if (B == 0 || F == 0) return;
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "thermometer", [&] {
    const scalar_t* xp = x.data<scalar_t>();  // [B, F]
    const scalar_t* tp = t.data<scalar_t>();  // [F, nb]
    scalar_t* yp = c.out->data<scalar_t>();   // [B, F*nb]
    const int64_t row = F * nb;
    parallel_for(0, B, std::max<int64_t>(1, (1 << 15) / row),
                 [&](int64_t lo, int64_t hi) { thermometer_rows(xp, tp, yp, F, nb, lo, hi); });
  });
}

}  // namespace difflut
