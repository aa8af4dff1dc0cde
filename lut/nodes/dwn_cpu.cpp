// CPU kernels of the dwn_lut op: forward lookup, straight-through table gradient and EFD input
// gradient. Every loop is parallel over LUTs or batch rows with disjoint writes, so results do not
// depend on the thread count.
#include <algorithm>
#include <vector>

#include "lut/nodes/dwn_kernels.h"
#include "lut/nodes/node_address_cpu.h"
#include "tensor/parallel.h"

namespace difflut {

namespace {
struct DwnDims {
  int64_t B, N;
  int k;
  int K;  // 2^k
};

DwnDims dwn_dims(const OpCall& c) {
  const int k = static_cast<int>(c.attrs.ints[0]);
  return DwnDims{c.in[0]->size(0), c.in[1]->size(0), k, 1 << k};
}
}  // namespace

void dwn_lut_forward_cpu(OpCall& c) {
  const DwnDims d = dwn_dims(c);
  Tensor addr = Tensor::empty({d.B, d.N}, DType::u8);
  DIFFLUT_DISPATCH_FLOAT(c.in[0]->dtype(), "dwn_lut", [&] {
    const scalar_t* x = c.in[0]->data<scalar_t>();
    const scalar_t* table = c.in[1]->data<scalar_t>();
    scalar_t* out = c.out->data<scalar_t>();
    uint8_t* ap = addr.data<uint8_t>();
    const int64_t per_row = std::max<int64_t>(1, d.N * d.k);
    parallel_for(0, d.B, std::max<int64_t>(1, 16384 / per_row), [&](int64_t lo, int64_t hi) {
      std::vector<uint32_t> row(static_cast<size_t>(d.N));
      for (int64_t b = lo; b < hi; ++b) {
        nodes::node_addresses_row(x + b * d.N * d.k, d.N, d.k, row.data());
        for (int64_t j = 0; j < d.N; ++j) {
          const uint32_t a = row[j];
          ap[b * d.N + j] = static_cast<uint8_t>(a);
          out[b * d.N + j] = table[j * d.K + a] > scalar_t(0) ? scalar_t(1) : scalar_t(0);
        }
      }
    });
  });
  c.saved.push_back(addr);
}

void dwn_lut_backward_cpu(OpCall& c) {
  Tensor* gx_t = c.grad_in[0];
  Tensor* gt_t = c.grad_in[1];
  if (!gx_t && !gt_t) return;
  const DwnDims d = dwn_dims(c);
  const double alpha = c.attrs.floats[0];
  const double beta = c.attrs.floats[1];
  const uint8_t* addr = c.saved.at(0).data<uint8_t>();
  DIFFLUT_DISPATCH_FLOAT(c.in[0]->dtype(), "dwn_lut", [&] {
    const scalar_t* g = c.grad_out->data<scalar_t>();
    // Table gradient: per LUT, Σ_b g[b][j] over samples with that address, summed in double in
    // ascending b (the CUDA kernel sums in the same order, so both give the same bits), then added
    // once into the buffer (so two backward passes give exactly twice the gradient).
    if (gt_t) {
      scalar_t* gt = gt_t->data<scalar_t>();
      parallel_for(0, d.N, std::max<int64_t>(1, 4096 / d.K), [&](int64_t lo, int64_t hi) {
        std::vector<double> acc(static_cast<size_t>((hi - lo) * d.K), 0.0);
        for (int64_t b = 0; b < d.B; ++b) {
          const uint8_t* ab = addr + b * d.N;
          const scalar_t* gb = g + b * d.N;
          for (int64_t j = lo; j < hi; ++j)
            acc[static_cast<size_t>((j - lo) * d.K + ab[j])] += static_cast<double>(gb[j]);
        }
        for (int64_t j = lo; j < hi; ++j)
          for (int a = 0; a < d.K; ++a)
            gt[j * d.K + a] += static_cast<scalar_t>(acc[static_cast<size_t>((j - lo) * d.K + a)]);
      });
    }
    // Input gradient (EFD): the per-LUT table G[l][a] once, then a lookup per sample and input.
    if (gx_t) {
      const scalar_t* table = c.in[1]->data<scalar_t>();
      scalar_t* gx = gx_t->data<scalar_t>();
      parallel_for(0, d.N, 1, [&](int64_t lo, int64_t hi) {
        std::vector<double> h(static_cast<size_t>(d.K * kEfdLanes)), tmp(h.size());
        std::vector<scalar_t> G(h.size());
        for (int64_t j = lo; j < hi; ++j) {
          dwn_efd_gradient_table(table + j * d.K, d.k, alpha, beta, h.data(), tmp.data());
          for (size_t i = 0; i < h.size(); ++i) G[i] = static_cast<scalar_t>(h[i]);
          for (int64_t b = 0; b < d.B; ++b) {
            const scalar_t* Ga = G.data() + static_cast<size_t>(addr[b * d.N + j]) * kEfdLanes;
            const scalar_t gv = g[b * d.N + j];
            scalar_t* gxb = gx + b * d.N * d.k + j * d.k;
            for (int l = 0; l < d.k; ++l) gxb[l] += gv * Ga[l];
          }
        }
      });
    }
  });
}

}  // namespace difflut
