// Index math for numpy broadcasting and for reductions to a broadcast shape, shared by the CPU
// (.cpp) and CUDA (.cu) kernels. Shapes are collapsed first: output dims of extent 1 are dropped and
// neighbouring dims with the same broadcast pattern are merged, so the common cases (same shape, a
// row [N] or column [M, 1] against [M, N], a scalar) become 1-D or 2-D problems with strides 0 / 1.
#pragma once
#include <cstdint>

#include "tensor/host_device.h"
#include "tensor/shape.h"


namespace difflut {

constexpr int kMaxBroadcastDims = 8;

// The numpy broadcast of a and b (trailing dims aligned; extent 1 or a missing dim broadcasts).
// Returns false when some aligned pair of extents differs and neither is 1.
inline bool broadcast_shapes(const Shape& a, const Shape& b, Shape& out) {
  const size_t r = a.size() > b.size() ? a.size() : b.size();
  out.assign(r, 1);
  for (size_t k = 0; k < r; ++k) {  // k counts from the innermost dim
    const int64_t ea = k < a.size() ? a[a.size() - 1 - k] : 1;
    const int64_t eb = k < b.size() ? b[b.size() - 1 - k] : 1;
    if (ea != eb && ea != 1 && eb != 1) return false;
    out[r - 1 - k] = ea == 1 ? eb : ea;
  }
  return true;
}

// Maps a flat output index to element offsets into a and b. Each collapsed dim has stride 0
// (broadcast) or the input's contiguous stride.
struct BroadcastIndex {
  int ndim = 1;                          // collapsed dims, >= 1
  int64_t size[kMaxBroadcastDims] = {};  // collapsed output extents, outermost first
  int64_t stride_a[kMaxBroadcastDims] = {};
  int64_t stride_b[kMaxBroadcastDims] = {};
};

// `out` must be broadcast_shapes(a, b) (rank <= kMaxBroadcastDims, checked by shape inference).
inline BroadcastIndex make_broadcast_index(const Shape& out, const Shape& a, const Shape& b) {
  BroadcastIndex bi;
  bool fa[kMaxBroadcastDims] = {}, fb[kMaxBroadcastDims] = {};
  int nd = 0;
  const size_t r = out.size();
  for (size_t d = 0; d < r; ++d) {
    if (out[d] == 1) continue;  // no index contribution
    const size_t k = r - 1 - d;
    const bool ha = k < a.size() && a[a.size() - 1 - k] != 1;
    const bool hb = k < b.size() && b[b.size() - 1 - k] != 1;
    if (nd > 0 && fa[nd - 1] == ha && fb[nd - 1] == hb) {
      bi.size[nd - 1] *= out[d];
    } else {
      bi.size[nd] = out[d];
      fa[nd] = ha;
      fb[nd] = hb;
      ++nd;
    }
  }
  if (nd == 0) {  // a single element
    bi.ndim = 1;
    bi.size[0] = 1;
    return bi;
  }
  bi.ndim = nd;
  int64_t ra = 1, rb = 1;
  for (int d = nd - 1; d >= 0; --d) {
    bi.stride_a[d] = fa[d] ? ra : 0;
    bi.stride_b[d] = fb[d] ? rb : 0;
    if (fa[d]) ra *= bi.size[d];
    if (fb[d]) rb *= bi.size[d];
  }
  return bi;
}

// Offsets into a and b of flat output element i.
DIFFLUT_HD void broadcast_offsets(const BroadcastIndex& bi, int64_t i, int64_t& oa, int64_t& ob) {
  oa = 0;
  ob = 0;
  for (int d = bi.ndim - 1; d >= 0; --d) {
    const int64_t q = i / bi.size[d];
    const int64_t c = i - q * bi.size[d];
    oa += c * bi.stride_a[d];
    ob += c * bi.stride_b[d];
    i = q;
  }
}

// Summing a tensor of shape `src` down to a shape `dst` that broadcasts to it (a broadcast operand's
// gradient, or a reduction along one axis with dst's extent 1 there). When the reduced dims form one
// contiguous group the problem is [O, R, I] -> [O, I] (`simple`); otherwise the general form walks
// the collapsed dims (`kept` ones index dst, the others are summed over).
struct ReducePlan {
  bool simple = true;
  int64_t O = 1, R = 1, I = 1;  // simple form
  int ndim = 0;                 // general form: collapsed src dims, outermost first
  int64_t size[kMaxBroadcastDims] = {};
  int64_t src_stride[kMaxBroadcastDims] = {};
  bool kept[kMaxBroadcastDims] = {};
  int64_t dst_numel = 1;
  int64_t reduced_numel = 1;
};

inline ReducePlan make_reduce_plan(const Shape& src, const Shape& dst) {
  ReducePlan p;
  const size_t r = src.size();
  int nd = 0;
  for (size_t d = 0; d < r; ++d) {
    if (src[d] == 1) continue;
    const size_t k = r - 1 - d;
    const bool keep = k < dst.size() && dst[dst.size() - 1 - k] != 1;
    if (nd > 0 && p.kept[nd - 1] == keep) {
      p.size[nd - 1] *= src[d];
    } else {
      p.size[nd] = src[d];
      p.kept[nd] = keep;
      ++nd;
    }
  }
  p.ndim = nd;
  int64_t stride = 1;
  for (int d = nd - 1; d >= 0; --d) {
    p.src_stride[d] = stride;
    stride *= p.size[d];
    (p.kept[d] ? p.dst_numel : p.reduced_numel) *= p.size[d];
  }
  int groups = 0;
  for (int d = 0; d < nd; ++d) groups += p.kept[d] ? 0 : 1;
  p.simple = groups <= 1;
  if (p.simple) {
    bool seen = false;
    for (int d = 0; d < nd; ++d) {
      if (!p.kept[d]) {
        p.R = p.size[d];
        seen = true;
      } else {
        (seen ? p.I : p.O) *= p.size[d];
      }
    }
  }
  return p;
}

// [O, R, I] form of a reduction of `shape` along `axis` (already normalised to [0, rank)).
inline void axis_split(const Shape& shape, int64_t axis, int64_t& O, int64_t& R, int64_t& I) {
  O = 1;
  I = 1;
  for (int64_t d = 0; d < axis; ++d) O *= shape[static_cast<size_t>(d)];
  R = shape[static_cast<size_t>(axis)];
  for (size_t d = static_cast<size_t>(axis) + 1; d < shape.size(); ++d) I *= shape[d];
}

// General-form helpers: the src offset of dst element k (kept dims), and the src offset of reduced
// position j (reduced dims), both counted row-major over their dims.
DIFFLUT_HD int64_t reduce_kept_offset(const ReducePlan& p, int64_t k) {
  int64_t off = 0;
  for (int d = p.ndim - 1; d >= 0; --d) {
    if (!p.kept[d]) continue;
    const int64_t q = k / p.size[d];
    off += (k - q * p.size[d]) * p.src_stride[d];
    k = q;
  }
  return off;
}
DIFFLUT_HD int64_t reduce_reduced_offset(const ReducePlan& p, int64_t j) {
  int64_t off = 0;
  for (int d = p.ndim - 1; d >= 0; --d) {
    if (p.kept[d]) continue;
    const int64_t q = j / p.size[d];
    off += (j - q * p.size[d]) * p.src_stride[d];
    j = q;
  }
  return off;
}

}  // namespace difflut
