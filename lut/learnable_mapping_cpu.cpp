// CPU kernels of the learnable mapping: column argmax, the gather forward, the dense dW, the
// sparse-softmax dx, and the fused "dW + optimizer step + next argmax" pass over W.
//
// Determinism: every output element has one owner that reduces in a fixed order (columns own their
// argmax and their fused update, rows of W own dW, inputs own dx), and block widths depend only on
// shapes, never on the thread count, so results are bit-identical for any DIFFLUT_NUM_THREADS.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "lut/learnable_mapping.h"
#include "lut/learnable_mapping_kernels.h"
#include "lut/learnable_mapping_math.h"
#include "tensor/parallel.h"

namespace difflut {

namespace {

constexpr int64_t kArgmaxBlock = 512;   // columns per argmax task
constexpr int64_t kSoftmaxBlock = 64;   // columns per sparse-softmax candidate block
constexpr int64_t kDwRows = 4;          // rows of dW per register tile of the dense product
constexpr int64_t kDwCols = 1024;       // columns per cache tile of the dense product
// Per-column scratch of the fused pass (the 8-bit tables of one column block) is kept to about half
// of a 1 MiB L2, so the random table rows picked by each input's bit mask hit the cache.
constexpr size_t kFusedScratchBytes = 512 * 1024;

// ---- argmax -----------------------------------------------------------------------------------
template <class T>
void argmax_block(const T* w,      // [F, S]
                  int64_t F, int64_t S, int64_t s0, int64_t n,
                  T* best,         // [n] scratch
                  int32_t* idx) {  // [n] out: columns s0 .. s0 + n
  const T* row = w + s0;
  for (int64_t j = 0; j < n; ++j) {
    best[j] = row[j];
    idx[j] = 0;
  }
  for (int64_t i = 1; i < F; ++i) {
    row = w + i * S + s0;
    const int32_t ii = static_cast<int32_t>(i);
    for (int64_t j = 0; j < n; ++j) {
      const bool gt = row[j] > best[j];  // strict: the first index wins ties
      best[j] = gt ? row[j] : best[j];
      idx[j] = gt ? ii : idx[j];
    }
  }
}

// ---- dense dW (standard path) -----------------------------------------------------------------
// dW[i, s] += sum_b (2 x[b, i] - 1) g[b, s], summed over b in order into a zeroed tile and then
// added, so two backward passes give exactly twice the gradient.
template <class T>
void dense_dw(const T* x,  // [B, F]
              const T* g,  // [B, S]
              T* dw,       // [F, S] accumulated
              int64_t B, int64_t F, int64_t S) {
  const int64_t row_tiles = (F + kDwRows - 1) / kDwRows;
  parallel_for(0, row_tiles, 1, [&](int64_t lo, int64_t hi) {
    std::vector<T> acc(static_cast<size_t>(kDwRows * kDwCols));
    for (int64_t t = lo; t < hi; ++t) {
      const int64_t i0 = t * kDwRows, nr = std::min(kDwRows, F - i0);
      for (int64_t s0 = 0; s0 < S; s0 += kDwCols) {
        const int64_t n = std::min(kDwCols, S - s0);
        std::fill(acc.begin(), acc.end(), T(0));
        for (int64_t b = 0; b < B; ++b) {
          const T* gr = g + b * S + s0;
          for (int64_t r = 0; r < nr; ++r) {
            const T a = T(2) * x[b * F + i0 + r] - T(1);
            T* ar = acc.data() + r * kDwCols;
            for (int64_t j = 0; j < n; ++j) ar[j] += a * gr[j];
          }
        }
        for (int64_t r = 0; r < nr; ++r) {
          T* d = dw + (i0 + r) * S + s0;
          const T* ar = acc.data() + r * kDwCols;
          for (int64_t j = 0; j < n; ++j) d[j] += ar[j];
        }
      }
    }
  });
}

// ---- sparse-softmax dx ------------------------------------------------------------------------
// dx[b, i] += sum_s g[b, s] P[i, s], P = softmax over i of W[:, s] / tau. Per block of columns the
// rows within the cutoff of each column's max (SoftmaxCutoff, learnable_mapping_math.h) are listed
// in row order with their exact weights; Z[s] sums them in row order. Then each input i owns
// dx[:, i] and walks its entries block by block.
template <class T>
struct SoftmaxEntry {
  int32_t s;
  T p;
};

template <class T>
void sparse_dx(const T* w,         // [F, S]
               const int32_t* idx, // [S] argmax per column
               const T* g,         // [B, S]
               T* dx,              // [B, F] accumulated
               int64_t B, int64_t F, int64_t S, T tau) {
  const int64_t nblk = (S + kSoftmaxBlock - 1) / kSoftmaxBlock;
  std::vector<std::vector<SoftmaxEntry<T>>> entries(static_cast<size_t>(nblk));
  std::vector<std::vector<int64_t>> rowptr(static_cast<size_t>(nblk));
  const T cutoff = SoftmaxCutoff<T>::value;
  parallel_for(0, nblk, 1, [&](int64_t lo, int64_t hi) {
    T wmax[kSoftmaxBlock], z[kSoftmaxBlock];
    for (int64_t k = lo; k < hi; ++k) {
      const int64_t s0 = k * kSoftmaxBlock, n = std::min(kSoftmaxBlock, S - s0);
      for (int64_t j = 0; j < n; ++j) {
        wmax[j] = w[static_cast<int64_t>(idx[s0 + j]) * S + s0 + j];
        z[j] = T(0);
      }
      auto& E = entries[static_cast<size_t>(k)];
      auto& R = rowptr[static_cast<size_t>(k)];
      R.assign(static_cast<size_t>(F + 1), 0);
      for (int64_t i = 0; i < F; ++i) {
        const T* row = w + i * S + s0;
        for (int64_t j = 0; j < n; ++j) {
          const T d = (row[j] - wmax[j]) / tau;
          if (d >= -cutoff) {
            const T e = std::exp(d);
            z[j] += e;
            E.push_back({static_cast<int32_t>(s0 + j), e});
          }
        }
        R[static_cast<size_t>(i + 1)] = static_cast<int64_t>(E.size());
      }
      for (auto& e : E) e.p /= z[e.s - s0];
    }
  });
  // g transposed to [S, B] so that each entry reads one contiguous row.
  std::vector<T> gt(static_cast<size_t>(S * B));
  parallel_for(0, S, 256, [&](int64_t lo, int64_t hi) {
    for (int64_t s = lo; s < hi; ++s)
      for (int64_t b = 0; b < B; ++b) gt[static_cast<size_t>(s * B + b)] = g[b * S + s];
  });
  parallel_for(0, F, 16, [&](int64_t lo, int64_t hi) {
    std::vector<T> acc(static_cast<size_t>(B));
    for (int64_t i = lo; i < hi; ++i) {
      std::fill(acc.begin(), acc.end(), T(0));
      for (int64_t k = 0; k < nblk; ++k) {
        const auto& E = entries[static_cast<size_t>(k)];
        const auto& R = rowptr[static_cast<size_t>(k)];
        for (int64_t e = R[static_cast<size_t>(i)]; e < R[static_cast<size_t>(i + 1)]; ++e) {
          const SoftmaxEntry<T>& en = E[static_cast<size_t>(e)];
          const T* gs = gt.data() + static_cast<int64_t>(en.s) * B;
          for (int64_t b = 0; b < B; ++b) acc[static_cast<size_t>(b)] += en.p * gs[b];
        }
      }
      for (int64_t b = 0; b < B; ++b) dx[b * F + i] += acc[static_cast<size_t>(b)];
    }
  });
}

// ---- the fused update -------------------------------------------------------------------------
enum class GradMode { zero, tables, dense };
enum class OptMode { adam, sgd_momentum, sgd };

// Everything the fused pass reads besides W and the optimizer state.
template <class T>
struct FusedGrad {
  int64_t B = 0;
  int64_t C = 0;                   // 8-sample chunks: ceil(B / 8)
  const T* g = nullptr;            // [B, S]
  const uint8_t* masks = nullptr;  // [F, C] tables mode: bit j of masks[i, c] = x[8c + j, i]
  const T* a = nullptr;            // [F, B] dense mode: 2 x[b, i] - 1, transposed
};

// One pass over a block of columns [s0, s0 + n): for each row i in order, the gradient row, the
// optimizer step, the clamp and the running argmax (strict >, so the first index wins ties).
//
// Binary x (tables mode): dW[i, s] = 2 sum_{b: x[b,i] = 1} g[b, s] - sum_b g[b, s]. The batch is cut
// into chunks of 8 samples; for each chunk c, table[c][v][s] = sum of g[b, s] over the samples b of
// chunk c whose bit is set in v (entry v built from entry v & (v - 1) plus one row of g). Then
// the masked sum for row i is sum_c table[c][masks[i, c]][s]: B / 8 adds instead of B multiply-adds.
template <class T, GradMode kGrad, OptMode kOpt>
void fused_block(T* w, T* m, T* v,  // [F, S] each (m/v may be null when kOpt does not use them)
                 const FusedGrad<T>& gr, const MappingOptCoeffs<T>& co, int64_t F, int64_t S,
                 int64_t s0, int64_t n, int64_t sb,
                 T* tab,        // [C, 256, sb] tables mode, [B, sb] dense mode
                 T* colsum,     // [sb]
                 T* acc,        // [sb]
                 T* best,       // [sb]
                 int32_t* bidx, // [sb]
                 int32_t* idx)  // [S] out
{
  const int64_t B = gr.B, C = gr.C;
  if constexpr (kGrad == GradMode::tables) {
    for (int64_t c = 0; c < C; ++c) {
      T* tc = tab + c * 256 * sb;
      std::fill(tc, tc + n, T(0));
      for (int vv = 1; vv < 256; ++vv) {
        const T* src = tc + static_cast<int64_t>(vv & (vv - 1)) * sb;
        T* dst = tc + static_cast<int64_t>(vv) * sb;
        const int64_t b = 8 * c + __builtin_ctz(static_cast<unsigned>(vv));
        if (b < B) {
          const T* grow = gr.g + b * S + s0;
          for (int64_t j = 0; j < n; ++j) dst[j] = src[j] + grow[j];
        } else {
          std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(T));  // never addressed
        }
      }
    }
    std::fill(colsum, colsum + n, T(0));
    for (int64_t b = 0; b < B; ++b) {
      const T* grow = gr.g + b * S + s0;
      for (int64_t j = 0; j < n; ++j) colsum[j] += grow[j];
    }
  } else if constexpr (kGrad == GradMode::dense) {
    for (int64_t b = 0; b < B; ++b)
      std::memcpy(tab + b * sb, gr.g + b * S + s0, static_cast<size_t>(n) * sizeof(T));
  } else {
    std::fill(acc, acc + n, T(0));
  }

