// DIFFLUT_HD, the project's one marker for functions compiled for both the host and the GPU (math
// shared by a CPU .cpp kernel and its CUDA .cu twin): __host__ __device__ __forceinline__ under
// nvcc, plain `inline` in host-only compilation units.
#pragma once

#if defined(__CUDACC__)
#define DIFFLUT_HD __host__ __device__ __forceinline__
#else
#define DIFFLUT_HD inline
#endif
