// The portable path of the bit-sliced engine: plain 64-bit words, for any CPU.
#include <array>
#include <cstdint>
#include <utility>

#include "hdl/bitslice_kernels.h"

namespace {
#include "hdl/bitslice_kernels_impl.h"

struct Word64 {
  using V = uint64_t;
  static constexpr int kStride = 1;
  static V load(const uint64_t* p) { return *p; }
  static void store(uint64_t* p, V v) { *p = v; }
  template <int I>
  static V tern(V a, V b, V c) {
    return tern_generic<I>(a, b, c);
  }
};
}  // namespace

namespace difflut::hdl::bitslice {
Kernels portable_kernels() { return {&front_end_portable, &run_ops<Word64>}; }
}  // namespace difflut::hdl::bitslice