  for (int64_t i = 0; i < F; ++i) {
    if constexpr (kGrad == GradMode::tables) {
      const uint8_t* mk = gr.masks + i * C;
      const T* t0 = tab + static_cast<int64_t>(mk[0]) * sb;
      for (int64_t j = 0; j < n; ++j) acc[j] = t0[j];
      for (int64_t c = 1; c < C; ++c) {
        const T* tcv = tab + (c * 256 + static_cast<int64_t>(mk[c])) * sb;
        for (int64_t j = 0; j < n; ++j) acc[j] += tcv[j];
      }
      for (int64_t j = 0; j < n; ++j) acc[j] = T(2) * acc[j] - colsum[j];
    } else if constexpr (kGrad == GradMode::dense) {
      const T* ai = gr.a + i * B;
      std::fill(acc, acc + n, T(0));
      for (int64_t b = 0; b < B; ++b) {
        const T ab = ai[b];
        const T* gb = tab + b * sb;
        for (int64_t j = 0; j < n; ++j) acc[j] += ab * gb[j];
      }
    }
    T* wr = w + i * S + s0;
    T* mr = (kOpt != OptMode::sgd) ? m + i * S + s0 : nullptr;
    T* vr = (kOpt == OptMode::adam) ? v + i * S + s0 : nullptr;
    const int32_t ii = static_cast<int32_t>(i);
    const bool first = i == 0;
    for (int64_t j = 0; j < n; ++j) {
      T p;
      if constexpr (kOpt == OptMode::adam) {
        p = lm_adam(wr[j], acc[j], mr[j], vr[j], co);
      } else if constexpr (kOpt == OptMode::sgd_momentum) {
        p = lm_sgd(wr[j], acc[j], mr[j], co);
      } else {
        T unused = T(0);
        p = lm_sgd(wr[j], acc[j], unused, co);
      }
      wr[j] = p;
      const bool gt = first || p > best[j];
      best[j] = gt ? p : best[j];
      bidx[j] = gt ? ii : bidx[j];
    }
  }
  std::memcpy(idx + s0, bidx, static_cast<size_t>(n) * sizeof(int32_t));
}

template <class T, GradMode kGrad, OptMode kOpt>
void fused_update(T* w, T* m, T* v, const FusedGrad<T>& gr, const MappingOptCoeffs<T>& co,
                  int64_t F, int64_t S, int32_t* idx) {
  // Column block width: a power of two in [16, 256] whose scratch fits the budget. The result per
  // column does not depend on it (each column's arithmetic is the same in any block).
  size_t per_col = sizeof(T);
  if constexpr (kGrad == GradMode::tables) per_col = static_cast<size_t>(gr.C) * 256 * sizeof(T);
  if constexpr (kGrad == GradMode::dense) per_col = static_cast<size_t>(gr.B) * sizeof(T);
  int64_t sb = 256;
  while (sb > 16 && static_cast<size_t>(sb) * per_col > kFusedScratchBytes) sb /= 2;
  const int64_t nblk = (S + sb - 1) / sb;
  size_t tab_size = 0;
  if constexpr (kGrad == GradMode::tables) tab_size = static_cast<size_t>(gr.C * 256 * sb);
  if constexpr (kGrad == GradMode::dense) tab_size = static_cast<size_t>(gr.B * sb);
  parallel_for(0, nblk, 1, [&](int64_t lo, int64_t hi) {
    std::vector<T> tab(tab_size), colsum(static_cast<size_t>(sb)), acc(static_cast<size_t>(sb)),
        best(static_cast<size_t>(sb));
    std::vector<int32_t> bidx(static_cast<size_t>(sb));
    for (int64_t k = lo; k < hi; ++k) {
      const int64_t s0 = k * sb;
      fused_block<T, kGrad, kOpt>(w, m, v, gr, co, F, S, s0, std::min(sb, S - s0), sb, tab.data(),
                                  colsum.data(), acc.data(), best.data(), bidx.data(), idx);
    }
  });
}

template <class T, GradMode kGrad>
void fused_update_opt(T* w, T* m, T* v, const FusedGrad<T>& gr, const MappingOptCoeffs<T>& co,
                      int64_t F, int64_t S, int32_t* idx) {
  if (co.adam) {
    fused_update<T, kGrad, OptMode::adam>(w, m, v, gr, co, F, S, idx);
  } else if (co.has_momentum) {
    fused_update<T, kGrad, OptMode::sgd_momentum>(w, m, v, gr, co, F, S, idx);
  } else {
    fused_update<T, kGrad, OptMode::sgd>(w, m, v, gr, co, F, S, idx);
  }
}

}  // namespace

