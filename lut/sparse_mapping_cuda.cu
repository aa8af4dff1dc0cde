// CUDA kernels of the sparse learnable mapping (see sparse_mapping_kernels.h). One thread per output
// element, each reducing in the same fixed order as the CPU kernels (sparse_mapping_math.h): no
// atomics, so results do not depend on scheduling.
#include "lut/sparse_mapping_kernels.h"
#include "lut/sparse_mapping_math.h"
#include "tensor/cuda_utils.h"

namespace difflut {

namespace {

template <class T>
__global__ void choice_kernel(const T* w, const int32_t* cand, int32_t* idx, long long S,
                              long long C) {
  const long long s = blockIdx.x * (long long)blockDim.x + threadIdx.x;
  if (s >= S) return;
  idx[s] = cand[s * C + sparse_choice(w + s * C, C)];
}

template <class T>
__global__ void gather_kernel(const T* x, const int32_t* idx, T* out, long long B, long long F,
                              long long S) {
  for (long long e = blockIdx.x * (long long)blockDim.x + threadIdx.x; e < B * S;
       e += (long long)gridDim.x * blockDim.x) {
    const long long b = e / S, s = e % S;
    out[e] = x[b * F + idx[s]];
  }
}

template <class T>
__global__ void dw_kernel(const T* x, const T* g, const int32_t* cand, T* dw, long long B,
                          long long F, long long S, long long C) {
  for (long long e = blockIdx.x * (long long)blockDim.x + threadIdx.x; e < S * C;
       e += (long long)gridDim.x * blockDim.x)
    dw[e] += sparse_dw_accumulate(T(0), x + cand[e], F, g + e / C, S, B);
}

template <class T>
__global__ void softmax_kernel(const T* w, T* p, long long S, long long C, T tau) {
  const long long s = blockIdx.x * (long long)blockDim.x + threadIdx.x;
  if (s >= S) return;
  sparse_softmax(w + s * C, C, tau, p + s * C);
}

// The CSR list's slot and softmax weight of every entry, in list order (see sparse_dx_entry).
template <class T>
__global__ void csr_weights_kernel(const T* p, const int32_t* positions, int32_t* slot, T* weight,
                                   long long SC, long long C) {
  for (long long k = blockIdx.x * (long long)blockDim.x + threadIdx.x; k < SC;
       k += (long long)gridDim.x * blockDim.x) {
    slot[k] = static_cast<int32_t>(positions[k] / C);
    weight[k] = p[positions[k]];
  }
}

template <class T>
__global__ void dx_kernel(const T* g, const int32_t* slot, const T* weight, const int32_t* offsets,
                          T* dx, long long B, long long F, long long S) {
  for (long long e = blockIdx.x * (long long)blockDim.x + threadIdx.x; e < B * F;
       e += (long long)gridDim.x * blockDim.x) {
    const long long b = e / F, i = e % F;
    dx[e] += sparse_dx_entry(g + b * S, slot, weight, offsets[i], offsets[i + 1]);
  }
}

}  // namespace

void sparse_mapping_choice_cuda(const Tensor& w, const Tensor& cand, Tensor& idx) {
  const int64_t S = w.size(0), C = w.size(1);
  if (S == 0) return;
  DIFFLUT_DISPATCH_FLOAT(w.dtype(), "sparse_mapping", [&] {
    choice_kernel<scalar_t>
        <<<grid_for(S), 256>>>(w.data<scalar_t>(), cand.data<int32_t>(), idx.data<int32_t>(), S, C);
  });
  DIFFLUT_CUDA_LAUNCH_CHECK();
}

void sparse_mapping_forward_cuda(OpCall& c) {
  const Tensor& x = *c.in[0];
  const Tensor& w = *c.in[1];
  const int64_t B = x.size(0), F = x.size(1), S = w.size(0);
  Tensor idx = Tensor::empty({S}, DType::i32, x.device());
  sparse_mapping_choice_cuda(w, c.attrs.tensors.at(0), idx);
  if (B * S == 0) return;
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "sparse_mapping", [&] {
    gather_kernel<scalar_t><<<grid_for(B * S), 256>>>(x.data<scalar_t>(), idx.data<int32_t>(),
                                                      c.out->data<scalar_t>(), B, F, S);
  });
  DIFFLUT_CUDA_LAUNCH_CHECK();
  c.saved.push_back(idx);  // keeps the index alive until the launch has read it
}

void sparse_mapping_backward_cuda(OpCall& c) {
  const Tensor& x = *c.in[0];
  const Tensor& w = *c.in[1];
  const Tensor& g = *c.grad_out;
  const int64_t B = x.size(0), F = x.size(1), S = w.size(0), C = w.size(1);
  const Tensor& cand = c.attrs.tensors.at(0);
  const Tensor& offsets = c.attrs.tensors.at(1);
  const Tensor& positions = c.attrs.tensors.at(2);
  const double tau = c.attrs.floats.at(0);
  DIFFLUT_CHECK(!c.grad_in[1] || c.grad_in[1]->defined(),
                "sparse_mapping: W has a fused update (custom_update), which runs on the CPU only; "
                "build the layer with fused_update = false on CUDA");
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "sparse_mapping", [&] {
    using T = scalar_t;
    if (c.grad_in[1] && S * C > 0) {
      dw_kernel<T><<<grid_for(S * C), 256>>>(x.data<T>(), g.data<T>(), cand.data<int32_t>(),
                                             c.grad_in[1]->data<T>(), B, F, S, C);
      DIFFLUT_CUDA_LAUNCH_CHECK();
    }
    if (c.grad_in[0] && B * F > 0) {
      Tensor p = Tensor::empty({S, C}, w.dtype(), w.device());
      if (S > 0) {
        softmax_kernel<T>
            <<<grid_for(S), 256>>>(w.data<T>(), p.data<T>(), S, C, static_cast<T>(tau));
        DIFFLUT_CUDA_LAUNCH_CHECK();
      }
      Tensor slot = Tensor::empty({S * C}, DType::i32, w.device());
      Tensor weight = Tensor::empty({S * C}, w.dtype(), w.device());
      if (S * C > 0) {
        csr_weights_kernel<T><<<grid_for(S * C), 256>>>(p.data<T>(), positions.data<int32_t>(),
                                                        slot.data<int32_t>(), weight.data<T>(),
                                                        S * C, C);
        DIFFLUT_CUDA_LAUNCH_CHECK();
      }
      dx_kernel<T><<<grid_for(B * F), 256>>>(g.data<T>(), slot.data<int32_t>(), weight.data<T>(),
                                             offsets.data<int32_t>(), c.grad_in[0]->data<T>(), B, F,
                                             S);
      DIFFLUT_CUDA_LAUNCH_CHECK();
      // Freed with the tape, after the kernels that read them.
      c.saved.push_back(p);
      c.saved.push_back(slot);
      c.saved.push_back(weight);
    }
  });
}

}  // namespace difflut
