// CUDA runtime wrappers: device detection that treats a missing driver as "no GPU", checked copies.
#include <cstdlib>

#include "tensor/cuda_utils.h"
#include "tensor/device.h"

namespace difflut {

bool cuda_available() {
  static const bool available = [] {
    int n = 0;
    cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess) {
      cudaGetLastError();  // clear the sticky "insufficient driver" / "no device" error
      return false;
    }
    return n > 0;
  }();
  return available;
}

bool cuda_compiled() { return true; }

bool cuda_sync_debug() {
  static const bool on = [] {
    const char* v = std::getenv("DIFFLUT_SYNC_DEBUG");
    return v && v[0] == '1';
  }();
  return on;
}

void* cuda_malloc_or_throw(size_t bytes) {
  DIFFLUT_CHECK(cuda_available(),
                "cuda: no usable GPU (cudaGetDeviceCount found none); use device=cpu");
  void* p = nullptr;
  cudaError_t err = cudaMalloc(&p, bytes);
  if (err != cudaSuccess) {
    cudaGetLastError();
    DIFFLUT_FAIL("cuda: cudaMalloc of ", bytes, " bytes failed: ", cudaGetErrorString(err));
  }
  return p;
}

void cuda_free_nothrow(void* p) { cudaFree(p); }

void cuda_memcpy_h2d(void* dst, const void* src, size_t bytes) {
  if (bytes) DIFFLUT_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}
void cuda_memcpy_d2h(void* dst, const void* src, size_t bytes) {
  if (bytes) DIFFLUT_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}
void cuda_memcpy_d2d(void* dst, const void* src, size_t bytes) {
  if (bytes) DIFFLUT_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, 0));
}
void cuda_memset_zero(void* dst, size_t bytes) {
  if (bytes) DIFFLUT_CUDA_CHECK(cudaMemsetAsync(dst, 0, bytes, 0));
}
void cuda_synchronize() { DIFFLUT_CUDA_CHECK(cudaDeviceSynchronize()); }

}  // namespace difflut
