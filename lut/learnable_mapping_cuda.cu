// CUDA kernels of the learnable mapping: column argmax, the gather forward, the dense dW, the
// sparse-softmax dx, and the fused "dW + optimizer step + next argmax" pass.
//
// Layout: one thread per column s (warps coalesce over s), looping over rows i. A column's rows are
// split into contiguous row groups (grid.y) and, inside a block, into one contiguous range per warp,
// so enough warps are in flight; each range yields a partial argmax and the partials are reduced
// in row order with a strict >, which keeps the first-index tie rule. No atomics anywhere: every
// output has one owner and a fixed reduction order, so results are bit-reproducible.
#include <algorithm>

#include "autograd/ops/matmul/cublas_handle.h"
#include "lut/learnable_mapping.h"
#include "lut/learnable_mapping_kernels.h"
#include "lut/learnable_mapping_math.h"
#include "tensor/cuda_utils.h"

namespace difflut {

namespace {

constexpr int kWarps = 8;  // warps per block of the fused pass (one 32-column tile)
constexpr int kTile = 32;  // columns per block of the fused pass
constexpr int kChunk = 4;  // samples per table chunk on the GPU (16-entry tables)
constexpr int kEntries = 1 << kChunk;
// Shared memory the fused pass may use for its tables (opt-in above 48 KiB; sm_90 allows 227 KiB).
constexpr size_t kMaxTableSmem = 200 * 1024;

// Row groups for a pass over [F, S] with one thread per column: enough blocks to fill the GPU,
// at least 64 rows per group.
int row_groups(int64_t F, int64_t column_blocks, int64_t target_blocks) {
  int64_t rg = (target_blocks + column_blocks - 1) / std::max<int64_t>(column_blocks, 1);
  rg = std::min<int64_t>(rg, std::max<int64_t>(F / 64, 1));
  return static_cast<int>(std::max<int64_t>(rg, 1));
}

// The argmax rule of the CPU (start at row 0, replace on strict >) split over ranges: the first
// row of a range is taken unless it is NaN (row 0 always is), so merging ranges in order with a
// strict > reproduces the sequential result.
template <class T>
__device__ __forceinline__ void argmax_step(T v, int i, T& best, int& bi) {
  const bool take = bi < 0 ? (i == 0 || v == v) : (v > best);
  if (take) {
    best = v;
    bi = i;
  }
}

template <class T>
__device__ __forceinline__ void argmax_merge(T v, int i, T& best, int& bi) {
  if (i >= 0 && (bi < 0 || v > best)) {
    best = v;
    bi = i;
  }
}

// ---- argmax -----------------------------------------------------------------------------------
template <class T>
__global__ void argmax_partial_kernel(const T* w,  // [F, S]
                                      T* pbest,    // [RG, S] out
                                      int* pidx,   // [RG, S] out (-1: empty range)
                                      long long F, long long S, long long rows_per_group) {
  const long long s = blockIdx.x * (long long)blockDim.x + threadIdx.x;
  if (s >= S) return;
  const long long i0 = blockIdx.y * rows_per_group;
  const long long i1 = min(F, i0 + rows_per_group);
  T best = T(0);
  int bi = -1;
  for (long long i = i0; i < i1; ++i) argmax_step(w[i * S + s], static_cast<int>(i), best, bi);
  pbest[blockIdx.y * S + s] = best;
  pidx[blockIdx.y * S + s] = bi;
}

template <class T>
__global__ void argmax_reduce_kernel(const T* pbest,   // [RG, S]
                                     const int* pidx,  // [RG, S]
                                     int* idx,         // [S] out
                                     long long S, int RG) {
  const long long s = blockIdx.x * (long long)blockDim.x + threadIdx.x;
  if (s >= S) return;
  T best = T(0);
  int bi = -1;
  for (int r = 0; r < RG; ++r) argmax_merge(pbest[r * S + s], pidx[r * S + s], best, bi);
  idx[s] = bi < 0 ? 0 : bi;
}

template <class T>
void argmax_cuda_t(const T* w, int32_t* idx, int64_t F, int64_t S) {
  const int64_t col_blocks = (S + 255) / 256;
  const int RG = row_groups(F, col_blocks, 1024);
  const int64_t rpg = (F + RG - 1) / RG;
  Tensor pbest = Tensor::empty({RG, S}, dtype_of<T>, Device::cuda);
  Tensor pidx = Tensor::empty({RG, S}, DType::i32, Device::cuda);
  argmax_partial_kernel<T><<<dim3(static_cast<unsigned>(col_blocks), RG), 256>>>(
      w, pbest.data<T>(), pidx.data<int32_t>(), F, S, rpg);
  DIFFLUT_CUDA_LAUNCH_CHECK();
  argmax_reduce_kernel<T><<<grid_for(S), 256>>>(pbest.data<T>(), pidx.data<int32_t>(), idx, S, RG);
  DIFFLUT_CUDA_LAUNCH_CHECK();
}

// ---- forward gather ---------------------------------------------------------------------------
template <class T>
__global__ void gather_kernel(const T* x,      // [B, F]
                              const int* idx,  // [S]
                              T* out,          // [B, S]
                              long long B, long long F, long long S) {
  const long long n = B * S;
  for (long long t = blockIdx.x * (long long)blockDim.x + threadIdx.x; t < n;
       t += (long long)gridDim.x * blockDim.x) {
    const long long b = t / S, s = t - b * S;
    out[t] = x[b * F + idx[s]];
  }
}

// ---- dense dW (standard path) -----------------------------------------------------------------
// dW[i, s] += sum_b (2 x[b, i] - 1) g[b, s], b in order (one thread per element).
template <class T>
__global__ void dense_dw_kernel(const T* x,  // [B, F]
                                const T* g,  // [B, S]
                                T* dw,       // [F, S] accumulated
                                long long B, long long F, long long S) {
  const long long s = blockIdx.x * (long long)blockDim.x + threadIdx.x;
  if (s >= S) return;
  for (long long i = blockIdx.y; i < F; i += gridDim.y) {
    T acc = T(0);
    for (long long b = 0; b < B; ++b) acc += (T(2) * x[b * F + i] - T(1)) * g[b * S + s];
    dw[i * S + s] += acc;
  }
}

// ---- sparse-softmax dx ------------------------------------------------------------------------
// Z[s] = sum over the rows within the cutoff of exp((W[i, s] - max_s) / tau), rows in order.
template <class T>
__global__ void softmax_z_kernel(const T* w,      // [F, S]
                                 const int* idx,  // [S]
                                 T* z,            // [S] out
                                 T* wmax,         // [S] out
                                 long long F, long long S, T tau) {
  const long long s = blockIdx.x * (long long)blockDim.x + threadIdx.x;
  if (s >= S) return;
  const T mx = w[static_cast<long long>(idx[s]) * S + s];
  const T cutoff = SoftmaxCutoff<T>::value;
  T acc = T(0);
  for (long long i = 0; i < F; ++i) {
    const T d = (w[i * S + s] - mx) / tau;
    if (d >= -cutoff) acc += exp(d);
  }
  z[s] = acc;
  wmax[s] = mx;
}

// One warp per row i: how many columns keep row i.
template <class T>
__global__ void softmax_count_kernel(const T* w,         // [F, S]
                                     const T* wmax,      // [S]
                                     long long* counts,  // [F] out
                                     long long F, long long S, T tau) {
  const long long i = blockIdx.x * (long long)(blockDim.x / 32) + threadIdx.x / 32;
  const int lane = threadIdx.x & 31;
  if (i >= F) return;
  const T cutoff = SoftmaxCutoff<T>::value;
  long long c = 0;
  for (long long s = lane; s < S; s += 32) c += (w[i * S + s] - wmax[s]) / tau >= -cutoff;
  for (int o = 16; o > 0; o >>= 1) c += __shfl_down_sync(0xffffffffu, c, o);
  if (lane == 0) counts[i] = c;
}

// offsets[0] = 0, offsets[i + 1] = offsets[i] + counts[i] (F is small: one thread, in order).
__global__ void exclusive_scan_kernel(const long long* counts,  // [F]
                                      long long* offsets,       // [F + 1] out
                                      long long F) {
  long long acc = 0;
  offsets[0] = 0;
  for (long long i = 0; i < F; ++i) {
    acc += counts[i];
    offsets[i + 1] = acc;
  }
}

// One warp per row i: the kept columns of row i in increasing s with their softmax weights.
template <class T>
__global__ void softmax_fill_kernel(const T* w,                // [F, S]
                                    const T* wmax,             // [S]
                                    const T* z,                // [S]
                                    const long long* offsets,  // [F + 1]
                                    int* es,                   // [nnz] out: column
                                    T* ep,                     // [nnz] out: weight
                                    long long F, long long S, T tau) {
  const long long i = blockIdx.x * (long long)(blockDim.x / 32) + threadIdx.x / 32;
  const int lane = threadIdx.x & 31;
  if (i >= F) return;
  const T cutoff = SoftmaxCutoff<T>::value;
  long long pos = offsets[i];
  for (long long s0 = 0; s0 < S; s0 += 32) {
    const long long s = s0 + lane;
    T d = T(0);
    bool keep = false;
    if (s < S) {
      d = (w[i * S + s] - wmax[s]) / tau;
      keep = d >= -cutoff;
    }
    const unsigned mask = __ballot_sync(0xffffffffu, keep);
    if (keep) {
      const long long p = pos + __popc(mask & ((1u << lane) - 1u));
      es[p] = static_cast<int>(s);
      ep[p] = exp(d) / z[s];
    }
    pos += __popc(mask);
  }
}

// dx[b, i] += sum over row i's entries (in s order) of p * g[b, s]; one thread per (i, b).
template <class T>
__global__ void sparse_dx_kernel(const long long* offsets,  // [F + 1]
                                 const int* es,             // [nnz]
                                 const T* ep,               // [nnz]
                                 const T* g,                // [B, S]
                                 T* dx,                     // [B, F] accumulated
                                 long long B, long long F, long long S) {
  const long long n = F * B;
  for (long long t = blockIdx.x * (long long)blockDim.x + threadIdx.x; t < n;
       t += (long long)gridDim.x * blockDim.x) {
    const long long i = t / B, b = t - i * B;
    T acc = T(0);
    for (long long e = offsets[i]; e < offsets[i + 1]; ++e) acc += ep[e] * g[b * S + es[e]];
    dx[b * F + i] += acc;
  }
}

// ---- the fused update -------------------------------------------------------------------------
// masks[i, c] = bits of x[4c .. 4c + 3, i]; nonbinary[0] = 1 if any x is not exactly 0 or 1 (every
// writer stores the same value, so the race is benign and the result deterministic).
template <class T>
__global__ void masks_kernel(const T* x,            // [B, F]
                             unsigned char* masks,  // [F, C] out
                             int* nonbinary,        // [1] out (pre-zeroed)
                             long long B, long long F, long long C) {
  const long long n = F * C;
  for (long long t = blockIdx.x * (long long)blockDim.x + threadIdx.x; t < n;
       t += (long long)gridDim.x * blockDim.x) {
    const long long i = t / C, c = t - i * C;
    unsigned byte = 0;
    bool bad = false;
    for (int j = 0; j < kChunk; ++j) {
      const long long b = kChunk * c + j;
      if (b >= B) break;
      const T v = x[b * F + i];
      bad = bad || !(v == T(0) || v == T(1));
      byte |= (v != T(0) ? 1u : 0u) << j;
    }
    masks[t] = static_cast<unsigned char>(byte);
    if (bad) *nonbinary = 1;
  }
}

template <class T>
__global__ void colsum_kernel(const T* g,  // [B, S]
                              T* colsum,   // [S] out
                              long long B, long long S) {
  const long long s = blockIdx.x * (long long)blockDim.x + threadIdx.x;
  if (s >= S) return;
  T acc = T(0);
  for (long long b = 0; b < B; ++b) acc += g[b * S + s];
  colsum[s] = acc;
}

enum OptKind : int { kAdam = 0, kSgdMomentum = 1, kSgd = 2 };

// One block = 32 columns x 8 warps; grid.y = row groups. With tables, the block first builds, in
// shared memory, for each chunk c of 4 samples the 16 partial sums of g over its columns
// (table[c][v][lane] = table[c][v & (v - 1)][lane] + g[4c + ctz(v), s]); row i's masked sum is then
// sum_c table[c][masks[i, c]][lane] (B / 4 conflict-free shared loads). Non-binary x (flag set on
// the device) and batches too large for shared memory use the exact dense sum over b instead.
template <class T, int kOpt, bool kTables>
__global__ void __launch_bounds__(kTile* kWarps)
    fused_update_kernel(T* w,                        // [F, S]
                        T* m,                        // [F, S] or null
                        T* v,                        // [F, S] or null
                        const T* g,                  // [B, S] (null when B == 0)
                        const T* x,                  // [B, F] (null when B == 0)
                        const unsigned char* masks,  // [F, C]
                        const T* colsum,             // [S]
                        const int* nonbinary,        // [1]
                        const T* xtg,                // [F, S] 2·xᵀg (cuBLAS) or null
                        T* pbest,                    // [RG, S] out
                        int* pidx,                   // [RG, S] out
                        long long F, long long S, long long B, long long C,
                        long long rows_per_group, MappingOptCoeffs<T> co) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T* tab = reinterpret_cast<T*>(smem_raw);  // [C, 16, 32]
  __shared__ T wbest[kWarps][kTile];
  __shared__ int widx[kWarps][kTile];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const long long s = blockIdx.x * (long long)kTile + lane;
  const bool valid = s < S;
  const bool use_tables = kTables && B > 0 && *nonbinary == 0;
  if (use_tables) {
    for (long long c = warp; c < C; c += kWarps) {
      T* tc = tab + c * kEntries * kTile;
      tc[lane] = T(0);
      for (int e = 1; e < kEntries; ++e) {
        const long long b = kChunk * c + __ffs(e) - 1;
        const T add = (valid && b < B) ? g[b * S + s] : T(0);
        tc[e * kTile + lane] = tc[(e & (e - 1)) * kTile + lane] + add;
      }
    }
  }
  __syncthreads();

