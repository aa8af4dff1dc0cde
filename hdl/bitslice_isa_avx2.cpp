// The AVX2 path of the bit-sliced engine: ops on 256-bit registers (GCC vector extensions, which
// this unit compiles with -mavx2), the front end as in the portable path.
#include <array>
#include <cstdint>
#include <utility>

#include "hdl/bitslice_kernels.h"

#if defined(__AVX2__)
namespace {
#include "hdl/bitslice_kernels_impl.h"

typedef uint64_t v4u64 __attribute__((vector_size(32)));

struct Word256 {
  using V = v4u64;
  static constexpr int kStride = 4;
  static V load(const uint64_t* p) { return *reinterpret_cast<const V*>(p); }
  static void store(uint64_t* p, V v) { *reinterpret_cast<V*>(p) = v; }
  template <int I>
  static V tern(V a, V b, V c) {
    return tern_generic<I>(a, b, c);
  }
};
}  // namespace

namespace difflut::hdl::bitslice {
Kernels avx2_kernels() { return {&front_end_portable, &run_ops<Word256>}; }
}  // namespace difflut::hdl::bitslice
#else
namespace difflut::hdl::bitslice {
Kernels avx2_kernels() { return {nullptr, nullptr}; }
}  // namespace difflut::hdl::bitslice
#endif
