// Host-side draws of the counter-based generator, and the CPU fills behind Tensor::rand/randn/randint.
#include "tensor/random.h"

#include <cmath>

#include "tensor/philox.h"
#include "tensor/random_fill.h"
#include "tensor/tensor.h"

namespace difflut {

double Generator::uniform() { return philox_uniform_f64(advance(1), seed_); }

uint64_t Generator::below(uint64_t range) {
  DIFFLUT_CHECK(range > 0, "generator.below: range must be positive");
  return philox_below(advance(1), seed_, range);
}

std::vector<int64_t> Generator::permutation(int64_t n) {
  std::vector<int64_t> p(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) p[i] = i;
  for (int64_t i = n - 1; i > 0; --i) {
    int64_t j = static_cast<int64_t>(below(static_cast<uint64_t>(i + 1)));
    std::swap(p[i], p[j]);
  }
  return p;
}

void random_fill_cpu(Tensor& t, RandomKind kind, uint64_t start, uint64_t key, int64_t low,
                     int64_t high) {
  const int64_t n = t.numel();
  DIFFLUT_DISPATCH_ALL(t.dtype(), "random", [&] {
    scalar_t* out = t.data<scalar_t>();
    for (int64_t i = 0; i < n; ++i) {
      out[i] = random_value<scalar_t>(kind, start + static_cast<uint64_t>(i), key, low, high);
    }
  });
}

}  // namespace difflut
