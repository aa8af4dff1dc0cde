// Per-slot math of the sparse learnable mapping, shared by the CPU and CUDA kernels (one definition,
// so both devices choose and weigh candidates identically). A slot s holds C candidate inputs
// cand[s, 0..C) and C scores W[s, 0..C): the hard choice is the first candidate with the largest
// score, and the backward weighs the candidates by softmax(W[s, :] / tau).
#pragma once
#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define DIFFLUT_SM_HD __host__ __device__ __forceinline__
#else
#define DIFFLUT_SM_HD inline
#endif

namespace difflut {

template <class T>
DIFFLUT_SM_HD T sm_exp(T x) {
#if defined(__CUDA_ARCH__)
  return exp(x);
#else
  return std::exp(x);
#endif
}

// argmax_c w[c] over one slot's C scores; the first index wins ties (as the dense mapping's).
template <class T>
DIFFLUT_SM_HD int sparse_choice(const T* w, int64_t C) {
  int best = 0;
  for (int64_t c = 1; c < C; ++c)
    if (w[c] > w[best]) best = static_cast<int>(c);
  return best;
}

// p[c] = softmax(w / tau)[c] over one slot's C scores (largest term subtracted first).
template <class T>
DIFFLUT_SM_HD void sparse_softmax(const T* w, int64_t C, T tau, T* p) {
  T m = w[0];
  for (int64_t c = 1; c < C; ++c) m = w[c] > m ? w[c] : m;
  T z = T(0);
  for (int64_t c = 0; c < C; ++c) {
    p[c] = sm_exp((w[c] - m) / tau);
    z += p[c];
  }
  for (int64_t c = 0; c < C; ++c) p[c] = p[c] / z;
}

// dW[s, c] = sum_b (2 x[b, cand[s, c]] - 1) g[b, s], summed over b in order (one owner per entry).
template <class T>
DIFFLUT_SM_HD T sparse_dw_entry(const T* x, const T* g, int64_t B, int64_t F, int64_t S,
                                int64_t s, int32_t input) {
  T acc = T(0);
  for (int64_t b = 0; b < B; ++b) acc += (T(2) * x[b * F + input] - T(1)) * g[b * S + s];
  return acc;
}

// dx[b, i] = sum over the candidate entries e = s*C + c with cand[e] = i (the CSR inverse's list of
// i, in increasing e) of g[b, s] p[e]: one owner per (b, i), a fixed order, no atomics.
template <class T>
DIFFLUT_SM_HD T sparse_dx_entry(const T* g_row,  // g[b, :] [S]
                                const T* p,      // [S*C] softmax weights
                                const int32_t* positions, int32_t begin, int32_t end, int64_t C) {
  T acc = T(0);
  for (int32_t k = begin; k < end; ++k) {
    const int32_t e = positions[k];
    acc += g_row[e / C] * p[e];
  }
  return acc;
}

}  // namespace difflut
