// CPU kernels of the reduction family. Reductions run in the [O, R, I] -> [O, I] form: a row sum
// (I = 1) uses eight interleaved partials combined in a fixed tree; a column sum (I > 1) streams
// rows into a chunk of I accumulators. Long axes are cut into blocks whose size depends only on the
// shape, and block partials are added in order, so the result never depends on the thread count.
#include <algorithm>
#include <limits>
#include <vector>

#include "autograd/ops/broadcast.h"
#include "autograd/ops/reduce/reduce_kernels.h"
#include "tensor/parallel.h"

namespace difflut {

namespace {
constexpr int64_t kGrain = 1 << 15;  // elements per parallel chunk, roughly
constexpr int64_t kBlock = 1 << 16;  // elements per reduction block
constexpr int64_t kIChunk = 1024;    // columns per accumulator chunk (I > 1)

// Σ p[r] for r < R with eight partials (vectorisable; the order is fixed by R alone).
template <class T>
T row_sum(const T* p,  // [R]
          int64_t R) {
  T acc[8] = {};
  int64_t r = 0;
  for (; r + 8 <= R; r += 8)
    for (int l = 0; l < 8; ++l) acc[l] += p[r + l];
  for (int l = 0; r + l < R; ++l) acc[l] += p[r + l];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// out[i] = Σ_r p[r * I + i] for r < R, i < len (<= kIChunk). Accumulates in a local array so the
// compiler knows it does not alias the input and keeps the inner loop vectorised.
template <class T>
void col_sum(const T* p,  // [R, I] (only columns [0, len) are read)
             int64_t R, int64_t I, int64_t len, T* out /* [len] */) {
  T acc[kIChunk];
  for (int64_t i = 0; i < len; ++i) acc[i] = T(0);
  for (int64_t r = 0; r < R; ++r) {
    const T* row = p + r * I;
    for (int64_t i = 0; i < len; ++i) acc[i] += row[i];
  }
  for (int64_t i = 0; i < len; ++i) out[i] = acc[i];
}

template <class T>
inline void store(T* d, T v, T scale, bool accumulate) {
  v *= scale;
  *d = accumulate ? *d + v : v;
}

// dst[o, i] (+)= scale * Σ_r src[o, r, i].
template <class T>
void sum_ori(const T* src,  // [O, R, I]
             T* dst,        // [O, I]
             int64_t O, int64_t R, int64_t I, T scale, bool accumulate) {
  const int64_t nic = (I + kIChunk - 1) / kIChunk;
  const int64_t rows_per_block = std::max<int64_t>(1, kBlock / std::min(I, kIChunk));
  const int64_t nb = R > rows_per_block ? (R + rows_per_block - 1) / rows_per_block : 1;
  if (nb > 1) {
    // Pass 1: per-block partials [O, nb, I]; pass 2 sums them in block order.
    std::vector<T> partial(static_cast<size_t>(O * nb * I));
    T* pp = partial.data();
    parallel_for(0, O * nb * nic, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t item = lo; item < hi; ++item) {
        const int64_t ic = item % nic, ob = item / nic, bk = ob % nb, o = ob / nb;
        const int64_t r0 = bk * rows_per_block, rl = std::min(R, r0 + rows_per_block) - r0;
        const T* p = src + (o * R + r0) * I;
        T* out = pp + (o * nb + bk) * I;
        if (I == 1) {
          out[0] = row_sum(p, rl);
        } else {
          const int64_t i0 = ic * kIChunk, len = std::min(kIChunk, I - i0);
          col_sum(p + i0, rl, I, len, out + i0);
        }
      }
    });
    sum_ori(pp, dst, O, nb, I, scale, accumulate);
    return;
  }
  const int64_t work = std::max<int64_t>(1, R * std::min(I, kIChunk));  // elements per item
  const int64_t grain = std::max<int64_t>(1, kGrain / work);
  parallel_for(0, O * nic, grain, [&](int64_t lo, int64_t hi) {
    T acc[kIChunk];
    for (int64_t item = lo; item < hi; ++item) {
      const int64_t ic = item % nic, o = item / nic;
      if (I == 1) {
        store(dst + o, row_sum(src + o * R, R), scale, accumulate);
      } else {
        const int64_t i0 = ic * kIChunk, len = std::min(kIChunk, I - i0);
        col_sum(src + o * R * I + i0, R, I, len, acc);
        for (int64_t i = 0; i < len; ++i) store(dst + o * I + i0 + i, acc[i], scale, accumulate);
      }
    }
  });
}

// Several separate reduced dim groups: each dst element walks its reduced positions in row-major
// order.
template <class T>
void sum_general(const T* src, T* dst, const ReducePlan& p, T scale, bool accumulate) {
  const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(1, p.reduced_numel));
  parallel_for(0, p.dst_numel, grain, [&](int64_t lo, int64_t hi) {
    for (int64_t k = lo; k < hi; ++k) {
      const T* base = src + reduce_kept_offset(p, k);
      T s = T(0);
      for (int64_t j = 0; j < p.reduced_numel; ++j) s += base[reduce_reduced_offset(p, j)];
      store(dst + k, s, scale, accumulate);
    }
  });
}