  const long long g0 = blockIdx.y * rows_per_group;
  const long long g1 = min(F, g0 + rows_per_group);
  const long long per_warp = (g1 - g0 + kWarps - 1) / kWarps;
  const long long i0 = g0 + warp * per_warp;
  const long long i1 = min(g1, i0 + per_warp);
  T best = T(0);
  int bi = -1;
  if (valid) {
    const T cs = B > 0 ? colsum[s] : T(0);
    for (long long i = i0; i < i1; ++i) {
      T grad = T(0);
      if (use_tables) {
        const unsigned char* mk = masks + i * C;
        T a = tab[mk[0] * kTile + lane];
        for (long long c = 1; c < C; ++c) a += tab[(c * kEntries + mk[c]) * kTile + lane];
        grad = T(2) * a - cs;
      } else if (xtg) {
        grad = xtg[i * S + s] - cs;  // Σ_b (2x − 1)·g = 2·xᵀg − Σ_b g, for any x
      } else {
        for (long long b = 0; b < B; ++b) grad += (T(2) * x[b * F + i] - T(1)) * g[b * S + s];
      }
      const long long k = i * S + s;
      T p;
      if constexpr (kOpt == kAdam) {
        p = lm_adam(w[k], grad, m[k], v[k], co);
      } else if constexpr (kOpt == kSgdMomentum) {
        p = lm_sgd(w[k], grad, m[k], co);
      } else {
        T unused = T(0);
        p = lm_sgd(w[k], grad, unused, co);
      }
      w[k] = p;
      argmax_step(p, static_cast<int>(i), best, bi);
    }
  }
  wbest[warp][lane] = best;
  widx[warp][lane] = bi;
  __syncthreads();
  if (warp == 0 && valid) {
    T rb = T(0);
    int ri = -1;
    for (int k = 0; k < kWarps; ++k) argmax_merge(wbest[k][lane], widx[k][lane], rb, ri);
    pbest[blockIdx.y * S + s] = rb;
    pidx[blockIdx.y * S + s] = ri;
  }
}

template <class T, int kOpt, bool kTables>
void launch_fused(dim3 grid, size_t smem, T* w, T* m, T* v, const T* g, const T* x,
                  const unsigned char* masks, const T* colsum, const int* nonbinary, const T* xtg,
                  T* pbest, int* pidx, int64_t F, int64_t S, int64_t B, int64_t C, int64_t rpg,
                  const MappingOptCoeffs<T>& co) {
  auto kernel = fused_update_kernel<T, kOpt, kTables>;
  if (smem > 48 * 1024) {
    DIFFLUT_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                            static_cast<int>(smem)));
  }
  kernel<<<grid, kTile * kWarps, smem>>>(w, m, v, g, x, masks, colsum, nonbinary, xtg, pbest, pidx,
                                         F, S, B, C, rpg, co);
  DIFFLUT_CUDA_LAUNCH_CHECK();
}

