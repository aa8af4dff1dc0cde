// CPU kernel of the level_code op (level_code_kernels.h): rows of the batch in parallel.
#include <algorithm>

#include "encoders/level_code_kernels.h"
#include "tensor/parallel.h"

namespace difflut {

void level_code_forward_cpu(OpCall& c) {
  const Tensor& x = *c.in[0];
  const Tensor& t = c.attrs.tensors[0];
  const int64_t B = x.size(0), F = x.size(1), T = t.size(1), nb = c.attrs.tensors[2].size(1);
  if (B == 0 || F == 0) return;
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "level_code", [&] {
    const scalar_t* xp = x.data<scalar_t>();
    const scalar_t* tp = t.data<scalar_t>();
    const scalar_t* sp = c.attrs.tensors[1].data<scalar_t>();
    const scalar_t* table = c.attrs.tensors[2].data<scalar_t>();
    scalar_t* yp = c.out->data<scalar_t>();
    parallel_for(0, B, std::max<int64_t>(1, (1 << 14) / (F * (T + nb))),
                 [&](int64_t lo, int64_t hi) {
                   for (int64_t b = lo; b < hi; ++b)
                     for (int64_t f = 0; f < F; ++f) {
                       const long long q = level_of(xp[b * F + f], tp + f * T, sp, T);
                       std::copy(table + q * nb, table + (q + 1) * nb, yp + (b * F + f) * nb);
                     }
                 });
  });
}

}  // namespace difflut
