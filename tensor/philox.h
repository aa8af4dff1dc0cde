// Philox4x32-10 counter-based generator (Salmon et al., SC'11), usable on host and device. Element i
// of a draw is a pure function of (seed, offset + i), which is what makes CPU and GPU draws equal.
#pragma once
#include <cstdint>
#include "tensor/host_device.h"


namespace difflut {

struct Philox4 {
  uint32_t v[4];
};

// The round multipliers and the key increments (Weyl sequence) of Philox4x32 (Salmon et al.);
// vectorised copies of the rounds (lut/layer_aids_cpu.cpp) use the same constants.
constexpr uint32_t kPhiloxM0 = 0xD2511F53u, kPhiloxM1 = 0xCD9E8D57u;
constexpr uint32_t kPhiloxW0 = 0x9E3779B9u, kPhiloxW1 = 0xBB67AE85u;

// The 53 random bits of a uniform double: v[0]'s 32 above v[1]'s top 21.
DIFFLUT_HD uint64_t philox_bits53(const Philox4& r) {
  return ((static_cast<uint64_t>(r.v[0]) << 21) ^ (r.v[1] >> 11)) & ((uint64_t(1) << 53) - 1);
}

DIFFLUT_HD void philox_mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  uint64_t p = static_cast<uint64_t>(a) * b;
  hi = static_cast<uint32_t>(p >> 32);
  lo = static_cast<uint32_t>(p);
}

// Ten rounds of Philox4x32 on counter `ctr` with 64-bit key `key`.
DIFFLUT_HD Philox4 philox4x32(uint64_t ctr, uint64_t key) {
  uint32_t c0 = static_cast<uint32_t>(ctr), c1 = static_cast<uint32_t>(ctr >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int r = 0; r < 10; ++r) {
    uint32_t hi0, lo0, hi1, lo1;
    philox_mulhilo(kPhiloxM0, c0, hi0, lo0);
    philox_mulhilo(kPhiloxM1, c2, hi1, lo1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0;
    c1 = n1;
    c2 = n2;
    c3 = n3;
    k0 += kPhiloxW0;
    k1 += kPhiloxW1;
  }
  return Philox4{{c0, c1, c2, c3}};
}

// Uniform float in [0, 1) from the top 24 bits; uniform double in [0, 1) from 53 bits.
DIFFLUT_HD float philox_uniform_f32(uint64_t ctr, uint64_t key) {
  return static_cast<float>(philox4x32(ctr, key).v[0] >> 8) * (1.0f / 16777216.0f);
}
DIFFLUT_HD double philox_uniform_f64(uint64_t ctr, uint64_t key) {
  return static_cast<double>(philox_bits53(philox4x32(ctr, key))) * (1.0 / 9007199254740992.0);
}
// Uniform integer in [0, range) (range > 0) from 64 random bits; the modulo bias is below 2^-32 for
// ranges under 2^32.
DIFFLUT_HD uint64_t philox_below(uint64_t ctr, uint64_t key, uint64_t range) {
  Philox4 r = philox4x32(ctr, key);
  uint64_t bits = (static_cast<uint64_t>(r.v[0]) << 32) | r.v[1];
  return bits % range;
}

}  // namespace difflut
