// CPU matmul: a packed, cache-blocked GEMM with a register-blocked micro-kernel, threaded over output
// tiles, and the matmul op's forward/backward built on it.
//
// The build compiles for baseline x86-64 (SSE2). On x86-64 with GCC/Clang the same template is also
// instantiated inside a function compiled for AVX2+FMA and picked at run time when the CPU has both;
// everything else (packing, blocking, order of summation within a build) is shared. The
// micro-kernel's accumulators use GCC/Clang vector extensions (lowered to whatever vector ISA the
// function is compiled for), which is what keeps them in registers; plain arrays were spilled.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

#include "autograd/ops/matmul/matmul_kernels.h"
#include "tensor/parallel.h"

#if defined(__GNUC__)
#define DIFFLUT_GEMM_INLINE inline __attribute__((always_inline))
#else
#define DIFFLUT_GEMM_INLINE inline
#endif
#if defined(__GNUC__) && defined(__x86_64__)
#define DIFFLUT_GEMM_HAS_AVX2 1
#endif

namespace difflut {
namespace {

// Blocking. A tile of C is kMC x kNC and is computed by one thread; k is walked in kKC slabs. The
// packed A block (kMC x kKC) and B panel (kKC x kNC) fit in a core's L2 together, and one NR-wide
// sliver of the B panel (kKC x NR) stays in L1 while the micro-kernel sweeps the A block.
// kMC/2 is a multiple of every MR and kNC/4 of every NR used below (tiles may be shrunk to
// those for parallelism).
constexpr int64_t kMC = 96;
constexpr int64_t kKC = 256;
constexpr int64_t kNC = 256;

std::atomic<bool> g_portable_only{false};

template <class T>
struct GemmArgs {
  bool trans_a, trans_b;
  int64_t M, N, K;
  const T* A;
  int64_t lda;
  const T* B;
  int64_t ldb;
  T* C;
  int64_t ldc;
  bool accumulate;
};

// Packs rows [i0, i0 + mc) x k [p0, p0 + kc) of op(A) into MR-row slivers, k-major inside a sliver:
// dst[s][p][i] = op(A)[i0 + s*MR + i][p0 + p]; rows past mc are zero.
template <class T, int MR>
DIFFLUT_GEMM_INLINE void pack_a(const GemmArgs<T>& g, int64_t i0, int64_t mc, int64_t p0,
                                int64_t kc, T* dst) {
  for (int64_t s = 0; s < mc; s += MR) {
    const int64_t rows = std::min<int64_t>(MR, mc - s);
    T* d = dst + s * kc;
    if (!g.trans_a) {
      for (int64_t i = 0; i < MR; ++i) {
        if (i < rows) {
          const T* src = g.A + (i0 + s + i) * g.lda + p0;
          for (int64_t p = 0; p < kc; ++p) d[p * MR + i] = src[p];
        } else {
          for (int64_t p = 0; p < kc; ++p) d[p * MR + i] = T(0);
        }
      }
    } else {
      for (int64_t p = 0; p < kc; ++p) {
        const T* src = g.A + (p0 + p) * g.lda + i0 + s;
        for (int64_t i = 0; i < MR; ++i) d[p * MR + i] = i < rows ? src[i] : T(0);
      }
    }
  }
}

// Packs k [p0, p0 + kc) x columns [j0, j0 + nc) of op(B) into NR-column slivers:
// dst[s][p][j] = op(B)[p0 + p][j0 + s*NR + j]; columns past nc are zero.
template <class T, int NR>
DIFFLUT_GEMM_INLINE void pack_b(const GemmArgs<T>& g, int64_t j0, int64_t nc, int64_t p0,
                                int64_t kc, T* dst) {
  for (int64_t s = 0; s < nc; s += NR) {
    const int64_t cols = std::min<int64_t>(NR, nc - s);
    T* d = dst + s * kc;
    if (!g.trans_b) {
      for (int64_t p = 0; p < kc; ++p) {
        const T* src = g.B + (p0 + p) * g.ldb + j0 + s;
        if (cols == NR) {
          for (int64_t j = 0; j < NR; ++j) d[p * NR + j] = src[j];
        } else {
          for (int64_t j = 0; j < NR; ++j) d[p * NR + j] = j < cols ? src[j] : T(0);
        }
      }
    } else {
      for (int64_t j = 0; j < NR; ++j) {
        if (j < cols) {
          const T* src = g.B + (j0 + s + j) * g.ldb + p0;
          for (int64_t p = 0; p < kc; ++p) d[p * NR + j] = src[p];
        } else {
          for (int64_t p = 0; p < kc; ++p) d[p * NR + j] = T(0);
        }
      }
    }
  }
}

// C[0:mr, 0:nr] (+)= a_sliver · b_sliver over kc, with NR = NV vectors of VB bytes. The MR x NV
// accumulator vectors are named locals (GCC/Clang vector extensions), so they live in registers for
// the whole k loop: each k step is NV loads of B, MR broadcasts of A and MR*NV multiply-adds.
template <class T, int MR, int NV, int VB>
DIFFLUT_GEMM_INLINE void micro_kernel(int64_t kc, const T* __restrict a, const T* __restrict b,
                                      T* __restrict c, int64_t ldc, int64_t mr, int64_t nr,
                                      bool add) {
  typedef T V __attribute__((vector_size(VB)));
  constexpr int L = VB / static_cast<int>(sizeof(T));
  constexpr int NR = NV * L;
  V acc[MR][NV];
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) acc[i][v] = V{};
  for (int64_t p = 0; p < kc; ++p) {
    V bv[NV];
    for (int v = 0; v < NV; ++v) std::memcpy(&bv[v], b + p * NR + v * L, VB);
    const T* ap = a + p * MR;
    for (int i = 0; i < MR; ++i) {
      const T ai = ap[i];
      for (int v = 0; v < NV; ++v) acc[i][v] += bv[v] * ai;
    }
  }
  if (mr == MR && nr == NR) {
    for (int i = 0; i < MR; ++i) {
      T* ci = c + i * ldc;
      for (int v = 0; v < NV; ++v) {
        V cv = acc[i][v];
        if (add) {
          V old;
          std::memcpy(&old, ci + v * L, VB);
          cv = old + cv;
        }
        std::memcpy(ci + v * L, &cv, VB);
      }
    }
  } else {
    T tmp[MR][NR];
    std::memcpy(tmp, acc, sizeof(tmp));
    for (int64_t i = 0; i < mr; ++i) {
      T* ci = c + i * ldc;
      for (int64_t j = 0; j < nr; ++j) ci[j] = add ? ci[j] + tmp[i][j] : tmp[i][j];
    }
  }
}

// Output tiles: mc x nc (at most kMC x kNC, multiples of every MR / NR), row-major over the grid.
struct TileGrid {
  int64_t mc, nc, tiles_m, tiles_n;
};

// Computes output tiles [t_lo, t_hi) of the grid.
// Each element's sum runs over k slabs in increasing order and over k in increasing order inside a
// slab, whichever thread runs the tile: the result is independent of the thread count.
template <class T, int MR, int NV, int VB>
DIFFLUT_GEMM_INLINE void gemm_tiles(const GemmArgs<T>& g, const TileGrid& grid, int64_t t_lo,
                                    int64_t t_hi) {
  constexpr int NR = NV * VB / static_cast<int>(sizeof(T));
  std::vector<T> apack(static_cast<size_t>(kMC * kKC));
  std::vector<T> bpack(static_cast<size_t>(kKC * kNC));
  for (int64_t t = t_lo; t < t_hi; ++t) {
    const int64_t i0 = (t / grid.tiles_n) * grid.mc, j0 = (t % grid.tiles_n) * grid.nc;
    const int64_t mc = std::min(grid.mc, g.M - i0), nc = std::min(grid.nc, g.N - j0);
    if (g.K == 0 && !g.accumulate) {
      for (int64_t i = 0; i < mc; ++i)
        for (int64_t j = 0; j < nc; ++j) g.C[(i0 + i) * g.ldc + j0 + j] = T(0);
      continue;
    }
    for (int64_t p0 = 0; p0 < g.K; p0 += kKC) {
      const int64_t kc = std::min(kKC, g.K - p0);
      pack_b<T, NR>(g, j0, nc, p0, kc, bpack.data());
      pack_a<T, MR>(g, i0, mc, p0, kc, apack.data());
      const bool add = g.accumulate || p0 > 0;
      for (int64_t jr = 0; jr < nc; jr += NR) {
        const T* bs = bpack.data() + jr * kc;
        for (int64_t ir = 0; ir < mc; ir += MR) {
          micro_kernel<T, MR, NV, VB>(
              kc, apack.data() + ir * kc, bs, g.C + (i0 + ir) * g.ldc + j0 + jr, g.ldc,
              std::min<int64_t>(MR, mc - ir), std::min<int64_t>(NR, nc - jr), add);
        }
      }
    }
  }
}

// Baseline build: 16 SSE registers; a 6 x (2 vectors) accumulator leaves room for B and broadcasts.
template <class T>
void gemm_tiles_portable(const GemmArgs<T>& g, const TileGrid& grid, int64_t lo, int64_t hi) {
  gemm_tiles<T, 6, 2, 16>(g, grid, lo, hi);
}

#ifdef DIFFLUT_GEMM_HAS_AVX2
// 16 YMM registers: the classic 6 x (2 vectors) accumulator, i.e. 6x16 floats or 6x8 doubles.
template <class T>
__attribute__((target("avx2,fma"))) void gemm_tiles_avx2(const GemmArgs<T>& g, const TileGrid& grid,
                                                         int64_t lo, int64_t hi) {
  gemm_tiles<T, 6, 2, 32>(g, grid, lo, hi);
}
bool cpu_has_avx2_fma() {
  static const bool v = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return v;
}
#endif

template <class T>
void run_tiles(const GemmArgs<T>& g, const TileGrid& grid, int64_t lo, int64_t hi) {
#ifdef DIFFLUT_GEMM_HAS_AVX2
  if (cpu_has_avx2_fma() && !g_portable_only.load(std::memory_order_relaxed)) {
    gemm_tiles_avx2<T>(g, grid, lo, hi);
    return;
  }
#endif
  gemm_tiles_portable<T>(g, grid, lo, hi);
}

}  // namespace

