// CPU kernels of the sparse learnable mapping: the per-slot hard choice, the gather forward, dW over
// the candidates and dx through the CSR inverse of the candidates.
//
// Determinism: every output element has one owner that reduces in a fixed order (slots own their
// choice and their C entries of dW, (row, input) pairs own dx), so results are bit-identical for any
// thread count.
#include <algorithm>
#include <vector>

#include "lut/sparse_mapping_kernels.h"
#include "lut/sparse_mapping_math.h"
#include "tensor/parallel.h"

namespace difflut {

void sparse_mapping_choice_cpu(const Tensor& w, const Tensor& cand, Tensor& idx) {
  const int64_t S = w.size(0), C = w.size(1);
  const int32_t* cp = cand.data<int32_t>();
  int32_t* ip = idx.data<int32_t>();
  DIFFLUT_DISPATCH_FLOAT(w.dtype(), "sparse_mapping", [&] {
    const scalar_t* wp = w.data<scalar_t>();
    parallel_for(0, S, 4096, [&](int64_t lo, int64_t hi) {
      for (int64_t s = lo; s < hi; ++s) ip[s] = cp[s * C + sparse_choice(wp + s * C, C)];
    });
  });
}

void sparse_mapping_forward_cpu(OpCall& c) {
  const Tensor& x = *c.in[0];
  const Tensor& w = *c.in[1];
  const int64_t B = x.size(0), F = x.size(1), S = w.size(0);
  Tensor idx = Tensor::empty({S}, DType::i32, Device::cpu);
  sparse_mapping_choice_cpu(w, c.attrs.tensors.at(0), idx);
  const int32_t* ip = idx.data<int32_t>();
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "sparse_mapping", [&] {
    const scalar_t* xp = x.data<scalar_t>();
    scalar_t* op = c.out->data<scalar_t>();
    parallel_for(0, B, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t b = lo; b < hi; ++b)
        for (int64_t s = 0; s < S; ++s) op[b * S + s] = xp[b * F + ip[s]];
    });
  });
}

void sparse_mapping_backward_cpu(OpCall& c) {
  const Tensor& x = *c.in[0];
  const Tensor& w = *c.in[1];
  const Tensor& g = *c.grad_out;
  const int64_t B = x.size(0), F = x.size(1), S = w.size(0), C = w.size(1);
  const int32_t* cand = c.attrs.tensors.at(0).data<int32_t>();
  const int32_t* offsets = c.attrs.tensors.at(1).data<int32_t>();
  const int32_t* positions = c.attrs.tensors.at(2).data<int32_t>();
  const double tau = c.attrs.floats.at(0);
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "sparse_mapping", [&] {
    using T = scalar_t;
    const T* xp = x.data<T>();
    const T* gp = g.data<T>();
    const T* wp = w.data<T>();
    if (c.grad_in[1]) {
      // Read in place, every dW term would touch two cache lines (x and g columns are strided by F
      // and S); batch chunks of x and g are transposed first so each entry reads two contiguous runs.
      constexpr int64_t kChunk = 64;
      std::vector<T> acc(static_cast<size_t>(S * C), T(0));
      std::vector<T> xt(static_cast<size_t>(F * std::min(B, kChunk)));
      for (int64_t b0 = 0; b0 < B; b0 += kChunk) {
        const int64_t n = std::min(kChunk, B - b0);
        parallel_for(0, F, 512, [&](int64_t lo, int64_t hi) {
          for (int64_t i = lo; i < hi; ++i)
            for (int64_t j = 0; j < n; ++j) xt[i * n + j] = xp[(b0 + j) * F + i];
        });
        parallel_for(0, S, 256, [&](int64_t lo, int64_t hi) {
          std::vector<T> gt(static_cast<size_t>((hi - lo) * n));
          for (int64_t s = lo; s < hi; ++s)
            for (int64_t j = 0; j < n; ++j) gt[(s - lo) * n + j] = gp[(b0 + j) * S + s];
          for (int64_t s = lo; s < hi; ++s)
            for (int64_t k = 0; k < C; ++k) {
              acc[static_cast<size_t>(s * C + k)] +=
                  sparse_dw_chunk(xt.data() + cand[s * C + k] * n, gt.data() + (s - lo) * n, n);
            }
        });
      }
      T* dw = c.grad_in[1]->data<T>();
      for (int64_t e = 0; e < S * C; ++e) dw[e] += acc[static_cast<size_t>(e)];
    }
    if (c.grad_in[0]) {
      std::vector<T> p(static_cast<size_t>(S * C));
      parallel_for(0, S, 1024, [&](int64_t lo, int64_t hi) {
        for (int64_t s = lo; s < hi; ++s)
          sparse_softmax(wp + s * C, C, static_cast<T>(tau), p.data() + s * C);
      });
      // The CSR list's slots and weights in list order, so the per-row loop has no division.
      std::vector<int32_t> slot(static_cast<size_t>(S * C));
      std::vector<T> weight(static_cast<size_t>(S * C));
      parallel_for(0, S * C, 4096, [&](int64_t lo, int64_t hi) {
        for (int64_t k = lo; k < hi; ++k) {
          slot[static_cast<size_t>(k)] = static_cast<int32_t>(positions[k] / C);
          weight[static_cast<size_t>(k)] = p[static_cast<size_t>(positions[k])];
        }
      });
      T* dx = c.grad_in[0]->data<T>();
      parallel_for(0, B, 1, [&](int64_t lo, int64_t hi) {
        for (int64_t b = lo; b < hi; ++b)
          for (int64_t i = 0; i < F; ++i)
            dx[b * F + i] +=
                sparse_dx_entry(gp + b * S, slot.data(), weight.data(), offsets[i], offsets[i + 1]);
      });
    }
  });
}

}  // namespace difflut
