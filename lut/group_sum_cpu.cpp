// CPU kernels of group_sum. Sums run in double in ascending column order (the CUDA kernel does the
// same), then divide by tau once.
#include <algorithm>

#include "lut/group_sum_kernels.h"
#include "tensor/cpu_clones.h"
#include "tensor/parallel.h"

namespace difflut {

namespace {
// Forward and backward of rows [lo, hi) over groups of width g (hot loops: one clone per
// instruction set, tensor/cpu_clones.h).
template <class T>
DIFFLUT_CPU_CLONES void group_sum_rows(const T* xp, T* out, int64_t M, int64_t C, int64_t g,
                                       double tau, int64_t lo, int64_t hi) {
  for (int64_t b = lo; b < hi; ++b)
    for (int64_t cc = 0; cc < C; ++cc) {
      const int64_t m0 = std::min(M, cc * g), m1 = std::min(M, (cc + 1) * g);
      double acc = 0.0;
      for (int64_t m = m0; m < m1; ++m) acc += static_cast<double>(xp[b * M + m]);
      out[b * C + cc] = static_cast<T>(acc / tau);
    }
}
template <class T>
DIFFLUT_CPU_CLONES void group_sum_grad_rows(const T* gy, T* gx, int64_t M, int64_t C, int64_t g,
                                            double tau, int64_t lo, int64_t hi) {
  // Each group's gradient, gy / tau, computed once and added to its g columns (a division per
  // element, and one by g for the column's group, were 2.6 % of a CIFAR-10 training step).
  for (int64_t b = lo; b < hi; ++b)
    for (int64_t cc = 0; cc < C; ++cc) {
      const int64_t m0 = std::min(M, cc * g), m1 = std::min(M, (cc + 1) * g);
      const T v = static_cast<T>(static_cast<double>(gy[b * C + cc]) / tau);
      for (int64_t m = m0; m < m1; ++m) gx[b * M + m] += v;
    }
}
}  // namespace

void group_sum_forward_cpu(OpCall& c) {
  const Tensor& x = *c.in[0];
  const int64_t B = x.size(0), M = x.size(1), C = c.attrs.ints[0];
  const double tau = c.attrs.floats[0];
  const int64_t g = group_sum_width(M, C);
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "group_sum", [&] {
    const scalar_t* xp = x.data<scalar_t>();
    scalar_t* out = c.out->data<scalar_t>();
    parallel_for(0, B, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, M)),
                 [&](int64_t lo, int64_t hi) { group_sum_rows(xp, out, M, C, g, tau, lo, hi); });
  });
}

void group_sum_backward_cpu(OpCall& c) {
  if (!c.grad_in[0]) return;
  const Tensor& x = *c.in[0];
  const int64_t B = x.size(0), M = x.size(1), C = c.attrs.ints[0];
  const double tau = c.attrs.floats[0];
  const int64_t g = group_sum_width(M, C);
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "group_sum", [&] {
    const scalar_t* gy = c.grad_out->data<scalar_t>();
    scalar_t* gx = c.grad_in[0]->data<scalar_t>();
    parallel_for(
        0, B, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, M)),
        [&](int64_t lo, int64_t hi) { group_sum_grad_rows(gy, gx, M, C, g, tau, lo, hi); });
  });
}

}  // namespace difflut
