// CPU kernels of conv_patches and bit_pool. Backward is a gather over the table's CSR inverse:
// each input element (b, f) is owned by one iteration that sums its readers in increasing flat
// table order, so results are identical for every thread count.
#include <algorithm>

#include "lut/conv_kernels.h"
#include "tensor/parallel.h"

namespace difflut {

namespace {
constexpr int64_t kGrain = 1 << 14;
int64_t rows_grain(int64_t row) { return std::max<int64_t>(1, kGrain / std::max<int64_t>(row, 1)); }
}  // namespace

void conv_patches_forward_cpu(OpCall& c) {
  const Tensor& x = *c.in[0];
  const int32_t* t = c.attrs.tensors[0].data<int32_t>();
  const int64_t B = x.size(0), F = x.size(1), M = c.attrs.tensors[0].numel();
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "conv_patches", [&] {
    const scalar_t* xp = x.data<scalar_t>();
    scalar_t* yp = c.out->data<scalar_t>();
    parallel_for(0, B, rows_grain(M), [&](int64_t lo, int64_t hi) {
      for (int64_t b = lo; b < hi; ++b)
        for (int64_t m = 0; m < M; ++m) yp[b * M + m] = t[m] < 0 ? scalar_t(0) : xp[b * F + t[m]];
    });
  });
}

void conv_patches_backward_cpu(OpCall& c) {
  if (!c.grad_in[0]) return;
  const Tensor& x = *c.in[0];
  const int32_t* off = c.attrs.tensors[1].data<int32_t>();
  const int32_t* pos = c.attrs.tensors[2].data<int32_t>();
  const int64_t B = x.size(0), F = x.size(1), M = c.attrs.tensors[0].numel();
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "conv_patches", [&] {
    const scalar_t* gy = c.grad_out->data<scalar_t>();
    scalar_t* gx = c.grad_in[0]->data<scalar_t>();
    parallel_for(0, B, rows_grain(M), [&](int64_t lo, int64_t hi) {
      for (int64_t b = lo; b < hi; ++b)
        for (int64_t f = 0; f < F; ++f) {  // the virtual padding input F is skipped
          scalar_t acc = 0;
          for (int32_t j = off[f]; j < off[f + 1]; ++j) acc += gy[b * M + pos[j]];
          gx[b * F + f] += acc;
        }
    });
  });
}

void bit_pool_forward_cpu(OpCall& c) {
  const Tensor& x = *c.in[0];
  const int32_t* t = c.attrs.tensors[0].data<int32_t>();
  const int64_t B = x.size(0), F = x.size(1), Q = c.attrs.tensors[0].size(0);
  const int R = static_cast<int>(c.attrs.tensors[0].size(1));
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "bit_pool", [&] {
    const scalar_t* xp = x.data<scalar_t>();
    scalar_t* yp = c.out->data<scalar_t>();
    parallel_for(0, B, rows_grain(Q * R), [&](int64_t lo, int64_t hi) {
      for (int64_t b = lo; b < hi; ++b)
        for (int64_t q = 0; q < Q; ++q) {
          const int32_t* w = t + q * R;
          yp[b * Q + q] = xp[b * F + w[bit_pool_first_max(xp + b * F, w, R)]];
        }
    });
  });
}

void bit_pool_backward_cpu(OpCall& c) {
  if (!c.grad_in[0]) return;
  const Tensor& x = *c.in[0];
  const int32_t* t = c.attrs.tensors[0].data<int32_t>();
  const int32_t* off = c.attrs.tensors[1].data<int32_t>();
  const int32_t* pos = c.attrs.tensors[2].data<int32_t>();
  const int64_t B = x.size(0), F = x.size(1), Q = c.attrs.tensors[0].size(0);
  const int R = static_cast<int>(c.attrs.tensors[0].size(1));
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "bit_pool", [&] {
    const scalar_t* xp = x.data<scalar_t>();
    const scalar_t* gy = c.grad_out->data<scalar_t>();
    scalar_t* gx = c.grad_in[0]->data<scalar_t>();
    parallel_for(0, B, rows_grain(F + Q * R), [&](int64_t lo, int64_t hi) {
      for (int64_t b = lo; b < hi; ++b) {
        const scalar_t* xr = xp + b * F;
        for (int64_t f = 0; f < F; ++f) {
          scalar_t acc = 0;
          for (int32_t j = off[f]; j < off[f + 1]; ++j) {
            const int64_t q = pos[j] / R, r = pos[j] % R;
            if (bit_pool_first_max(xr, t + q * R, R) == r) acc += gy[b * Q + q];
          }
          gx[b * F + f] += acc;
        }
      }
    });
  });
}

}  // namespace difflut