void learnable_mapping_argmax_cpu(const Tensor& w, Tensor& idx) {
  const int64_t F = w.size(0), S = w.size(1);
  int32_t* ip = idx.data<int32_t>();
  DIFFLUT_DISPATCH_FLOAT(w.dtype(), "learnable_mapping", [&] {
    const scalar_t* wp = w.data<scalar_t>();
    parallel_for(0, (S + kArgmaxBlock - 1) / kArgmaxBlock, 1, [&](int64_t lo, int64_t hi) {
      std::vector<scalar_t> best(static_cast<size_t>(kArgmaxBlock));
      for (int64_t k = lo; k < hi; ++k) {
        const int64_t s0 = k * kArgmaxBlock;
        argmax_block(wp, F, S, s0, std::min(kArgmaxBlock, S - s0), best.data(), ip + s0);
      }
    });
  });
}

void learnable_mapping_forward_cpu(OpCall& c) {
  const Tensor& x = *c.in[0];
  const Tensor& w = *c.in[1];
  Tensor idx = learnable_mapping_forward_index(w, learnable_mapping_state_of(c));
  const int64_t B = x.size(0), F = x.size(1), S = w.size(1);
  const int32_t* ip = idx.data<int32_t>();
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "learnable_mapping", [&] {
    const scalar_t* xp = x.data<scalar_t>();
    scalar_t* out = c.out->data<scalar_t>();
    parallel_for(0, B, std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(S, 1)),
                 [&](int64_t lo, int64_t hi) {
                   for (int64_t b = lo; b < hi; ++b)
                     for (int64_t s = 0; s < S; ++s) out[b * S + s] = xp[b * F + ip[s]];
                 });
  });
  c.saved.push_back(idx);
}