template <class T, bool kTables>
void launch_fused_opt(const MappingOptCoeffs<T>& co, dim3 grid, size_t smem, T* w, T* m, T* v,
                      const T* g, const T* x, const unsigned char* masks, const T* colsum,
                      const int* nonbinary, const T* xtg, T* pbest, int* pidx, int64_t F, int64_t S,
                      int64_t B, int64_t C, int64_t rpg) {
  if (co.adam) {
    launch_fused<T, kAdam, kTables>(grid, smem, w, m, v, g, x, masks, colsum, nonbinary, xtg, pbest,
                                    pidx, F, S, B, C, rpg, co);
  } else if (co.has_momentum) {
    launch_fused<T, kSgdMomentum, kTables>(grid, smem, w, m, v, g, x, masks, colsum, nonbinary, xtg,
                                           pbest, pidx, F, S, B, C, rpg, co);
  } else {
    launch_fused<T, kSgd, kTables>(grid, smem, w, m, v, g, x, masks, colsum, nonbinary, xtg, pbest,
                                   pidx, F, S, B, C, rpg, co);
  }
}

// out [F, S] row-major = 2 · xᵀ g for x [B, F], g [B, S] row-major. In cuBLAS's column-major view
// out is Sx F = gᵀ (S x B, ld S) · x (B x F: the F x B column-major x, transposed; ld F).
void xtg_gemm(const float* g, const float* x, float* out, int64_t F, int64_t S, int64_t B) {
  const float alpha = 2.0f, beta = 0.0f;
  DIFFLUT_CUBLAS_CHECK(cublasSgemm(cublas_handle(), CUBLAS_OP_N, CUBLAS_OP_T, (int)S, (int)F,
                                   (int)B, &alpha, g, (int)S, x, (int)F, &beta, out, (int)S));
}
void xtg_gemm(const double* g, const double* x, double* out, int64_t F, int64_t S, int64_t B) {
  const double alpha = 2.0, beta = 0.0;
  DIFFLUT_CUBLAS_CHECK(cublasDgemm(cublas_handle(), CUBLAS_OP_N, CUBLAS_OP_T, (int)S, (int)F,
                                   (int)B, &alpha, g, (int)S, x, (int)F, &beta, out, (int)S));
}

