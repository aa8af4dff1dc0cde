// Per-slot math of the sparse learnable mapping, shared by the CPU and CUDA kernels (one definition,
// so both devices choose and weigh candidates identically). A slot s holds C candidate inputs
// cand[s, 0..C) and C scores W[s, 0..C): the hard choice is the first candidate with the largest
// score, and the backward weighs the candidates by softmax(W[s, :] / tau).
#pragma once
#include <cmath>
#include <cstdint>

#include "tensor/host_device.h"

namespace difflut {

// Below this argument exp(x) is +0 in T (under half the smallest subnormal, with margin).
template <class T>
constexpr T kExpZeroBelow = sizeof(T) == 4 ? T(-104) : T(-746);

template <class T>
DIFFLUT_HD T sm_exp(T x) {
#if defined(__CUDA_ARCH__)
  return exp(x);
#else
  // The same values the library returns, without the call, for the two arguments that dominate:
  // at the default tau = 0.001 almost every losing candidate underflows to +0 (glibc takes a slow
  // path to raise the underflow), and each slot's best scores exp(0) = 1. The calls were 4 % of a
  // CIFAR-10 training step. NaN compares false both times and still goes to std::exp.
  if (x < kExpZeroBelow<T>) return T(0);
  if (x == T(0)) return T(1);  // exact in every libm: the slot's best candidate, once per slot
  return std::exp(x);
#endif
}

// argmax_c w[c] over one slot's C scores; the first index wins ties (as the dense mapping's).
// The running maximum is kept beside its index and both are selected, not branched on: the
// comparisons of random scores are unpredictable branches.
template <class T>
DIFFLUT_HD int sparse_choice(const T* w, int64_t C) {
  int best = 0;
  T top = w[0];
  for (int64_t c = 1; c < C; ++c) {
    const bool above = w[c] > top;
    best = above ? static_cast<int>(c) : best;
    top = above ? w[c] : top;
  }
  return best;
}

// p[c] = softmax(w / tau)[c] over one slot's C scores (largest term subtracted first).
template <class T>
DIFFLUT_HD void sparse_softmax(const T* w, int64_t C, T tau, T* p) {
  T m = w[0];
  for (int64_t c = 1; c < C; ++c) m = w[c] > m ? w[c] : m;
  T z = T(0);
  for (int64_t c = 0; c < C; ++c) {
    p[c] = sm_exp((w[c] - m) / tau);
    z += p[c];
  }
  for (int64_t c = 0; c < C; ++c) p[c] = p[c] / z;
}

// acc + sum_j (2 x[j xs] - 1) g[j gs] over j = 0..n-1 in order: one dW[s, c] entry (x the column
// cand[s, c] of the batch, g the column s of the output gradient), or a run of it continued from
// `acc`. The CUDA kernel reads the columns in place (strides F and S). The CPU kernel sums the same
// terms over transposed copies in batch chunks, each chunk in 8 interleaved lanes (a fixed order of
// its own: the devices' dW differ by float rounding).
template <class T>
DIFFLUT_HD T sparse_dw_accumulate(T acc, const T* x, int64_t xs, const T* g, int64_t gs,
                                  int64_t n) {
  for (int64_t j = 0; j < n; ++j) acc += (T(2) * x[j * xs] - T(1)) * g[j * gs];
  return acc;
}

// dx[b, i] = sum over the candidate entries e = s*C + c with cand[e] = i (the CSR inverse's list of
// i, in increasing e) of g[b, s] p[e]: one owner per (b, i), a fixed order, no atomics. `slot` and
// `weight` are that list's s and p[e] (slot[k] = positions[k] / C, weight[k] = p[positions[k]]).
template <class T>
DIFFLUT_HD T sparse_dx_entry(const T* g_row,  // g[b, :] [S]
                             const int32_t* slot, const T* weight, int32_t begin, int32_t end) {
  T acc = T(0);
  for (int32_t k = begin; k < end; ++k) acc += g_row[slot[k]] * weight[k];
  return acc;
}

// (Host code: the CPU kernel and the gradient probe, lut/sparse_probe.cpp.) One batch chunk's
// share of a dW entry, Σ_j (2 x[j] − 1) g[j] over j < n (x and g contiguous),
// summed in 8 interleaved lanes and then a fixed pairwise tree: a fixed order (bit-identical for
// any thread count) that the compiler keeps in one vector register. A single running sum, as the
// CUDA kernel's sparse_dw_accumulate, is a chain of dependent adds the core waits on; this order
// differs from it only by float rounding.
template <class T>
T sparse_dw_chunk(const T* x, const T* g, int64_t n) {
  constexpr int L = 8;
  T lane[L] = {};
  int64_t j = 0;
  for (; j + L <= n; j += L)
    for (int l = 0; l < L; ++l) lane[l] += (T(2) * x[j + l] - T(1)) * g[j + l];
  for (int l = 0; j < n; ++j, ++l) lane[l] += (T(2) * x[j] - T(1)) * g[j];
  return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

}  // namespace difflut