void learnable_mapping_backward_cpu(OpCall& c) {
  const Tensor& x = *c.in[0];
  const Tensor& w = *c.in[1];
  const Tensor& g = *c.grad_out;
  const int64_t B = x.size(0), F = x.size(1), S = w.size(1);
  if (c.grad_in[1]) {
    if (!c.grad_in[1]->defined()) {
      learnable_mapping_stash(c);
    } else {
      DIFFLUT_DISPATCH_FLOAT(x.dtype(), "learnable_mapping", [&] {
        dense_dw(x.data<scalar_t>(), g.data<scalar_t>(), c.grad_in[1]->data<scalar_t>(), B, F, S);
      });
    }
  }
  if (c.grad_in[0]) {
    DIFFLUT_ASSERT(!c.saved.empty());
    const int32_t* ip = c.saved[0].data<int32_t>();
    DIFFLUT_DISPATCH_FLOAT(x.dtype(), "learnable_mapping", [&] {
      sparse_dx(w.data<scalar_t>(), ip, g.data<scalar_t>(), c.grad_in[0]->data<scalar_t>(), B, F,
                S, static_cast<scalar_t>(c.attrs.floats[0]));
    });
  }
}

void learnable_mapping_update_cpu(Tensor& w, Tensor* m, Tensor* v, const Tensor* x,
                                  const Tensor* g, const OptimizerStep& step, double lo, double hi,
                                  Tensor& idx) {
  const int64_t F = w.size(0), S = w.size(1);
  const int64_t B = x ? x->size(0) : 0;
  int32_t* ip = idx.data<int32_t>();
  DIFFLUT_DISPATCH_FLOAT(w.dtype(), "learnable_mapping", [&] {
    using T = scalar_t;
    const MappingOptCoeffs<T> co = make_mapping_opt_coeffs<T>(step, lo, hi);
    T* wp = w.data<T>();
    T* mp = m ? m->data<T>() : nullptr;
    T* vp = v ? v->data<T>() : nullptr;
    FusedGrad<T> gr;
    if (B == 0) {
      fused_update_opt<T, GradMode::zero>(wp, mp, vp, gr, co, F, S, ip);
      return;
    }
    const T* xp = x->data<T>();
    gr.B = B;
    gr.C = (B + 7) / 8;
    gr.g = g->data<T>();
    bool binary = true;
    for (int64_t k = 0; k < B * F && binary; ++k) binary = xp[k] == T(0) || xp[k] == T(1);
    if (binary) {
      std::vector<uint8_t> masks(static_cast<size_t>(F * gr.C));
      parallel_for(0, F, 256, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i)
          for (int64_t c = 0; c < gr.C; ++c) {
            unsigned byte = 0;
            for (int64_t j = 0; j < 8 && 8 * c + j < B; ++j)
              byte |= (xp[(8 * c + j) * F + i] != T(0) ? 1u : 0u) << j;
            masks[static_cast<size_t>(i * gr.C + c)] = static_cast<uint8_t>(byte);
          }
      });
      gr.masks = masks.data();
      fused_update_opt<T, GradMode::tables>(wp, mp, vp, gr, co, F, S, ip);
    } else {
      std::vector<T> a(static_cast<size_t>(F * B));
      for (int64_t b = 0; b < B; ++b)
        for (int64_t i = 0; i < F; ++i)
          a[static_cast<size_t>(i * B + b)] = T(2) * xp[b * F + i] - T(1);
      gr.a = a.data();
      fused_update_opt<T, GradMode::dense>(wp, mp, vp, gr, co, F, S, ip);
    }
  });
}

}  // namespace difflut