void set_gemm_cpu_portable_only(bool on) { g_portable_only.store(on); }

template <class T>
void gemm_cpu(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const T* A, int64_t lda,
              const T* B, int64_t ldb, T* C, int64_t ldc, bool accumulate) {
  if (M <= 0 || N <= 0) return;
  const GemmArgs<T> g{trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc, accumulate};
  // Small products are not worth waking the pool for.
  const bool serial = M * N * std::max<int64_t>(K, 1) < 64 * 64 * 64;
  // Shrink tiles (keeping multiples of 48 rows and 64 columns) until every thread has about two
  // tiles. Tile shape decides only which thread computes an element, never its order of
  // summation, so results stay independent of the thread count.
  TileGrid grid{kMC, kNC, 0, 0};
  const int64_t want = serial ? 1 : 2 * num_threads();
  auto count = [&] {
    grid.tiles_m = (M + grid.mc - 1) / grid.mc;
    grid.tiles_n = (N + grid.nc - 1) / grid.nc;
    return grid.tiles_m * grid.tiles_n;
  };
  while (count() < want && (grid.nc > 64 || grid.mc > 48)) {
    if (grid.nc > 64 && (grid.nc >= grid.mc * 2 || grid.mc <= 48))
      grid.nc /= 2;
    else
      grid.mc /= 2;
  }
  const int64_t tiles = count();
  if (serial) {
    run_tiles(g, grid, 0, tiles);
    return;
  }
  parallel_for(0, tiles, 1, [&](int64_t lo, int64_t hi) { run_tiles(g, grid, lo, hi); });
}

