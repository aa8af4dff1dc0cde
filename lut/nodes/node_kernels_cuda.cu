// CUDA kernels of the built-in node ops: the CPU kernels' generic implementation with one thread
// per output element (forward), per (node, address) (truth tables), and per (chunk of kGradChunk
// samples, node) (backward); one launch per kernel per layer, never one per node. Per-sample
// scratch lives in a fixed-size local array sized for k <= 6 or k <= 8 (two instantiations for the
// types whose scratch grows with k). Parameter gradients: each (chunk, node) thread sums its
// samples in ascending order into its own double row, then one thread per node adds the chunk rows
// in order and applies the type's post step. No atomics, so runs are bit-reproducible.
#include <cstdint>
#include <type_traits>

#include "lut/nodes/node_kernels.h"
#include "lut/nodes/node_math.h"
#include "tensor/cuda_utils.h"

namespace difflut::nodes {

namespace {

template <class M, class T>
__global__ void node_prep_kernel(const T* p,  // [N, P]
                                 T* q,        // [N, Q] out
                                 long long N, int P, int Q, NodeConsts c) {
  for (long long j = blockIdx.x * (long long)blockDim.x + threadIdx.x; j < N;
       j += (long long)gridDim.x * blockDim.x)
    M::prep(p + j * P, q + j * Q, c);
}

template <class M, class T, int KMax>
__global__ void node_train_forward_kernel(const T* x,  // [B, N*k]
                                          const T* p,  // [N, P]
                                          const T* q,  // [N, Q] or null (Q = 0)
                                          T* out,      // [B, N]
                                          long long B, long long N, int P, int Q, NodeConsts c) {
  T s[M::scratch_size(KMax)];
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < B * N;
       i += (long long)gridDim.x * blockDim.x) {
    const long long j = i % N;
    out[i] = M::forward(x + i * c.k, p + j * P, Q > 0 ? q + j * Q : nullptr, c, s);
  }
}

template <class M, class T, int KMax>
__global__ void node_truth_table_kernel(const T* p,   // [N, P]
                                        uint8_t* tt,  // [N, 2^k] out
                                        long long N, int P, NodeConsts c) {
  T s[M::scratch_size(KMax)];
  const long long total = N << c.k;
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total;
       i += (long long)gridDim.x * blockDim.x) {
    const long long j = i >> c.k;
    const unsigned a = static_cast<unsigned>(i & ((1LL << c.k) - 1));
    tt[i] = M::corner_logit(a, p + j * P, c, s) >= T(0) ? 1 : 0;
  }
}

template <class T>
__global__ void node_eval_lookup_kernel(const T* x,         // [B, N*k]
                                        const uint8_t* tt,  // [N, 2^k]
                                        T* out,             // [B, N]
                                        long long B, long long N, int k) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < B * N;
       i += (long long)gridDim.x * blockDim.x) {
    const long long j = i % N;
    out[i] = tt[(j << k) + node_address(x + i * k, k)] ? T(1) : T(0);
  }
}

template <class M, class T, int KMax>
__global__ void node_backward_kernel(const T* x,   // [B, N*k]
                                     const T* p,   // [N, P]
                                     const T* q,   // [N, Q] or null
                                     const T* g,   // [B, N]
                                     T* gx,        // [B, N*k] accumulated, or null
                                     double* acc,  // [chunks, N, P] partial sums out, or null
                                     long long B, long long N, int P, int Q, NodeConsts c) {
  T s[M::scratch_size(KMax)];
  T dx[kMaxK];
  const long long chunks = (B + kGradChunk - 1) / kGradChunk;
  for (long long t = blockIdx.x * (long long)blockDim.x + threadIdx.x; t < chunks * N;
       t += (long long)gridDim.x * blockDim.x) {
    const long long ch = t / N, j = t % N;
    double* row = acc ? acc + t * P : nullptr;  // t = ch*N + j
    if (row)
      for (int i = 0; i < P; ++i) row[i] = 0.0;
    const long long b_end = (ch + 1) * kGradChunk < B ? (ch + 1) * kGradChunk : B;
    for (long long b = ch * kGradChunk; b < b_end; ++b) {
      const long long i = b * N + j;
      for (int l = 0; l < c.k; ++l) dx[l] = T(0);
      M::backward(x + i * c.k, p + j * P, Q > 0 ? q + j * Q : nullptr, c, g[i], dx, row, s);
      if (gx)
        for (int l = 0; l < c.k; ++l) gx[i * c.k + l] += dx[l];
    }
  }
}

template <class M, class T>
__global__ void node_grad_reduce_kernel(const T* p,   // [N, P]
                                        const T* q,   // [N, Q] or null
                                        double* acc,  // [chunks, N, P] partial sums (row 0 reused)
                                        T* gp,        // [N, P] accumulated
                                        long long N, int P, int Q, long long chunks, NodeConsts c) {
  for (long long j = blockIdx.x * (long long)blockDim.x + threadIdx.x; j < N;
       j += (long long)gridDim.x * blockDim.x) {
    double* row = acc + j * P;
    for (long long ch = 1; ch < chunks; ++ch) {
      const double* other = acc + (ch * N + j) * P;
      for (int i = 0; i < P; ++i) row[i] += other[i];
    }
    M::post(p + j * P, Q > 0 ? q + j * Q : nullptr, c, row);
    for (int i = 0; i < P; ++i) gp[j * P + i] += static_cast<T>(row[i]);
  }
}

