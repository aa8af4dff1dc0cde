// Host helpers the built-in node types' init functions (lut/nodes/*_math.h) are written with:
// parameter draws on a host tensor [N, P] of f32 or f64.
#pragma once
#include <cmath>
#include <vector>

#include "tensor/random.h"
#include "tensor/tensor.h"

namespace difflut::nodes {

// Fills p [N, P] with N(0, std²) draws.
inline void init_normal(Tensor& p, Generator& gen, double std) {
  Tensor r = Tensor::randn(p.shape(), gen, p.dtype());
  DIFFLUT_DISPATCH_FLOAT(p.dtype(), "node.init", [&] {
    const scalar_t* rp = r.data<scalar_t>();
    scalar_t* d = p.data<scalar_t>();
    for (int64_t i = 0; i < p.numel(); ++i) d[i] = static_cast<scalar_t>(std * rp[i]);
  });
}

// Sets parameter `column` of every node to `value`.
inline void init_column(Tensor& p, int64_t column, double value) {
  DIFFLUT_DISPATCH_FLOAT(p.dtype(), "node.init", [&] {
    for (int64_t j = 0; j < p.size(0); ++j)
      p.data<scalar_t>()[j * p.size(1) + column] = static_cast<scalar_t>(value);
  });
}

// Fills p [N, P] with U(−bound[i], bound[i]) in column i (f64 draws, one per element).
inline void init_uniform(Tensor& p, Generator& gen, const std::vector<double>& bound) {
  Tensor u = Tensor::rand(p.shape(), gen, DType::f64);
  const int64_t P = p.size(1);
  DIFFLUT_DISPATCH_FLOAT(p.dtype(), "node.init", [&] {
    const double* up = u.data<double>();
    scalar_t* d = p.data<scalar_t>();
    for (int64_t j = 0; j < p.size(0); ++j)
      for (int64_t i = 0; i < P; ++i)
        d[j * P + i] =
            static_cast<scalar_t>(bound[static_cast<size_t>(i)] * (2.0 * up[j * P + i] - 1.0));
  });
}

}  // namespace difflut::nodes