// ---- unfused optimizer pass (baseline) ----------------------------------------------------------
template <class T, int kOpt>
__global__ void optimizer_pass_kernel(T* w,         // [n]
                                      const T* dw,  // [n]
                                      T* m,         // [n] or null
                                      T* v,         // [n] or null
                                      long long n, MappingOptCoeffs<T> co) {
  for (long long k = blockIdx.x * (long long)blockDim.x + threadIdx.x; k < n;
       k += (long long)gridDim.x * blockDim.x) {
    if constexpr (kOpt == kAdam) {
      w[k] = lm_adam(w[k], dw[k], m[k], v[k], co);
    } else if constexpr (kOpt == kSgdMomentum) {
      w[k] = lm_sgd(w[k], dw[k], m[k], co);
    } else {
      T unused = T(0);
      w[k] = lm_sgd(w[k], dw[k], unused, co);
    }
  }
}

}  // namespace

void learnable_mapping_argmax_cuda(const Tensor& w, Tensor& idx) {
  const int64_t F = w.size(0), S = w.size(1);
  if (S == 0) return;
  DIFFLUT_DISPATCH_FLOAT(w.dtype(), "learnable_mapping",
                         [&] { argmax_cuda_t(w.data<scalar_t>(), idx.data<int32_t>(), F, S); });
}

