// CPU kernels of the lut_regularizer op: one node (a column of F [2^k, N]) per loop iteration,
// parallel over nodes with disjoint writes.
#include <vector>

#include "lut/nodes/node_kernels.h"
#include "lut/nodes/regularizer_math.h"
#include "tensor/parallel.h"

namespace difflut::nodes {

void lut_regularizer_forward_cpu(OpCall& c) {
  const int k = static_cast<int>(c.attrs.ints[0]);
  const int kind = static_cast<int>(c.attrs.ints[1]);
  const int64_t N = c.in[0]->size(1);
  DIFFLUT_DISPATCH_FLOAT(c.in[0]->dtype(), "lut_regularizer", [&] {
    const scalar_t* F = c.in[0]->data<scalar_t>();
    scalar_t* out = c.out->data<scalar_t>();
    parallel_for(0, N, 64, [&](int64_t lo, int64_t hi) {
      std::vector<double> h(static_cast<size_t>(1) << k);
      for (int64_t j = lo; j < hi; ++j)
        out[j] = static_cast<scalar_t>(kind == kRegSpectral ? reg_spectral(F + j, N, k, h.data(), 1)
                                                            : reg_functional(F + j, N, k));
    });
  });
}

void lut_regularizer_backward_cpu(OpCall& c) {
  if (!c.grad_in[0]) return;
  const int k = static_cast<int>(c.attrs.ints[0]);
  const int kind = static_cast<int>(c.attrs.ints[1]);
  const int64_t N = c.in[0]->size(1);
  DIFFLUT_DISPATCH_FLOAT(c.in[0]->dtype(), "lut_regularizer", [&] {
    const scalar_t* F = c.in[0]->data<scalar_t>();
    const scalar_t* g = c.grad_out->data<scalar_t>();
    scalar_t* dF = c.grad_in[0]->data<scalar_t>();
    parallel_for(0, N, 64, [&](int64_t lo, int64_t hi) {
      std::vector<double> h(static_cast<size_t>(1) << k);
      for (int64_t j = lo; j < hi; ++j) {
        if (kind == kRegSpectral)
          reg_spectral_backward(F + j, N, k, static_cast<double>(g[j]), dF + j, h.data(), 1);
        else
          reg_functional_backward(F + j, N, k, static_cast<double>(g[j]), dF + j);
      }
    });
  });
}

}  // namespace difflut::nodes
