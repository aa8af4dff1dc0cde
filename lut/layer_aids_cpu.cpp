// CPU kernels of bit_flip and grad_stabilize. grad_stabilize's sums run in double: per row in
// column order, then (layerwise) over the rows in row order, so the result does not depend on the
// thread count.
#include <algorithm>
#include <cmath>
#include <vector>

#include "lut/layer_aids_kernels.h"
#include "tensor/parallel.h"

namespace difflut {

namespace {
constexpr int64_t kGrain = 16384;

// Per-row sums of (g - centre)^power, power 1 or 2; centre per row (batchwise) or one for all.
template <class T>
std::vector<double> row_sums(const T* g, int64_t B, int64_t N, const std::vector<double>& centre,
                             bool per_row, int power) {
  std::vector<double> out(static_cast<size_t>(B));
  parallel_for(0, B, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, N)),
               [&](int64_t lo, int64_t hi) {
                 for (int64_t b = lo; b < hi; ++b) {
                   const double c = centre.empty() ? 0.0 : centre[per_row ? b : 0];
                   double acc = 0.0;
                   for (int64_t j = 0; j < N; ++j) {
                     const double d = static_cast<double>(g[b * N + j]) - c;
                     acc += power == 1 ? d : d * d;
                   }
                   out[b] = acc;
                 }
               });
  return out;
}

// Row sums -> the per-row (batchwise) or single (layerwise) mean over `count` elements each.
std::vector<double> means(const std::vector<double>& sums, bool per_row, int64_t count) {
  if (per_row) {
    std::vector<double> m(sums.size());
    for (size_t b = 0; b < sums.size(); ++b) m[b] = sums[b] / static_cast<double>(count);
    return m;
  }
  double total = 0.0;
  for (double s : sums) total += s;
  return {total / static_cast<double>(count)};
}
}  // namespace

void bit_flip_forward_cpu(OpCall& c) {
  const Tensor& x = *c.in[0];
  const uint64_t key = static_cast<uint64_t>(c.attrs.ints[0]);
  const double p = c.attrs.floats[0];
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "bit_flip", [&] {
    const scalar_t* xp = x.data<scalar_t>();
    scalar_t* yp = c.out->data<scalar_t>();
    parallel_for(0, x.numel(), kGrain, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i)
        yp[i] = bit_flip_mask(static_cast<uint64_t>(i), key, p) ? scalar_t(1) - xp[i] : xp[i];
    });
  });
}

void bit_flip_backward_cpu(OpCall& c) {
  if (!c.grad_in[0]) return;
  DIFFLUT_DISPATCH_FLOAT(c.grad_out->dtype(), "bit_flip", [&] {
    const scalar_t* gy = c.grad_out->data<scalar_t>();
    scalar_t* gx = c.grad_in[0]->data<scalar_t>();
    parallel_for(0, c.grad_out->numel(), kGrain, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) gx[i] += gy[i];
    });
  });
}

// The identity on any device: the output is a view of the input (as reshape's is).
void grad_stabilize_forward(OpCall& c) { *c.out = *c.in[0]; }

void grad_stabilize_backward_cpu(OpCall& c) {
  if (!c.grad_in[0]) return;
  const Tensor& gy = *c.grad_out;
  const int64_t B = gy.size(0), N = gy.size(1);
  if (B * N == 0) return;
  const bool per_row = c.attrs.ints[0] != 0, subtract_mean = c.attrs.ints[1] != 0;
  const double target = c.attrs.floats[0], eps = c.attrs.floats[1];
  const int64_t count = per_row ? N : B * N;
  DIFFLUT_DISPATCH_FLOAT(gy.dtype(), "grad_stabilize", [&] {
    const scalar_t* g = gy.data<scalar_t>();
    scalar_t* gx = c.grad_in[0]->data<scalar_t>();
    std::vector<double> centre;
    if (subtract_mean) centre = means(row_sums(g, B, N, {}, per_row, 1), per_row, count);
    const std::vector<double> var = means(row_sums(g, B, N, centre, per_row, 2), per_row, count);
    std::vector<double> scale(var.size());
    for (size_t i = 0; i < var.size(); ++i) scale[i] = std::sqrt(target / (var[i] + eps));
    parallel_for(0, B, std::max<int64_t>(1, kGrain / N), [&](int64_t lo, int64_t hi) {
      for (int64_t b = lo; b < hi; ++b) {
        const size_t r = per_row ? static_cast<size_t>(b) : 0;
        const double ctr = centre.empty() ? 0.0 : centre[r];
        for (int64_t j = 0; j < N; ++j)
          gx[b * N + j] += static_cast<scalar_t>((static_cast<double>(g[b * N + j]) - ctr) * scale[r]);
      }
    });
  });
}

}  // namespace difflut
