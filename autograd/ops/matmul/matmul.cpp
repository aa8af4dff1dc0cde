// Op rows of the matmul family: the dense 2-D product.
#include "autograd/op_def.h"
#include "autograd/ops/matmul/matmul_kernels.h"

namespace difflut {

namespace {
std::string meta_str(const TensorMeta& m) {
  return str_cat(dtype_name(m.dtype), shape_str(m.shape));
}

// [M, K] x [K, N] -> [M, N]; both f32 or both f64.
TensorMeta infer_matmul(const std::vector<TensorMeta>& in, const Attrs&) {
  DIFFLUT_ASSERT(in.size() == 2);
  const TensorMeta& a = in[0];
  const TensorMeta& b = in[1];
  DIFFLUT_CHECK(a.shape.size() == 2 && b.shape.size() == 2,
                "matmul: expected 2-D operands [M, K] x [K, N], found a ", meta_str(a), " and b ",
                meta_str(b));
  DIFFLUT_CHECK(is_floating(a.dtype) && a.dtype == b.dtype,
                "matmul: expected two f32 or two f64 operands, found a ", meta_str(a), " and b ",
                meta_str(b));
  DIFFLUT_CHECK(a.shape[1] == b.shape[0], "matmul: inner dimensions differ: a ", meta_str(a),
                " has K = ", a.shape[1], " but b ", meta_str(b), " has K = ", b.shape[0]);
  return TensorMeta{{a.shape[0], b.shape[1]}, a.dtype};
}
}  // namespace

void register_matmul_ops(OpTable& t) {
  // CPU: packed, cache-blocked GEMM threaded over output tiles (deterministic for any thread
  // count). CUDA: cuBLAS sgemm/dgemm, backward with beta = 1 to accumulate.
  t.add(OpKind::matmul,
        OpDef{.name = "matmul",
              .differentiable_inputs = {0, 1},
              .infer = infer_matmul,
              .forward = {matmul_forward_cpu, DIFFLUT_CUDA_FN(matmul_forward_cuda)},
              .backward = {matmul_backward_cpu, DIFFLUT_CUDA_FN(matmul_backward_cuda)}});
}

}  // namespace difflut