// gx[o, r, i] += scale * g[o, i]
template <class T>
void expand_add(const T* g,  // [O, I]
                T* gx,       // [O, R, I] accumulated
                int64_t O, int64_t R, int64_t I, T scale) {
  parallel_for(0, O * R, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, I)),
               [&](int64_t lo, int64_t hi) {
                 for (int64_t row = lo; row < hi; ++row) {
                   const T* gp = g + (row / R) * I;
                   T* xp = gx + row * I;
                   for (int64_t i = 0; i < I; ++i) xp[i] += scale * gp[i];
                 }
               });
}

// The first maximum wins ties; a NaN counts as larger than any number (it propagates).
template <class T>
inline bool beats(T v, T best) {
  return v > best || (v != v && best == best);
}

// values[o, i] = max_r x[o, r, i] (if values is non-null), index[o, i] = first argmax.
template <class T>
void max_ori(const T* x,      // [O, R, I], R >= 1
             T* values,       // [O, I] or null
             int64_t* index,  // [O, I]
             int64_t O, int64_t R, int64_t I) {
  const int64_t nic = (I + kIChunk - 1) / kIChunk;
  const int64_t work = std::max<int64_t>(1, R * std::min(I, kIChunk));  // elements per item
  const int64_t grain = std::max<int64_t>(1, kGrain / work);
  parallel_for(0, O * nic, grain, [&](int64_t lo, int64_t hi) {
    T best[kIChunk];
    int64_t arg[kIChunk];
    for (int64_t item = lo; item < hi; ++item) {
      const int64_t ic = item % nic, o = item / nic;
      const int64_t i0 = ic * kIChunk, len = std::min(kIChunk, I - i0);
      const T* p = x + o * R * I + i0;
      for (int64_t i = 0; i < len; ++i) {
        best[i] = p[i];
        arg[i] = 0;
      }
      for (int64_t r = 1; r < R; ++r) {
        const T* row = p + r * I;
        for (int64_t i = 0; i < len; ++i)
          if (beats(row[i], best[i])) {
            best[i] = row[i];
            arg[i] = r;
          }
      }
      for (int64_t i = 0; i < len; ++i) {
        if (values) values[o * I + i0 + i] = best[i];
        index[o * I + i0 + i] = arg[i];
      }
    }
  });
}