template void gemm_cpu<float>(bool, bool, int64_t, int64_t, int64_t, const float*, int64_t,
                              const float*, int64_t, float*, int64_t, bool);
template void gemm_cpu<double>(bool, bool, int64_t, int64_t, int64_t, const double*, int64_t,
                               const double*, int64_t, double*, int64_t, bool);

// out [M, N] = a [M, K] · b [K, N]
void matmul_forward_cpu(OpCall& c) {
  const Tensor& a = *c.in[0];
  const Tensor& b = *c.in[1];
  const int64_t M = a.size(0), K = a.size(1), N = b.size(1);
  DIFFLUT_DISPATCH_FLOAT(a.dtype(), "matmul", [&] {
    gemm_cpu<scalar_t>(false, false, M, N, K, a.data<scalar_t>(), K, b.data<scalar_t>(), N,
                       c.out->data<scalar_t>(), N, false);
  });
}

// da [M, K] += g [M, N] · bᵀ;  db [K, N] += aᵀ · g
void matmul_backward_cpu(OpCall& c) {
  const Tensor& a = *c.in[0];
  const Tensor& b = *c.in[1];
  const int64_t M = a.size(0), K = a.size(1), N = b.size(1);
  DIFFLUT_DISPATCH_FLOAT(a.dtype(), "matmul", [&] {
    const scalar_t* g = c.grad_out->data<scalar_t>();
    if (c.grad_in[0])
      gemm_cpu<scalar_t>(false, true, M, K, N, g, N, b.data<scalar_t>(), N,
                         c.grad_in[0]->data<scalar_t>(), K, true);
    if (c.grad_in[1])
      gemm_cpu<scalar_t>(true, false, K, N, M, a.data<scalar_t>(), K, g, N,
                         c.grad_in[1]->data<scalar_t>(), N, true);
  });
}

}  // namespace difflut