// Calls f(std::integral_constant<int, KMax>) with the scratch bound for k (one bound when the
// type's scratch does not depend on k).
template <class M, class F>
void with_kmax(int k, F&& f) {
  if constexpr (M::scratch_size(6) == M::scratch_size(kMaxK)) {
    f(std::integral_constant<int, kMaxK>{});
  } else {
    if (k <= 6)
      f(std::integral_constant<int, 6>{});
    else
      f(std::integral_constant<int, kMaxK>{});
  }
}

template <class M, class T>
Tensor prep_cuda(const T* p, long long N, int P, int Q, const NodeConsts& c, DType dt) {
  if (Q == 0) return Tensor();
  Tensor q = Tensor::empty({N, Q}, dt, Device::cuda);
  node_prep_kernel<M, T><<<grid_for(N), 256>>>(p, q.data<T>(), N, P, Q, c);
  DIFFLUT_CUDA_LAUNCH_CHECK();
  return q;
}

}  // namespace

void node_lut_forward_cuda(OpCall& call) {
  const NodeKind kind = node_kind_of(call.def->kind);
  const NodeConsts c = node_consts(kind, call.attrs);
  const bool training = call.attrs.ints[1] != 0;
  const long long B = call.in[0]->size(0), N = call.in[1]->size(0);
  if (B * N == 0) return;
  dispatch_node_math(kind, [&](auto m) {
    using M = decltype(m);
    const int P = c.num_params, Q = M::prep_size(c);
    DIFFLUT_DISPATCH_FLOAT(call.in[0]->dtype(), node_op_name(kind), [&] {
      using T = scalar_t;
      const T* x = call.in[0]->data<T>();
      const T* p = call.in[1]->data<T>();
      T* out = call.out->data<T>();
      with_kmax<M>(c.k, [&](auto kmax) {
        constexpr int KMax = decltype(kmax)::value;
        if (training) {
          Tensor q = prep_cuda<M, T>(p, N, P, Q, c, call.in[1]->dtype());
          node_train_forward_kernel<M, T, KMax>
              <<<grid_for(B * N), 256>>>(x, p, Q > 0 ? q.data<T>() : nullptr, out, B, N, P, Q, c);
          DIFFLUT_CUDA_LAUNCH_CHECK();
        } else {
          Tensor tt = Tensor::empty({N, 1LL << c.k}, DType::u8, Device::cuda);
          node_truth_table_kernel<M, T, KMax>
              <<<grid_for(N << c.k), 256>>>(p, tt.data<uint8_t>(), N, P, c);
          DIFFLUT_CUDA_LAUNCH_CHECK();
          node_eval_lookup_kernel<T>
              <<<grid_for(B * N), 256>>>(x, tt.data<uint8_t>(), out, B, N, c.k);
          DIFFLUT_CUDA_LAUNCH_CHECK();
        }
      });
    });
  });
}

void node_lut_backward_cuda(OpCall& call) {
  Tensor* gx_t = call.grad_in[0];
  Tensor* gp_t = call.grad_in[1];
  if (!gx_t && !gp_t) return;
  const NodeKind kind = node_kind_of(call.def->kind);
  const NodeConsts c = node_consts(kind, call.attrs);
  const long long B = call.in[0]->size(0), N = call.in[1]->size(0);
  if (B * N == 0) return;
  dispatch_node_math(kind, [&](auto m) {
    using M = decltype(m);
    const int P = c.num_params, Q = M::prep_size(c);
    DIFFLUT_DISPATCH_FLOAT(call.in[0]->dtype(), node_op_name(kind), [&] {
      using T = scalar_t;
      const T* x = call.in[0]->data<T>();
      const T* p = call.in[1]->data<T>();
      Tensor q = prep_cuda<M, T>(p, N, P, Q, c, call.in[1]->dtype());
      const T* qp = Q > 0 ? q.data<T>() : nullptr;
      const long long chunks = (B + kGradChunk - 1) / kGradChunk;
      Tensor acc;
      if (gp_t) acc = Tensor::empty({chunks, N, P}, DType::f64, Device::cuda);
      with_kmax<M>(c.k, [&](auto kmax) {
        constexpr int KMax = decltype(kmax)::value;
        node_backward_kernel<M, T, KMax><<<grid_for(chunks * N, 128), 128>>>(
            x, p, qp, call.grad_out->data<T>(), gx_t ? gx_t->data<T>() : nullptr,
            gp_t ? acc.data<double>() : nullptr, B, N, P, Q, c);
        DIFFLUT_CUDA_LAUNCH_CHECK();
      });
      if (gp_t) {
        node_grad_reduce_kernel<M, T><<<grid_for(N, 128), 128>>>(
            p, qp, acc.data<double>(), gp_t->data<T>(), N, P, Q, chunks, c);
        DIFFLUT_CUDA_LAUNCH_CHECK();
      }
    });
  });
}

}  // namespace difflut::nodes
