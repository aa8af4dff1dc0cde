// CUDA optimizer kernels: one block per chunk of the work list (see optim_kernels.h); each block
// reads its chunk's bounds and clamp range once and sweeps the chunk with coalesced accesses.
#include "autograd/optim/optim_checks.h"
#include "autograd/optim/optim_math.h"
#include "tensor/cuda_utils.h"

namespace difflut {

namespace {
constexpr int kOptimBlock = 256;

void check_chunks(const char* op, const Tensor& param, const OptimChunks& chunks) {
  DIFFLUT_CHECK(
      chunks.bounds.device() == param.device() && chunks.clamps.device() == param.device(), op,
      ": expected the chunk table on ", device_name(param.device()));
}
}  // namespace

template <class T>
__global__ void adam_update_kernel(T* p,                   // [n]
                                   const T* g,             // [n]
                                   T* m,                   // [n]
                                   T* v,                   // [n]
                                   const int64_t* bounds,  // [C, 2] element ranges
                                   const double* clamps,   // [C, 2] clamp ranges
                                   AdamCoeffs<T> c) {
  const int64_t k = blockIdx.x;
  const int64_t end = bounds[2 * k + 1];
  const T lo = static_cast<T>(clamps[2 * k]), hi = static_cast<T>(clamps[2 * k + 1]);
  for (int64_t i = bounds[2 * k] + threadIdx.x; i < end; i += blockDim.x)
    adam_element(p[i], g[i], m[i], v[i], c, lo, hi);
}

template <class T>
__global__ void sgd_update_kernel(T* p,                   // [n]
                                  const T* g,             // [n]
                                  T* buf,                 // [n] velocity, or null
                                  const int64_t* bounds,  // [C, 2] element ranges
                                  const double* clamps,   // [C, 2] clamp ranges
                                  SgdCoeffs<T> c) {
  const int64_t k = blockIdx.x;
  const int64_t end = bounds[2 * k + 1];
  const T lo = static_cast<T>(clamps[2 * k]), hi = static_cast<T>(clamps[2 * k + 1]);
  for (int64_t i = bounds[2 * k] + threadIdx.x; i < end; i += blockDim.x)
    sgd_element(p[i], g[i], buf ? buf + i : nullptr, c, lo, hi);
}

void adam_update_cuda(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq,
                      const OptimChunks& chunks, const AdamHyper& h) {
  check_optim_flat_grad("adam", param, grad);
  check_optim_flat("adam", param, exp_avg, "first moment");
  check_optim_flat("adam", param, exp_avg_sq, "second moment");
  check_chunks("adam", param, chunks);
  const int64_t n_chunks = chunks.count();
  if (n_chunks == 0) return;
  DIFFLUT_DISPATCH_FLOAT(param.dtype(), "adam", [&] {
    using T = scalar_t;
    adam_update_kernel<T><<<static_cast<unsigned>(n_chunks), kOptimBlock>>>(
        param.data<T>(), grad.data<T>(), exp_avg.data<T>(), exp_avg_sq.data<T>(),
        chunks.bounds.data<int64_t>(), chunks.clamps.data<double>(), make_adam_coeffs<T>(h));
  });
  DIFFLUT_CUDA_LAUNCH_CHECK();
}

void sgd_update_cuda(Tensor& param, const Tensor& grad, Tensor* velocity, const OptimChunks& chunks,
                     const SgdHyper& h) {
  check_optim_flat_grad("sgd", param, grad);
  DIFFLUT_CHECK(h.momentum == 0.0 || velocity != nullptr, "sgd: momentum needs a velocity buffer");
  if (h.momentum != 0.0) check_optim_flat("sgd", param, *velocity, "velocity");
  check_chunks("sgd", param, chunks);
  const int64_t n_chunks = chunks.count();
  if (n_chunks == 0) return;
  DIFFLUT_DISPATCH_FLOAT(param.dtype(), "sgd", [&] {
    using T = scalar_t;
    T* buf = h.momentum != 0.0 ? velocity->data<T>() : nullptr;
    sgd_update_kernel<T><<<static_cast<unsigned>(n_chunks), kOptimBlock>>>(
        param.data<T>(), grad.data<T>(), buf, chunks.bounds.data<int64_t>(),
        chunks.clamps.data<double>(), make_sgd_coeffs<T>(h));
  });
  DIFFLUT_CUDA_LAUNCH_CHECK();
}

}  // namespace difflut
