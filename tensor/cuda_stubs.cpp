// Host-only build: the CUDA entry points report "not compiled" instead of failing to link.
#include "tensor/cuda_utils.h"
#include "tensor/device.h"
#include "tensor/device_info.h"
#include "tensor/random_fill.h"
#include "tensor/tensor.h"

#ifndef DIFFLUT_WITH_CUDA
namespace difflut {
namespace {
[[noreturn]] void no_cuda() {
  DIFFLUT_FAIL("cuda: this build of DiffLUT has no CUDA support (configure with DIFFLUT_CUDA=ON)");
}
}  // namespace
bool cuda_available() { return false; }
bool cuda_compiled() { return false; }
bool cuda_sync_debug() { return false; }
void* cuda_malloc_or_throw(size_t) { no_cuda(); }
void cuda_free_nothrow(void*) {}
void cuda_memcpy_h2d(void*, const void*, size_t) { no_cuda(); }
void cuda_memcpy_d2h(void*, const void*, size_t) { no_cuda(); }
void cuda_memcpy_d2d(void*, const void*, size_t) { no_cuda(); }
void cuda_memset_zero(void*, size_t) { no_cuda(); }
void cuda_synchronize() {}
std::string cuda_device_name() { return "no GPU"; }
double cuda_peak_gflops() { return 0.0; }
void fill_cuda(Tensor&, double) { no_cuda(); }
void cast_cuda(const Tensor&, Tensor&) { no_cuda(); }
void random_fill_cuda(Tensor&, RandomKind, uint64_t, uint64_t, int64_t, int64_t) { no_cuda(); }
}  // namespace difflut
#endif
