// DIFFLUT_CPU_CLONES: put it before a function (template or not) that holds a hot CPU loop, and in
// portable builds (DIFFLUT_PORTABLE=ON) GCC compiles that function three times, for x86-64-v4
// (AVX-512), x86-64-v3 (AVX2, FMA) and baseline x86-64, and the loader picks the clone this CPU
// runs best (function multiversioning: an ifunc resolved once). Native builds (-march=native)
// already target their CPU, so there it expands to nothing.
//
// Only the function's own body is cloned: a lambda inside it is a separate function, so the loop
// must sit in the marked function itself (parallel_for bodies call a marked range function).
// Portable builds compile with -ffp-contract=off, so no clone fuses a*b+c into an FMA that another
// does not: each computes the same IEEE operations in the same order, bit-identical results.
#pragma once

#if defined(DIFFLUT_CPU_CLONES_ON) && defined(__x86_64__) && defined(__GNUC__) && \
    !defined(__clang__) && !defined(__CUDACC__)
#define DIFFLUT_CPU_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define DIFFLUT_CPU_CLONES
#endif
