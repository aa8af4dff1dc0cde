// CPU kernels of the softmax family. All are max-subtracted (exp never sees a positive argument).
// Rows are independent and each is reduced serially in index order by one thread, so results do
// not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "autograd/ops/shape/shape_kernels.h"
#include "autograd/ops/softmax/softmax_kernels.h"
#include "tensor/parallel.h"

namespace difflut {
namespace {

// Rows per parallel chunk so that a chunk holds at least ~16K elements.
int64_t row_grain(int64_t row_len) {
  return std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(row_len, 1));
}

// y = softmax(x) or log_softmax(x) over the middle axis of [outer, L, inner].
template <class T, bool kLog>
void softmax_fwd(const T* x,  // [outer, L, inner]
                 T* y,        // [outer, L, inner]
                 AxisSplit s) {
  const int64_t L = s.len, inner = s.inner;
  if (L == 0) return;
  if (inner == 1) {  // fast path: contiguous rows
    parallel_for(0, s.outer, row_grain(L), [&](int64_t lo, int64_t hi) {
      for (int64_t r = lo; r < hi; ++r) {
        const T* xr = x + r * L;
        T* yr = y + r * L;
        T m = xr[0];
        for (int64_t l = 1; l < L; ++l) m = std::max(m, xr[l]);
        T sum = 0;
        if (kLog) {
          for (int64_t l = 0; l < L; ++l) sum += std::exp(xr[l] - m);
          const T shift = m + std::log(sum);
          for (int64_t l = 0; l < L; ++l) yr[l] = xr[l] - shift;
        } else {
          for (int64_t l = 0; l < L; ++l) {
            yr[l] = std::exp(xr[l] - m);
            sum += yr[l];
          }
          const T inv = T(1) / sum;
          for (int64_t l = 0; l < L; ++l) yr[l] *= inv;
        }
      }
    });
    return;
  }
  // Strided axis: per outer slice, reduce over L with the inner index contiguous (vectorisable).
  parallel_for(0, s.outer, row_grain(L * inner), [&](int64_t lo, int64_t hi) {
    std::vector<T> m(static_cast<size_t>(inner)), sum(static_cast<size_t>(inner));
    for (int64_t o = lo; o < hi; ++o) {
      const T* xo = x + o * L * inner;
      T* yo = y + o * L * inner;
      std::copy(xo, xo + inner, m.begin());
      for (int64_t l = 1; l < L; ++l)
        for (int64_t i = 0; i < inner; ++i) m[i] = std::max(m[i], xo[l * inner + i]);
      std::fill(sum.begin(), sum.end(), T(0));
      for (int64_t l = 0; l < L; ++l)
        for (int64_t i = 0; i < inner; ++i) {
          const T e = std::exp(xo[l * inner + i] - m[i]);
          sum[i] += e;
          if (!kLog) yo[l * inner + i] = e;
        }
      if (kLog) {
        for (int64_t i = 0; i < inner; ++i) m[i] += std::log(sum[i]);
        for (int64_t l = 0; l < L; ++l)
          for (int64_t i = 0; i < inner; ++i) yo[l * inner + i] = xo[l * inner + i] - m[i];
      } else {
        for (int64_t i = 0; i < inner; ++i) sum[i] = T(1) / sum[i];
        for (int64_t l = 0; l < L; ++l)
          for (int64_t i = 0; i < inner; ++i) yo[l * inner + i] *= sum[i];
      }
    }
  });
}

// softmax:     dx += y ⊙ (g − Σ_l g⊙y)
// log_softmax: dx += g − exp(y) ⊙ Σ_l g
template <class T, bool kLog>
void softmax_bwd(const T* y,  // [outer, L, inner] forward output
                 const T* g,  // [outer, L, inner]
                 T* dx,       // [outer, L, inner] accumulated
                 AxisSplit s) {
  const int64_t L = s.len, inner = s.inner;
  parallel_for(0, s.outer, row_grain(L * inner), [&](int64_t lo, int64_t hi) {
    std::vector<T> dot(static_cast<size_t>(inner));
    for (int64_t o = lo; o < hi; ++o) {
      const T* yo = y + o * L * inner;
      const T* go = g + o * L * inner;
      T* dxo = dx + o * L * inner;
      std::fill(dot.begin(), dot.end(), T(0));
      for (int64_t l = 0; l < L; ++l)
        for (int64_t i = 0; i < inner; ++i)
          dot[i] += kLog ? go[l * inner + i] : go[l * inner + i] * yo[l * inner + i];
      for (int64_t l = 0; l < L; ++l)
        for (int64_t i = 0; i < inner; ++i) {
          const int64_t k = l * inner + i;
          if (kLog)
            dxo[k] += go[k] - std::exp(yo[k]) * dot[i];
          else
            dxo[k] += yo[k] * (go[k] - dot[i]);
        }
    }
  });
}

template <bool kLog>
void softmax_forward_impl(OpCall& c, const char* op) {
  const Tensor& x = *c.in[0];
  const AxisSplit s = split_axis(x.shape(), normalize_axis(op, c.attrs.ints.at(0), x.shape()));
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), op, [&] {
    softmax_fwd<scalar_t, kLog>(x.data<scalar_t>(), c.out->data<scalar_t>(), s);
  });
}

