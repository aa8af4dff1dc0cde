// CUDA kernel of the level_code op: one thread per (sample, feature), the same level count as the
// CPU kernel (level_of), so results are identical bit for bit.
#include "encoders/level_code_kernels.h"
#include "tensor/cuda_utils.h"

namespace difflut {
namespace {

template <class T>
__global__ void level_code_kernel(const T* x, const T* t, const T* strict, const T* table, T* y,
                                  long long n, long long F, long long nt, long long nb) {
  for (long long idx = blockIdx.x * (long long)blockDim.x + threadIdx.x; idx < n;
       idx += (long long)gridDim.x * blockDim.x) {
    const long long f = idx % F;
    const long long q = level_of(x[idx], t + f * nt, strict, nt);
    for (long long j = 0; j < nb; ++j) y[idx * nb + j] = table[q * nb + j];
  }
}

}  // namespace

void level_code_forward_cuda(OpCall& c) {
  const Tensor& x = *c.in[0];
  const Tensor& t = c.attrs.tensors[0];
  const long long F = x.size(1), n = x.size(0) * F, nt = t.size(1), nb = c.attrs.tensors[2].size(1);
  if (n == 0) return;
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "level_code", [&] {
    level_code_kernel<<<grid_for(n), 256>>>(
        x.data<scalar_t>(), t.data<scalar_t>(), c.attrs.tensors[1].data<scalar_t>(),
        c.attrs.tensors[2].data<scalar_t>(), c.out->data<scalar_t>(), n, F, nt, nb);
  });
  DIFFLUT_CUDA_LAUNCH_CHECK();
}

}  // namespace difflut
