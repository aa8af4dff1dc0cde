// CUDA matmul through cuBLAS. cuBLAS is column-major; a row-major [r, c] matrix is the column-major
// [c, r] matrix over the same memory, so row-major C = op(A)·op(B) is issued as column-major
// Cᵀ = op(B)ᵀ·op(A)ᵀ: swap the operands, keep the transpose flags, and use row lengths as ld.
#include "autograd/ops/matmul/cublas_handle.h"
#include "autograd/ops/matmul/matmul_kernels.h"

namespace difflut {
namespace {

void gemm_call(cublasOperation_t tb, cublasOperation_t ta, int n, int m, int k, const float* alpha,
               const float* b, int ldb, const float* a, int lda, const float* beta, float* c,
               int ldc) {
  DIFFLUT_CUBLAS_CHECK(
      cublasSgemm(cublas_handle(), tb, ta, n, m, k, alpha, b, ldb, a, lda, beta, c, ldc));
}
void gemm_call(cublasOperation_t tb, cublasOperation_t ta, int n, int m, int k, const double* alpha,
               const double* b, int ldb, const double* a, int lda, const double* beta, double* c,
               int ldc) {
  DIFFLUT_CUBLAS_CHECK(
      cublasDgemm(cublas_handle(), tb, ta, n, m, k, alpha, b, ldb, a, lda, beta, c, ldc));
}

int as_int(int64_t v) {
  DIFFLUT_CHECK(v <= 2147483647LL, "matmul: dimension ", v, " exceeds cuBLAS's 32-bit limit");
  return static_cast<int>(v);
}

// Row-major C [M, N] = op(A) · op(B) (+ C when accumulate). A stored [M, K] or, when trans_a,
// [K, M]; B stored [K, N] or, when trans_b, [N, K].
template <class T>
void gemm_cuda(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
               const T* A,  // [M, K] or [K, M]
               const T* B,  // [K, N] or [N, K]
               T* C,        // [M, N]
               bool accumulate) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    if (!accumulate) cuda_memset_zero(C, static_cast<size_t>(M * N) * sizeof(T));
    return;
  }
  const T one = T(1);
  const T beta = accumulate ? T(1) : T(0);
  const int lda = as_int(trans_a ? M : K);
  const int ldb = as_int(trans_b ? K : N);
  gemm_call(trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, as_int(N),
            as_int(M), as_int(K), &one, B, ldb, A, lda, &beta, C, as_int(N));
}

}  // namespace

// out [M, N] = a [M, K] · b [K, N]
void matmul_forward_cuda(OpCall& c) {
  const Tensor& a = *c.in[0];
  const Tensor& b = *c.in[1];
  const int64_t M = a.size(0), K = a.size(1), N = b.size(1);
  DIFFLUT_DISPATCH_FLOAT(a.dtype(), "matmul", [&] {
    gemm_cuda<scalar_t>(false, false, M, N, K, a.data<scalar_t>(), b.data<scalar_t>(),
                        c.out->data<scalar_t>(), false);
  });
}

// da [M, K] += g [M, N] · bᵀ;  db [K, N] += aᵀ · g   (beta = 1 accumulates into the zeroed grads)
void matmul_backward_cuda(OpCall& c) {
  const Tensor& a = *c.in[0];
  const Tensor& b = *c.in[1];
  const int64_t M = a.size(0), K = a.size(1), N = b.size(1);
  DIFFLUT_DISPATCH_FLOAT(a.dtype(), "matmul", [&] {
    const scalar_t* g = c.grad_out->data<scalar_t>();
    if (c.grad_in[0])
      gemm_cuda<scalar_t>(false, true, M, K, N, g, b.data<scalar_t>(),
                          c.grad_in[0]->data<scalar_t>(), true);
    if (c.grad_in[1])
      gemm_cuda<scalar_t>(true, false, K, N, M, a.data<scalar_t>(), g,
                          c.grad_in[1]->data<scalar_t>(), true);
  });
}

}  // namespace difflut
