// Kernel entry points of the matmul family, CPU (matmul_cpu.cpp) and CUDA (matmul_cuda.cu), plus the
// CPU GEMM they are built on (usable by other CPU kernels that need a dense product).
#pragma once
#include <cstdint>

#include "autograd/op_def.h"

namespace difflut {

// Row-major C[M, N] = op(A) · op(B) (or C += ... when `accumulate`), op(A) [M, K], op(B) [K, N].
// A is stored [M, K] (row stride lda), or [K, M] when trans_a; B is stored [K, N] (ldb), or [K, N]
// transposed, i.e. [N, K], when trans_b. Cache-blocked, packed, multi-threaded over output tiles;
// every element of C is summed by one thread in a fixed k order, so results do not depend on the
// thread count. Defined for float and double.
template <class T>
void gemm_cpu(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const T* A, int64_t lda,
              const T* B, int64_t ldb, T* C, int64_t ldc, bool accumulate);

// Testing hook: true forces the baseline (SSE2) micro-kernel even where AVX2+FMA is available.
void set_gemm_cpu_portable_only(bool on);

void matmul_forward_cpu(OpCall& c);
void matmul_backward_cpu(OpCall& c);
void matmul_forward_cuda(OpCall& c);
void matmul_backward_cuda(OpCall& c);

}  // namespace difflut