void learnable_mapping_forward_cuda(OpCall& c) {
  const Tensor& x = *c.in[0];
  const Tensor& w = *c.in[1];
  Tensor idx = learnable_mapping_forward_index(w, learnable_mapping_state_of(c));
  const int64_t B = x.size(0), F = x.size(1), S = w.size(1);
  if (B * S > 0) {
    DIFFLUT_DISPATCH_FLOAT(x.dtype(), "learnable_mapping", [&] {
      gather_kernel<scalar_t><<<grid_for(B * S), 256>>>(x.data<scalar_t>(), idx.data<int32_t>(),
                                                        c.out->data<scalar_t>(), B, F, S);
    });
    DIFFLUT_CUDA_LAUNCH_CHECK();
  }
  c.saved.push_back(idx);
}

void learnable_mapping_backward_cuda(OpCall& c) {
  const Tensor& x = *c.in[0];
  const Tensor& w = *c.in[1];
  const Tensor& g = *c.grad_out;
  const int64_t B = x.size(0), F = x.size(1), S = w.size(1);
  if (c.grad_in[1]) {
    if (!c.grad_in[1]->defined()) {
      learnable_mapping_stash(c);
    } else if (B > 0 && S > 0) {
      DIFFLUT_DISPATCH_FLOAT(x.dtype(), "learnable_mapping", [&] {
        const dim3 grid(static_cast<unsigned>((S + 255) / 256),
                        static_cast<unsigned>(std::min<int64_t>(F, 65535)));
        dense_dw_kernel<scalar_t><<<grid, 256>>>(x.data<scalar_t>(), g.data<scalar_t>(),
                                                 c.grad_in[1]->data<scalar_t>(), B, F, S);
      });
      DIFFLUT_CUDA_LAUNCH_CHECK();
    }
  }
  if (c.grad_in[0] && B > 0 && S > 0) {
    DIFFLUT_ASSERT(!c.saved.empty());
    const int32_t* ip = c.saved[0].data<int32_t>();
    DIFFLUT_DISPATCH_FLOAT(x.dtype(), "learnable_mapping", [&] {
      using T = scalar_t;
      const T tau = static_cast<T>(c.attrs.floats[0]);
      const T* wp = w.data<T>();
      Tensor z = Tensor::empty({S}, x.dtype(), Device::cuda);
      Tensor wmax = Tensor::empty({S}, x.dtype(), Device::cuda);
      softmax_z_kernel<T><<<grid_for(S), 256>>>(wp, ip, z.data<T>(), wmax.data<T>(), F, S, tau);
      DIFFLUT_CUDA_LAUNCH_CHECK();
      Tensor counts = Tensor::empty({F}, DType::i64, Device::cuda);
      Tensor offsets = Tensor::empty({F + 1}, DType::i64, Device::cuda);
      const unsigned row_blocks = static_cast<unsigned>((F + 7) / 8);
      softmax_count_kernel<T><<<row_blocks, 256>>>(
          wp, wmax.data<T>(), reinterpret_cast<long long*>(counts.data<int64_t>()), F, S, tau);
      DIFFLUT_CUDA_LAUNCH_CHECK();
      long long* off = reinterpret_cast<long long*>(offsets.data<int64_t>());
      exclusive_scan_kernel<<<1, 1>>>(reinterpret_cast<const long long*>(counts.data<int64_t>()),
                                      off, F);
      DIFFLUT_CUDA_LAUNCH_CHECK();
      // The entry count sizes the next buffers: the one host read of this backward.
      long long nnz = 0;
      cuda_memcpy_d2h(&nnz, off + F, sizeof(nnz));
      Tensor es = Tensor::empty({std::max<long long>(nnz, 1)}, DType::i32, Device::cuda);
      Tensor ep = Tensor::empty({std::max<long long>(nnz, 1)}, x.dtype(), Device::cuda);
      softmax_fill_kernel<T><<<row_blocks, 256>>>(wp, wmax.data<T>(), z.data<T>(), off,
                                                  es.data<int32_t>(), ep.data<T>(), F, S, tau);
      DIFFLUT_CUDA_LAUNCH_CHECK();
      sparse_dx_kernel<T><<<grid_for(F * B), 256>>>(off, es.data<int32_t>(), ep.data<T>(),
                                                    g.data<T>(), c.grad_in[0]->data<T>(), B, F, S);
      DIFFLUT_CUDA_LAUNCH_CHECK();
    });
  }
}

