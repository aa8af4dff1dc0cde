// CPU kernels of the shape family, and the axis helpers the shape and softmax families share.
// Forward copies of reshape/transpose/concat/slice work for every dtype; backward kernels (float
// only) add into the engine's zeroed gradient buffers. Every output element has one writer.
#include <algorithm>
#include <cstring>
#include <vector>

#include "autograd/ops.h"
#include "autograd/ops/shape/shape_kernels.h"
#include "tensor/parallel.h"

namespace difflut {

int64_t normalize_axis(const char* op, int64_t axis, const Shape& shape) {
  const int64_t nd = static_cast<int64_t>(shape.size());
  DIFFLUT_CHECK(axis >= -nd && axis < nd, op, ": axis ", axis, " is out of range for a ", nd,
                "-D input of shape ", shape_str(shape), " (expected an axis in [", -nd, ", ", nd,
                "))");
  return axis < 0 ? axis + nd : axis;
}

AxisSplit split_axis(const Shape& shape, int64_t axis) {
  AxisSplit s;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    const int64_t e = shape[static_cast<size_t>(d)];
    if (d < axis)
      s.outer *= e;
    else if (d == axis)
      s.len = e;
    else
      s.inner *= e;
  }
  return s;
}

Shape reshape_target(const Shape& from, const Shape& spec) {
  const int64_t n = shape_numel(from);
  Shape out = spec;
  int64_t known = 1, infer_at = -1;
  for (size_t i = 0; i < spec.size(); ++i) {
    if (spec[i] == -1) {
      DIFFLUT_CHECK(infer_at < 0, "reshape: expected at most one -1 extent, found ",
                    shape_str(spec));
      infer_at = static_cast<int64_t>(i);
    } else {
      DIFFLUT_CHECK(spec[i] >= 0, "reshape: expected extents >= 0 (or one -1), found ",
                    shape_str(spec));
      known *= spec[i];
    }
  }
  if (infer_at >= 0) {
    DIFFLUT_CHECK(known > 0 && n % known == 0, "reshape: cannot reshape ", shape_str(from), " (", n,
                  " elements) to ", shape_str(spec));
    out[static_cast<size_t>(infer_at)] = n / known;
  }
  DIFFLUT_CHECK(shape_numel(out) == n, "reshape: cannot reshape ", shape_str(from), " (", n,
                " elements) to ", shape_str(spec), " (", shape_numel(out), " elements)");
  return out;
}

GatherCsr gather_csr(const OpCall& c) {
  if (c.attrs.tensors.size() == 3) return GatherCsr{&c.attrs.tensors[1], &c.attrs.tensors[2]};
  DIFFLUT_ASSERT(c.saved.size() >= 2);
  return GatherCsr{&c.saved[0], &c.saved[1]};
}

void copy_axis_block_cpu(const Tensor& src, int64_t src_len, int64_t src_off, Tensor& dst,
                         int64_t dst_len, int64_t dst_off, int64_t outer, int64_t len,
                         int64_t inner, bool accumulate) {
  const int64_t run = len * inner;  // contiguous elements per outer index
  if (run == 0 || outer == 0) return;
  const int64_t grain = std::max<int64_t>(1, (1 << 15) / run);
  if (!accumulate) {
    const size_t es = dtype_size(src.dtype());
    const char* s = static_cast<const char*>(src.raw());
    char* d = static_cast<char*>(dst.raw());
    parallel_for(0, outer, grain, [&](int64_t lo, int64_t hi) {
      for (int64_t o = lo; o < hi; ++o)
        std::memcpy(d + static_cast<size_t>((o * dst_len + dst_off) * inner) * es,
                    s + static_cast<size_t>((o * src_len + src_off) * inner) * es,
                    static_cast<size_t>(run) * es);
    });
    return;
  }
  DIFFLUT_DISPATCH_FLOAT(src.dtype(), "copy_axis_block", [&] {
    const scalar_t* s = src.data<scalar_t>();
    scalar_t* d = dst.data<scalar_t>();
    parallel_for(0, outer, grain, [&](int64_t lo, int64_t hi) {
      for (int64_t o = lo; o < hi; ++o) {
        const scalar_t* so = s + (o * src_len + src_off) * inner;
        scalar_t* dd = d + (o * dst_len + dst_off) * inner;
        for (int64_t i = 0; i < run; ++i) dd[i] += so[i];
      }
    });
  });
}

namespace {

// dst [C, R] (+)= src [R, C]ᵀ in 32x32 tiles so both sides touch few cache lines per tile; threads
// own disjoint row bands of src, i.e. disjoint column bands of dst.
template <class T>
void transpose_blocked(const T* src,  // [R, C]
                       T* dst,        // [C, R]
                       int64_t R, int64_t C, bool accumulate) {
  constexpr int64_t kT = 32;
  const int64_t bands = (R + kT - 1) / kT;
  parallel_for(0, bands, std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(C * kT, 1)),
               [&](int64_t lo, int64_t hi) {
                 for (int64_t band = lo; band < hi; ++band) {
                   const int64_t i0 = band * kT, i1 = std::min(R, i0 + kT);
                   for (int64_t j0 = 0; j0 < C; j0 += kT) {
                     const int64_t j1 = std::min(C, j0 + kT);
                     for (int64_t j = j0; j < j1; ++j) {
                       T* d = dst + j * R;
                       if (accumulate) {
                         for (int64_t i = i0; i < i1; ++i) d[i] += src[i * C + j];
                       } else {
                         for (int64_t i = i0; i < i1; ++i) d[i] = src[i * C + j];
                       }
                     }
                   }
                 }
               });
}

}  // namespace

