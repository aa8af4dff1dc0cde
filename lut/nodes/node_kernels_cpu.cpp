// CPU kernels of the built-in node ops: one generic implementation per operation, instantiated for
// every node type's math struct. Forward is parallel over batch rows, backward over nodes (each
// node's parameter gradient is summed over the batch in ascending order, in double), so results
// do not depend on the thread count.
#include <algorithm>
#include <type_traits>
#include <vector>

#include "lut/nodes/node_address_cpu.h"
#include "lut/nodes/node_kernels.h"
#include "lut/nodes/node_lanes_avx512.h"
#include "lut/nodes/node_math.h"
#include "tensor/cpu_clones.h"
#include "tensor/parallel.h"

namespace difflut::nodes {

namespace {

// Nodes per tile of the lookup forward: 256 LUT4 tables are 16 KiB (half an L1), LUT6 64 KiB.
constexpr int64_t kLookupTile = 256;

// Samples per call of a lane backward (node_lane_backward): one AVX-512 register of floats.
constexpr int kLanes = 16;

struct Dims {
  int64_t B, N;
  int k, P, Q;
};

template <class M>
Dims dims_of(NodeKind kind, const Tensor& x, const Tensor& params, const NodeConsts& c) {
  const int64_t N = params.size(0);
  DIFFLUT_CHECK(
      params.dim() == 2 && params.size(1) == c.num_params && x.dim() == 2 && x.size(1) == N * c.k,
      node_op_name(kind), ": expected x [B, N*k] and params [N, ", c.num_params, "] for k = ", c.k,
      ", found x ", x.describe(), " and params ", params.describe());
  return Dims{x.size(0), N, c.k, c.num_params, M::prep_size(c)};
}

// q [N, Q] = prep(params) per node (empty when the type has no precomputation).
// prep_into writes it to q [N·Q] (e.g. the tensor the op keeps for its backward).
template <class M, class T>
void prep_into(const T* p, const Dims& d, const NodeConsts& c, T* q) {
  if (d.Q > 0)
    parallel_for(0, d.N, 256, [&](int64_t lo, int64_t hi) {
      for (int64_t j = lo; j < hi; ++j) M::prep(p + j * d.P, q + j * d.Q, c);
    });
}
template <class M, class T>
std::vector<T> prep_all(const T* p, const Dims& d, const NodeConsts& c) {
  std::vector<T> q(static_cast<size_t>(d.N * d.Q));
  prep_into<M>(p, d, c, q.data());
  return q;
}

template <class M, class T>
void truth_table_impl(const T* p, const Dims& d, const NodeConsts& c, uint8_t* tt) {
  const int K = 1 << d.k;
  parallel_for(0, d.N, std::max<int64_t>(1, 1024 / K), [&](int64_t lo, int64_t hi) {
    std::vector<T> s(static_cast<size_t>(M::scratch_size(d.k)));
    for (int64_t j = lo; j < hi; ++j)
      for (int a = 0; a < K; ++a)
        tt[j * K + a] = M::corner_logit(static_cast<unsigned>(a), p + j * d.P, c, s.data()) >= T(0);
  });
}

// Training forward of batch rows [lo, hi) (hot loop: one clone per instruction set).
template <class M, class T>
DIFFLUT_CPU_CLONES void forward_rows(const T* x, const T* p, const T* q, const Dims& d,
                                     const NodeConsts& c, int64_t lo, int64_t hi, T* s, T* out) {
  for (int64_t b = lo; b < hi; ++b)
    for (int64_t j = 0; j < d.N; ++j)
      out[b * d.N + j] =
          M::forward(x + (b * d.N + j) * d.k, p + j * d.P, d.Q > 0 ? q + j * d.Q : nullptr, c, s);
}

// Backward of nodes [lo, hi) over the whole batch; parameter gradients accumulate into acc
// [(hi - lo), P] (hot loop: one clone per instruction set).
template <class M, class T>
DIFFLUT_CPU_CLONES void backward_nodes(const T* x, const T* p, const T* q, const T* g,
                                       const Dims& d, const NodeConsts& c, int64_t lo, int64_t hi,
                                       T* s, double* acc, T* gx) {
  if constexpr (node_lane_backward<M>()) {
    // kLanes samples of one node at once (the math vectorises across samples); each node's
    // gradient still sums the samples in ascending order.
    constexpr int W = kLanes;
    T xs[kMaxK * W], gs[W], dxs[kMaxK * W];
    std::vector<T> scratch(static_cast<size_t>(2 * W) << d.k);
    const int64_t x_stride = d.N * d.k;  // floats between one sample's node inputs and the next's
    // The AVX-512 lane pieces (node_lanes_avx512.h): float only, same values as the loops below.
    bool avx = false;
    if constexpr (std::is_same_v<T, float> && W == 16) avx = lanes_avx512_usable(x_stride);
    for (int64_t j = lo; j < hi; ++j) {
      const T* pj = p + j * d.P;
      const T* qj = d.Q > 0 ? q + j * d.Q : nullptr;
      double* accj = acc ? acc + (j - lo) * d.P : nullptr;
      for (int64_t b0 = 0; b0 < d.B; b0 += W) {
        const int nl = static_cast<int>(std::min<int64_t>(W, d.B - b0));
        const int64_t i0 = b0 * d.N + j;  // (sample b0, node j)
        if constexpr (std::is_same_v<T, float> && W == 16) {
          if (avx) {
            load_lanes16(x + i0 * d.k, x_stride, d.k, g + i0, d.N, nl, xs, gs);
            bool done = false;
            if constexpr (node_multilinear_lanes<M>()) {
              // Binary inputs: the corner path in vector registers; else the fold, whose corner
              // sums are then vector reductions (ml_grad_lanes_acc's two branches, same values).
              done = corner_lanes16(qj, d.k, xs, gs, dxs, accj);
              if (!done) {
                T* levels = scratch.data();
                T* adj = levels + (W << d.k);
                std::fill(dxs, dxs + d.k * W, T(0));
                ml_grad_lanes<W>(qj, xs, d.k, gs, dxs, levels, adj);
                if (accj) add_corner_sums16(adj, 1 << d.k, accj);
                done = true;
              }
            }
            if (!done) {
              std::fill(dxs, dxs + d.k * W, T(0));
              M::template backward_lanes<W>(xs, pj, qj, c, gs, dxs, accj, scratch.data());
            }
            if (gx) add_lanes16(dxs, d.k, nl, gx + i0 * d.k, x_stride);
            continue;
          }
        }
        std::fill(dxs, dxs + d.k * W, T(0));
        if (nl < W) {  // padding lanes: g = 0 adds nothing anywhere
          std::fill(gs, gs + W, T(0));
          std::fill(xs, xs + d.k * W, T(0));
        }
        for (int s = 0; s < nl; ++s) {
          const int64_t i = (b0 + s) * d.N + j;
          gs[s] = g[i];
          for (int l = 0; l < d.k; ++l) xs[l * W + s] = x[i * d.k + l];
        }
        M::template backward_lanes<W>(xs, pj, qj, c, gs, dxs, accj, scratch.data());
        if (gx)
          for (int s = 0; s < nl; ++s)
            for (int l = 0; l < d.k; ++l) gx[((b0 + s) * d.N + j) * d.k + l] += dxs[l * W + s];
      }
    }
    return;
  }
  T dx[kMaxK];
  for (int64_t b = 0; b < d.B; ++b) {
    for (int64_t j = lo; j < hi; ++j) {
      const int64_t i = b * d.N + j;
      for (int l = 0; l < d.k; ++l) dx[l] = T(0);
      M::backward(x + i * d.k, p + j * d.P, d.Q > 0 ? q + j * d.Q : nullptr, c, g[i], dx,
                  acc ? acc + (j - lo) * d.P : nullptr, s);
      if (gx)
        for (int l = 0; l < d.k; ++l) gx[i * d.k + l] += dx[l];
    }
  }
}

template <class M, class T>
void forward_impl(const T* x, const T* p, const Dims& d, const NodeConsts& c, bool training, T* out,
                  T* q_keep) {
  const int64_t grain = std::max<int64_t>(1, 4096 / std::max<int64_t>(1, d.N));
  if (training) {
    // Into the kept tensor when the op keeps it (no second buffer and copy per step).
    std::vector<T> q_own;
    if (!q_keep)
      q_own = prep_all<M>(p, d, c);
    else
      prep_into<M>(p, d, c, q_keep);
    const T* q = q_keep ? q_keep : q_own.data();
    if constexpr (node_lookup_forward<M>()) {
      // Tiles of nodes, every batch row per tile: a tile's tables (kLookupTile · Q values) stay in
      // L1 across the rows instead of the whole layer's streaming from L2/L3 once per row.
      parallel_for(0, d.N, kLookupTile, [&](int64_t lo, int64_t hi) {
        for (int64_t t = lo; t < hi; t += kLookupTile) {
          const int64_t n = std::min(kLookupTile, hi - t);
          uint32_t addr[kLookupTile];
          for (int64_t b = 0; b < d.B; ++b) {
            node_addresses_row(x + (b * d.N + t) * d.k, n, d.k, addr);
            lookup_row(q + t * d.Q, d.Q, addr, n, out + b * d.N + t);
          }
        }
      });
      return;
    }
    parallel_for(0, d.B, grain, [&](int64_t lo, int64_t hi) {
      std::vector<T> s(static_cast<size_t>(M::scratch_size(d.k)));
      forward_rows<M>(x, p, q, d, c, lo, hi, s.data(), out);
    });
    return;
  }
  // Eval: the truth table once per node, then a lookup per sample (the exported function exactly).
  const int K = 1 << d.k;
  std::vector<uint8_t> tt(static_cast<size_t>(d.N * K));
  truth_table_impl<M>(p, d, c, tt.data());
  parallel_for(0, d.B, grain, [&](int64_t lo, int64_t hi) {
    std::vector<uint32_t> addr(static_cast<size_t>(d.N));
    for (int64_t b = lo; b < hi; ++b) {
      node_addresses_row(x + b * d.N * d.k, d.N, d.k, addr.data());
      for (int64_t j = 0; j < d.N; ++j) out[b * d.N + j] = tt[j * K + addr[j]] ? T(1) : T(0);
    }
  });
}

template <class M, class T>
void backward_impl(const T* x, const T* p, const T* g, const Dims& d, const NodeConsts& c, T* gx,
                   T* gp, const T* q_given) {
  // The forward's precomputation when the op kept it (σ tables: 2^k exp per node), else again.
  std::vector<T> q_own;
  if (!q_given) q_own = prep_all<M>(p, d, c);
  const T* q = q_given ? q_given : q_own.data();
  parallel_for(0, d.N, 1, [&](int64_t lo, int64_t hi) {
    std::vector<T> s(static_cast<size_t>(M::scratch_size(d.k)));
    std::vector<double> acc(gp ? static_cast<size_t>((hi - lo) * d.P) : 0, 0.0);
    backward_nodes<M>(x, p, q, g, d, c, lo, hi, s.data(), gp ? acc.data() : nullptr, gx);
    if (gp)
      for (int64_t j = lo; j < hi; ++j) {
        double* a = acc.data() + (j - lo) * d.P;
        M::post(p + j * d.P, d.Q > 0 ? q + j * d.Q : nullptr, c, a);
        for (int i = 0; i < d.P; ++i) gp[j * d.P + i] += static_cast<T>(a[i]);
      }
  });
}

}  // namespace

void node_forward_host(NodeKind kind, const Tensor& x, const Tensor& params, const NodeConsts& c,
                       bool training, Tensor& out, Tensor* prep_keep) {
  dispatch_node_math(kind, [&](auto m) {
    using M = decltype(m);
    const Dims d = dims_of<M>(kind, x, params, c);
    if (d.B == 0 || d.N == 0) return;
    const bool keep = prep_keep && training && d.Q > 0;
    if (keep) *prep_keep = Tensor::empty({d.N * d.Q}, params.dtype());
    DIFFLUT_DISPATCH_FLOAT(x.dtype(), node_op_name(kind), [&] {
      forward_impl<M>(x.data<scalar_t>(), params.data<scalar_t>(), d, c, training,
                      out.data<scalar_t>(), keep ? prep_keep->data<scalar_t>() : nullptr);
    });
  });
}

void node_backward_host(NodeKind kind, const Tensor& x, const Tensor& params, const NodeConsts& c,
                        const Tensor& grad_out, Tensor* grad_x, Tensor* grad_params,
                        const Tensor* prep) {
  if (!grad_x && !grad_params) return;
  dispatch_node_math(kind, [&](auto m) {
    using M = decltype(m);
    const Dims d = dims_of<M>(kind, x, params, c);
    if (d.B == 0 || d.N == 0) return;
    const bool use_prep = prep && prep->defined() && prep->numel() == d.N * d.Q && d.Q > 0;
    DIFFLUT_DISPATCH_FLOAT(x.dtype(), node_op_name(kind), [&] {
      backward_impl<M>(x.data<scalar_t>(), params.data<scalar_t>(), grad_out.data<scalar_t>(), d, c,
                       grad_x ? grad_x->data<scalar_t>() : nullptr,
                       grad_params ? grad_params->data<scalar_t>() : nullptr,
                       use_prep ? prep->data<scalar_t>() : nullptr);
    });
  });
}

Tensor node_truth_table_host(NodeKind kind, const Tensor& params, const NodeConsts& c) {
  const int64_t N = params.size(0);
  Tensor tt = Tensor::empty({N, int64_t{1} << c.k}, DType::u8);
  dispatch_node_math(kind, [&](auto m) {
    using M = decltype(m);
    DIFFLUT_CHECK(params.dim() == 2 && params.size(1) == c.num_params, node_op_name(kind),
                  ": expected params [N, ", c.num_params, "] for k = ", c.k, ", found ",
                  params.describe());
    const Dims d{0, N, c.k, c.num_params, M::prep_size(c)};
    DIFFLUT_DISPATCH_FLOAT(params.dtype(), node_op_name(kind), [&] {
      truth_table_impl<M>(params.data<scalar_t>(), d, c, tt.data<uint8_t>());
    });
  });
  return tt;
}

// The forward keeps the per-node precomputation for the backward of the same step (saved[0]).
void node_lut_forward_cpu(OpCall& c) {
  const NodeKind kind = node_kind_of(c.def->kind);
  Tensor prep;
  node_forward_host(kind, *c.in[0], *c.in[1], node_consts(kind, c.attrs), c.attrs.ints[1] != 0,
                    *c.out, &prep);
  if (prep.defined()) c.saved.push_back(prep);
}

void node_lut_backward_cpu(OpCall& c) {
  const NodeKind kind = node_kind_of(c.def->kind);
  node_backward_host(kind, *c.in[0], *c.in[1], node_consts(kind, c.attrs), *c.grad_out,
                     c.grad_in[0], c.grad_in[1], c.saved.empty() ? nullptr : &c.saved[0]);
}

}  // namespace difflut::nodes
