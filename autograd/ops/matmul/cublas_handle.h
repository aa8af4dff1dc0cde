// The process-wide cuBLAS handle (created on first use, bound to the default stream) and a checked-call
// macro. CUDA-only: include from .cu files.
#pragma once
#include <cublas_v2.h>

#include "tensor/cuda_utils.h"

namespace difflut {

// The handle every cuBLAS call in DiffLUT uses: created lazily (thread-safe, a function-local
// static) on the current device, bound to the default stream (0), default math mode (no TF32, so
// f32 products are true f32 and match the CPU within f32 rounding).
cublasHandle_t cublas_handle();

const char* cublas_status_name(cublasStatus_t s);

}  // namespace difflut

#define DIFFLUT_CUBLAS_CHECK(expr)                                                                 \
  do {                                                                                             \
    cublasStatus_t st_ = (expr);                                                                   \
    if (st_ != CUBLAS_STATUS_SUCCESS)                                                              \
      throw ::difflut::Error(::difflut::str_cat("cuBLAS error at ", __FILE__, ":", __LINE__, ": ", \
                                                #expr, ": ", ::difflut::cublas_status_name(st_))); \
  } while (0)