void sum_like_forward(OpCall& c, bool mean) {
  const Tensor& x = *c.in[0];
  int64_t O, R, I;
  axis_split(x.shape(), reduce_axis(c), O, R, I);
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), mean ? "mean" : "sum", [&] {
    const scalar_t scale = mean ? scalar_t(1) / static_cast<scalar_t>(R) : scalar_t(1);
    if (R == 0) {
      c.out->fill_(mean ? std::numeric_limits<double>::quiet_NaN() : 0.0);  // empty axis
      return;
    }
    sum_ori(x.data<scalar_t>(), c.out->data<scalar_t>(), O, R, I, scale, false);
  });
}

void sum_like_backward(OpCall& c, bool mean) {
  if (!c.grad_in[0]) return;
  const Tensor& x = *c.in[0];
  int64_t O, R, I;
  axis_split(x.shape(), reduce_axis(c), O, R, I);
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), mean ? "mean" : "sum", [&] {
    const scalar_t scale = mean ? scalar_t(1) / static_cast<scalar_t>(R) : scalar_t(1);
    expand_add(c.grad_out->data<scalar_t>(), c.grad_in[0]->data<scalar_t>(), O, R, I, scale);
  });
}
}  // namespace

void sum_to_shape_cpu(const Tensor& src, Tensor& dst, double scale, bool accumulate) {
  if (dst.numel() == 0) return;
  if (src.numel() == 0) {
    if (!accumulate) dst.zero_();
    return;
  }
  const ReducePlan p = make_reduce_plan(src.shape(), dst.shape());
  DIFFLUT_ASSERT(p.dst_numel == dst.numel());
  DIFFLUT_DISPATCH_FLOAT(src.dtype(), "sum_to_shape", [&] {
    const scalar_t s = static_cast<scalar_t>(scale);
    if (p.simple)
      sum_ori(src.data<scalar_t>(), dst.data<scalar_t>(), p.O, p.R, p.I, s, accumulate);
    else
      sum_general(src.data<scalar_t>(), dst.data<scalar_t>(), p, s, accumulate);
  });
}

void sum_forward_cpu(OpCall& c) { sum_like_forward(c, false); }
void sum_backward_cpu(OpCall& c) { sum_like_backward(c, false); }
void mean_forward_cpu(OpCall& c) { sum_like_forward(c, true); }
void mean_backward_cpu(OpCall& c) { sum_like_backward(c, true); }

void max_forward_cpu(OpCall& c) {
  const Tensor& x = *c.in[0];
  int64_t O, R, I;
  axis_split(x.shape(), reduce_axis(c), O, R, I);
  Tensor index = Tensor::empty(c.out->shape(), DType::i64, Device::cpu);
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "max", [&] {
    max_ori(x.data<scalar_t>(), c.out->data<scalar_t>(), index.data<int64_t>(), O, R, I);
  });
  c.saved.push_back(index);
}

void max_backward_cpu(OpCall& c) {
  if (!c.grad_in[0]) return;
  const Tensor& x = *c.in[0];
  int64_t O, R, I;
  axis_split(x.shape(), reduce_axis(c), O, R, I);
  DIFFLUT_ASSERT(c.saved.size() == 1);
  const int64_t* idx = c.saved[0].data<int64_t>();
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "max", [&] {
    const scalar_t* g = c.grad_out->data<scalar_t>();
    scalar_t* gx = c.grad_in[0]->data<scalar_t>();
    // Each output owns exactly one input position: disjoint writes, no ordering question.
    parallel_for(0, O * I, kGrain, [&](int64_t lo, int64_t hi) {
      for (int64_t k = lo; k < hi; ++k) {
        const int64_t o = k / I, i = k - o * I;
        gx[(o * R + idx[k]) * I + i] += g[k];
      }
    });
  });
}

void argmax_forward_cpu(OpCall& c) {
  const Tensor& x = *c.in[0];
  int64_t O, R, I;
  axis_split(x.shape(), reduce_axis(c), O, R, I);
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "argmax", [&] {
    max_ori<scalar_t>(x.data<scalar_t>(), nullptr, c.out->data<int64_t>(), O, R, I);
  });
}

}  // namespace difflut
