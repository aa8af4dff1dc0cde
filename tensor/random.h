// Seeded generator state: a seed plus a running counter offset. Every draw of n numbers uses the
// counters [offset, offset + n) and advances the offset, on any device.
#pragma once
#include <cstdint>
#include <vector>

namespace difflut {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : seed_(seed) {}
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  void set_state(uint64_t seed, uint64_t offset) {
    seed_ = seed;
    offset_ = offset;
  }
  // Reserves n counters and returns the first.
  uint64_t advance(uint64_t n) {
    uint64_t start = offset_;
    offset_ += n;
    return start;
  }
  // Host-side scalar draws (for shuffles, permutations, mapping construction).
  double uniform();                // [0, 1)
  uint64_t below(uint64_t range);  // [0, range)
  // A uniformly random permutation of 0..n-1 (Fisher-Yates over this generator's stream).
  std::vector<int64_t> permutation(int64_t n);

 private:
  uint64_t seed_;
  uint64_t offset_ = 0;
};

}  // namespace difflut
