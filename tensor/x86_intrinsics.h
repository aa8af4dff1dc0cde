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
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
namespace difflut {
// Whether this CPU runs AVX-512 F, asked once per program (one definition for every file).
inline const bool kCpuHasAvx512f = __builtin_cpu_supports("avx512f");
}  // namespace difflut
#endif
