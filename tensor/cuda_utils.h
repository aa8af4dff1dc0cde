// Checked CUDA calls. Safe to include from .cpp files: everything CUDA-specific is behind
// DIFFLUT_WITH_CUDA, and the host-side helpers below exist in every build.
#pragma once
#include <cstddef>

#include "tensor/error.h"

namespace difflut {

// Host-visible helpers implemented in cuda_utils.cu (only in CUDA builds).
void* cuda_malloc_or_throw(size_t bytes);
void cuda_free_nothrow(void* p);
void cuda_memcpy_h2d(void* dst, const void* src, size_t bytes);
void cuda_memcpy_d2h(void* dst, const void* src, size_t bytes);
void cuda_memcpy_d2d(void* dst, const void* src, size_t bytes);
void cuda_memset_zero(void* dst, size_t bytes);
void cuda_synchronize();
// True when DIFFLUT_SYNC_DEBUG=1: the engine synchronises and checks for errors after every op.
bool cuda_sync_debug();

}  // namespace difflut

#if defined(__CUDACC__)
#include <cuda_runtime.h>

#define DIFFLUT_CUDA_CHECK(expr)                                                                 \
  do {                                                                                           \
    cudaError_t err_ = (expr);                                                                   \
    if (err_ != cudaSuccess)                                                                     \
      throw ::difflut::Error(::difflut::str_cat("CUDA error at ", __FILE__, ":", __LINE__, ": ", \
                                                #expr, ": ", cudaGetErrorString(err_)));         \
  } while (0)

// Checks the launch that just happened (configuration errors are reported at once; execution
// errors surface at the next synchronising call, or at once with DIFFLUT_SYNC_DEBUG=1).
#define DIFFLUT_CUDA_LAUNCH_CHECK() DIFFLUT_CUDA_CHECK(cudaGetLastError())

namespace difflut {
// Grid size for a 1-D launch over n items with `block` threads, capped to keep grids reasonable.
inline unsigned grid_for(long long n, int block = 256) {
  long long g = (n + block - 1) / block;
  if (g < 1) g = 1;
  if (g > 65535LL * 32) g = 65535LL * 32;
  return static_cast<unsigned>(g);
}
}  // namespace difflut
#endif