template <bool kLog>
void softmax_backward_impl(OpCall& c, const char* op) {
  if (!c.grad_in[0]) return;
  const Tensor& x = *c.in[0];
  const AxisSplit s = split_axis(x.shape(), normalize_axis(op, c.attrs.ints.at(0), x.shape()));
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), op, [&] {
    softmax_bwd<scalar_t, kLog>(c.out->data<scalar_t>(), c.grad_out->data<scalar_t>(),
                                c.grad_in[0]->data<scalar_t>(), s);
  });
}

// Pairwise sum in a fixed tree order (deterministic, and error grows with log n, not n).
template <class T>
T pairwise_sum(const T* v, int64_t n) {
  if (n <= 8) {
    T s = 0;
    for (int64_t i = 0; i < n; ++i) s += v[i];
    return s;
  }
  const int64_t h = n / 2;
  return pairwise_sum(v, h) + pairwise_sum(v + h, n - h);
}

}  // namespace

void softmax_forward_cpu(OpCall& c) { softmax_forward_impl<false>(c, "softmax"); }
void softmax_backward_cpu(OpCall& c) { softmax_backward_impl<false>(c, "softmax"); }
void log_softmax_forward_cpu(OpCall& c) { softmax_forward_impl<true>(c, "log_softmax"); }
void log_softmax_backward_cpu(OpCall& c) { softmax_backward_impl<true>(c, "log_softmax"); }

// out [1] = mean_b (log Σ_c exp(x[b, c]) − x[b, label[b]]); saves probabilities [B, C].
void cross_entropy_forward_cpu(OpCall& c) {
  const Tensor& x = *c.in[0];
  const Tensor& labels = *c.in[1];
  const int64_t B = x.size(0), C = x.size(1);
  std::vector<int64_t> lab = DIFFLUT_DISPATCH_INDEX(labels.dtype(), "cross_entropy", [&] {
    const index_t* p = labels.data<index_t>();
    return std::vector<int64_t>(p, p + B);
  });
  for (int64_t b = 0; b < B; ++b)
    DIFFLUT_CHECK(lab[static_cast<size_t>(b)] >= 0 && lab[static_cast<size_t>(b)] < C,
                  "cross_entropy: label of batch element ", b, " is ", lab[static_cast<size_t>(b)],
                  ", expected a class in [0, ", C, ")");
  Tensor probs = Tensor::empty({B, C}, x.dtype(), Device::cpu);
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "cross_entropy", [&] {
    const scalar_t* xp = x.data<scalar_t>();
    scalar_t* pp = probs.data<scalar_t>();
    std::vector<scalar_t> loss(static_cast<size_t>(B));
    parallel_for(0, B, row_grain(C), [&](int64_t lo, int64_t hi) {
      for (int64_t b = lo; b < hi; ++b) {
        const scalar_t* xr = xp + b * C;
        scalar_t* pr = pp + b * C;
        scalar_t m = xr[0];
        for (int64_t k = 1; k < C; ++k) m = std::max(m, xr[k]);
        scalar_t sum = 0;
        for (int64_t k = 0; k < C; ++k) {
          pr[k] = std::exp(xr[k] - m);
          sum += pr[k];
        }
        const scalar_t inv = scalar_t(1) / sum;
        for (int64_t k = 0; k < C; ++k) pr[k] *= inv;
        loss[static_cast<size_t>(b)] = std::log(sum) + m - xr[lab[static_cast<size_t>(b)]];
      }
    });
    c.out->data<scalar_t>()[0] = pairwise_sum(loss.data(), B) / static_cast<scalar_t>(B);
  });
  c.saved.push_back(probs);
}

// dx [B, C] += (g / B) · (p − onehot(label))
void cross_entropy_backward_cpu(OpCall& c) {
  if (!c.grad_in[0]) return;
  const Tensor& x = *c.in[0];
  const Tensor& labels = *c.in[1];
  const Tensor& probs = c.saved.at(0);
  const int64_t B = x.size(0), C = x.size(1);
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "cross_entropy", [&] {
    const scalar_t scale = c.grad_out->data<scalar_t>()[0] / static_cast<scalar_t>(B);
    const scalar_t* pp = probs.data<scalar_t>();
    scalar_t* dx = c.grad_in[0]->data<scalar_t>();
    DIFFLUT_DISPATCH_INDEX(labels.dtype(), "cross_entropy", [&] {
      const index_t* lab = labels.data<index_t>();
      parallel_for(0, B, row_grain(C), [&](int64_t lo, int64_t hi) {
        for (int64_t b = lo; b < hi; ++b) {
          const int64_t y = static_cast<int64_t>(lab[b]);
          for (int64_t k = 0; k < C; ++k)
            dx[b * C + k] += scale * (pp[b * C + k] - (k == y ? scalar_t(1) : scalar_t(0)));
        }
      });
    });
  });
}

}  // namespace difflut