// ---- reshape: the output is a view of the input (no copy); backward adds the gradient through.
void reshape_forward_cpu(OpCall& c) { *c.out = c.in[0]->reshape(c.out->shape()); }

void reshape_backward_cpu(OpCall& c) {
  if (!c.grad_in[0]) return;
  DIFFLUT_DISPATCH_FLOAT(c.grad_out->dtype(), "reshape", [&] {
    const scalar_t* g = c.grad_out->data<scalar_t>();
    scalar_t* d = c.grad_in[0]->data<scalar_t>();
    parallel_for(0, c.grad_out->numel(), 1 << 15, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) d[i] += g[i];
    });
  });
}

// ---- transpose: [M, N] -> [N, M]
void transpose_forward_cpu(OpCall& c) {
  const Tensor& x = *c.in[0];
  DIFFLUT_DISPATCH_ALL(x.dtype(), "transpose", [&] {
    transpose_blocked<scalar_t>(x.data<scalar_t>(), c.out->data<scalar_t>(), x.size(0), x.size(1),
                                false);
  });
}

void transpose_backward_cpu(OpCall& c) {
  if (!c.grad_in[0]) return;
  const Tensor& g = *c.grad_out;  // [N, M]
  DIFFLUT_DISPATCH_FLOAT(g.dtype(), "transpose", [&] {
    transpose_blocked<scalar_t>(g.data<scalar_t>(), c.grad_in[0]->data<scalar_t>(), g.size(0),
                                g.size(1), true);
  });
}

void concat_forward_cpu(OpCall& c) { concat_forward_with(c, copy_axis_block_cpu); }
void concat_backward_cpu(OpCall& c) { concat_backward_with(c, copy_axis_block_cpu); }
void slice_forward_cpu(OpCall& c) { slice_forward_with(c, copy_axis_block_cpu); }
void slice_backward_cpu(OpCall& c) { slice_backward_with(c, copy_axis_block_cpu); }

// ---- gather: out [B, M] = x [B, F] at columns index [M]
void gather_forward_cpu(OpCall& c) {
  const Tensor& x = *c.in[0];
  const Tensor& index = c.attrs.tensors.at(0);
  const int64_t B = x.size(0), F = x.size(1), M = index.numel();
  std::vector<int64_t> idx = DIFFLUT_DISPATCH_INDEX(index.dtype(), "gather", [&] {
    const index_t* p = index.data<index_t>();
    return std::vector<int64_t>(p, p + M);
  });
  for (int64_t m = 0; m < M; ++m)
    DIFFLUT_CHECK(idx[static_cast<size_t>(m)] >= 0 && idx[static_cast<size_t>(m)] < F,
                  "gather: index[", m, "] = ", idx[static_cast<size_t>(m)], " is outside [0, ", F,
                  ") for input ", x.describe());
  if (c.attrs.tensors.size() == 1) {
    // No precomputed inverse: build it now for backward (the engine drops it if unneeded).
    GatherInverse inv = make_gather_inverse(index, F, Device::cpu);
    c.saved.push_back(inv.offsets);
    c.saved.push_back(inv.positions);
  }
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "gather", [&] {
    const scalar_t* xp = x.data<scalar_t>();
    scalar_t* yp = c.out->data<scalar_t>();
    parallel_for(0, B, std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(M, 1)),
                 [&](int64_t lo, int64_t hi) {
                   for (int64_t b = lo; b < hi; ++b)
                     for (int64_t m = 0; m < M; ++m)
                       yp[b * M + m] = xp[b * F + idx[static_cast<size_t>(m)]];
                 });
  });
}

// dx[b, f] += Σ_{m : index[m] = f, increasing m} g[b, m]: each (b, f) has one owner, no atomics.
void gather_backward_cpu(OpCall& c) {
  if (!c.grad_in[0]) return;
  const Tensor& x = *c.in[0];
  const int64_t B = x.size(0), F = x.size(1), M = c.out->size(1);
  const GatherCsr csr = gather_csr(c);
  const int32_t* off = csr.offsets->data<int32_t>();
  const int32_t* pos = csr.positions->data<int32_t>();
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "gather", [&] {
    const scalar_t* g = c.grad_out->data<scalar_t>();
    scalar_t* dx = c.grad_in[0]->data<scalar_t>();
    parallel_for(0, B, std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(M + F, 1)),
                 [&](int64_t lo, int64_t hi) {
                   for (int64_t b = lo; b < hi; ++b) {
                     const scalar_t* gb = g + b * M;
                     for (int64_t f = 0; f < F; ++f) {
                       scalar_t s = 0;
                       for (int32_t p = off[f]; p < off[f + 1]; ++p) s += gb[pos[p]];
                       dx[b * F + f] += s;
                     }
                   }
                 });
  });
}

}  // namespace difflut
