// Builds without CUDA: the CUDA bit-sliced engine (bitslice_cuda.h) still links, and constructing
// it says why it cannot run. In CUDA builds bitslice_cuda.cu defines the class and this file is empty.
#ifndef DIFFLUT_WITH_CUDA
#include "hdl/bitslice_cuda.h"
#include "tensor/error.h"

namespace difflut::hdl {

struct CudaBitsliceEngine::Impl {};

namespace {
[[noreturn]] void built_without_cuda() {
  DIFFLUT_FAIL(
      "CudaBitsliceEngine: DiffLUT was built without CUDA, so no GPU can be used "
      "(configure with DIFFLUT_CUDA=ON, or use the CPU engine)");
}
}  // namespace

CudaBitsliceEngine::CudaBitsliceEngine(const BitsliceProgram&, const CudaBitsliceOptions&) {
  built_without_cuda();
}
CudaBitsliceEngine::~CudaBitsliceEngine() = default;
void CudaBitsliceEngine::predict_device(const uint8_t*, int64_t, int32_t*) { built_without_cuda(); }
void CudaBitsliceEngine::predict(const uint8_t*, int64_t, int32_t*) { built_without_cuda(); }
std::vector<std::vector<uint32_t>> CudaBitsliceEngine::run(const uint8_t*, int64_t) {
  built_without_cuda();
}
std::string CudaBitsliceEngine::layout() const { return "built without CUDA"; }

}  // namespace difflut::hdl
#endif
