// GPU name and a measured FLOP/s ceiling (see device_info.h).
#include <chrono>

#include "tensor/cuda_utils.h"
#include "tensor/device.h"
#include "tensor/device_info.h"

namespace difflut {
namespace {

// Each thread runs 8 independent multiply-add chains for `iters` iterations, entirely in registers.
__global__ void fma_loop_kernel(float* out,  // [grid*block] sink so the loop is not removed
                                int iters) {
  float a[8];
  for (int j = 0; j < 8; ++j) a[j] = threadIdx.x * 1e-3f + j;
  const float m = 0.999999f, c = 1e-6f;
  for (int i = 0; i < iters; ++i)
#pragma unroll
    for (int j = 0; j < 8; ++j) a[j] = fmaf(a[j], m, c);
  float s = 0;
  for (int j = 0; j < 8; ++j) s += a[j];
  out[blockIdx.x * blockDim.x + threadIdx.x] = s;
}

}  // namespace

std::string cuda_device_name() {
  if (!cuda_available()) return "no GPU";
  cudaDeviceProp p{};
  DIFFLUT_CUDA_CHECK(cudaGetDeviceProperties(&p, 0));
  return p.name;
}

double cuda_peak_gflops() {
  if (!cuda_available()) return 0.0;
  cudaDeviceProp p{};
  DIFFLUT_CUDA_CHECK(cudaGetDeviceProperties(&p, 0));
  const int blocks = p.multiProcessorCount * 8, threads = 256, iters = 20000;
  float* out = static_cast<float*>(cuda_malloc_or_throw(sizeof(float) * blocks * threads));
  fma_loop_kernel<<<blocks, threads>>>(out, iters);
  DIFFLUT_CUDA_LAUNCH_CHECK();
  cuda_synchronize();
  auto t0 = std::chrono::steady_clock::now();
  fma_loop_kernel<<<blocks, threads>>>(out, iters);
  DIFFLUT_CUDA_LAUNCH_CHECK();
  cuda_synchronize();
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  cuda_free_nothrow(out);
  return 2.0 * 8 * iters * double(blocks) * threads / s / 1e9;
}

}  // namespace difflut
