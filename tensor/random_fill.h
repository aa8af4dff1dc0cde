// The per-element random formula shared by the CPU loop and the CUDA kernel, so both give the same
// numbers. Normals use Box-Muller in double precision from two 53-bit uniforms of one counter.
#pragma once
#include <cmath>
#include <cstdint>

#include "tensor/philox.h"

namespace difflut {

class Tensor;
enum class RandomKind : int { uniform = 0, normal = 1, integer = 2 };

template <class T>
DIFFLUT_HD T random_value(RandomKind kind, uint64_t ctr, uint64_t key, int64_t low, int64_t high) {
  if (kind == RandomKind::integer) {
    return static_cast<T>(
        low + static_cast<int64_t>(philox_below(ctr, key, static_cast<uint64_t>(high - low))));
  }
  if (kind == RandomKind::uniform) {
    if constexpr (sizeof(T) == 4) return static_cast<T>(philox_uniform_f32(ctr, key));
    return static_cast<T>(philox_uniform_f64(ctr, key));
  }
  Philox4 r = philox4x32(ctr, key);
  // u1 in (0, 1] so log(u1) is finite; u2 in [0, 1).
  double u1 = (static_cast<double>(r.v[0] >> 5) * 67108864.0 + (r.v[1] >> 6) + 1.0) *
              (1.0 / 9007199254740992.0);
  double u2 =
      (static_cast<double>(r.v[2] >> 5) * 67108864.0 + (r.v[3] >> 6)) * (1.0 / 9007199254740992.0);
  double z = sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
  return static_cast<T>(z);
}

void random_fill_cpu(Tensor& t, RandomKind kind, uint64_t start, uint64_t key, int64_t low,
                     int64_t high);
void random_fill_cuda(Tensor& t, RandomKind kind, uint64_t start, uint64_t key, int64_t low,
                      int64_t high);

}  // namespace difflut
