// <immintrin.h> for the hand-vectorised CPU loops (functions marked __attribute__((target(...))),
// called only after __builtin_cpu_supports says the CPU has the instruction set), on GCC-compatible
// x86-64 compilers, where it defines DIFFLUT_X86_INTRINSICS. Including it silences, for the rest of
// the including file, two warnings that GCC 12's AVX-512 headers raise at every call of their shift
// and permute intrinsics (they pass an undefined vector as the unused merge source: a known false
// positive of those headers).
#pragma once

#if defined(__GNUC__) && defined(__x86_64__)
#define DIFFLUT_X86_INTRINSICS 1
#include <immintrin.h>

#include <cstdint>
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
namespace difflut {
// Whether this CPU runs AVX-512 F, asked once per program (one definition for every file).
inline const bool kCpuHasAvx512f = __builtin_cpu_supports("avx512f");
// The 32-bit gather/scatter offsets 0, stride, 2·stride, ..., 15·stride (stride < 2^27).
__attribute__((target("avx512f"))) inline __m512i lane_strides16(int64_t stride) {
  return _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                            _mm512_set1_epi32(static_cast<int32_t>(stride)));
}
}  // namespace difflut
#endif