void learnable_mapping_update_cuda(Tensor& w, Tensor* m, Tensor* v, const Tensor* x,
                                   const Tensor* g, const OptimizerStep& step, double lo, double hi,
                                   Tensor& idx) {
  const int64_t F = w.size(0), S = w.size(1);
  const int64_t B = x ? x->size(0) : 0;
  if (S == 0) return;
  DIFFLUT_DISPATCH_FLOAT(w.dtype(), "learnable_mapping", [&] {
    using T = scalar_t;
    const MappingOptCoeffs<T> co = make_mapping_opt_coeffs<T>(step, lo, hi);
    const int64_t C = (B + kChunk - 1) / kChunk;
    Tensor nonbinary = Tensor::zeros({1}, DType::i32, Device::cuda);
    Tensor masks = Tensor::empty({std::max<int64_t>(F * C, 1)}, DType::u8, Device::cuda);
    Tensor colsum = Tensor::zeros({S}, w.dtype(), Device::cuda);
    const T* gp = B > 0 ? g->data<T>() : nullptr;
    const T* xp = B > 0 ? x->data<T>() : nullptr;
    if (B > 0) {
      masks_kernel<T>
          <<<grid_for(F * C), 256>>>(xp, masks.data<uint8_t>(), nonbinary.data<int32_t>(), B, F, C);
      DIFFLUT_CUDA_LAUNCH_CHECK();
      colsum_kernel<T><<<grid_for(S), 256>>>(gp, colsum.data<T>(), B, S);
      DIFFLUT_CUDA_LAUNCH_CHECK();
    }
    const int64_t col_blocks = (S + kTile - 1) / kTile;
    const int RG = row_groups(F, col_blocks, 1024);
    const int64_t rpg = (F + RG - 1) / RG;
    Tensor pbest = Tensor::empty({RG, S}, w.dtype(), Device::cuda);
    Tensor pidx = Tensor::empty({RG, S}, DType::i32, Device::cuda);
    const dim3 grid(static_cast<unsigned>(col_blocks), static_cast<unsigned>(RG));
    const size_t smem = static_cast<size_t>(C) * kEntries * kTile * sizeof(T);
    T* mp = m ? m->data<T>() : nullptr;
    T* vp = v ? v->data<T>() : nullptr;
    if (B > 0 && smem <= kMaxTableSmem) {
      launch_fused_opt<T, true>(co, grid, smem, w.data<T>(), mp, vp, gp, xp, masks.data<uint8_t>(),
                                colsum.data<T>(), nonbinary.data<int32_t>(), nullptr,
                                pbest.data<T>(), pidx.data<int32_t>(), F, S, B, C, rpg);
    } else {
      // Batches too large for the shared-memory tables: 2·xᵀg as one cuBLAS product (the tensor
      // cores' job, ~1 ms for the default model at B = 1024 instead of B multiply-adds per weight
      // in the pass), then the same fused update reading it. One extra [F, S] buffer.
      Tensor xtg;
      if (B > 0) {
        xtg = Tensor::empty({F, S}, w.dtype(), Device::cuda);
        xtg_gemm(gp, xp, xtg.data<T>(), F, S, B);
      }
      launch_fused_opt<T, false>(co, grid, 0, w.data<T>(), mp, vp, gp, xp, masks.data<uint8_t>(),
                                 colsum.data<T>(), nonbinary.data<int32_t>(),
                                 B > 0 ? xtg.data<T>() : nullptr, pbest.data<T>(),
                                 pidx.data<int32_t>(), F, S, B, C, rpg);
    }
    argmax_reduce_kernel<T>
        <<<grid_for(S), 256>>>(pbest.data<T>(), pidx.data<int32_t>(), idx.data<int32_t>(), S, RG);
    DIFFLUT_CUDA_LAUNCH_CHECK();
  });
}

void learnable_mapping_optimizer_pass_cuda(Tensor& w, const Tensor& dw, Tensor* m, Tensor* v,
                                           const OptimizerStep& step, double lo, double hi) {
  const long long n = w.numel();
  if (n == 0) return;
  DIFFLUT_DISPATCH_FLOAT(w.dtype(), "learnable_mapping", [&] {
    using T = scalar_t;
    const MappingOptCoeffs<T> co = make_mapping_opt_coeffs<T>(step, lo, hi);
    T* mp = m ? m->data<T>() : nullptr;
    T* vp = v ? v->data<T>() : nullptr;
    if (co.adam) {
      optimizer_pass_kernel<T, kAdam>
          <<<grid_for(n), 256>>>(w.data<T>(), dw.data<T>(), mp, vp, n, co);
    } else if (co.has_momentum) {
      optimizer_pass_kernel<T, kSgdMomentum>
          <<<grid_for(n), 256>>>(w.data<T>(), dw.data<T>(), mp, vp, n, co);
    } else {
      optimizer_pass_kernel<T, kSgd>
          <<<grid_for(n), 256>>>(w.data<T>(), dw.data<T>(), mp, vp, n, co);
    }
  });
  DIFFLUT_CUDA_LAUNCH_CHECK();
}

}  // namespace difflut
