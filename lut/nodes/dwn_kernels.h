// Kernels of the dwn_lut op (DWN LUT node) and the host helper both devices' math is defined by.
// Shapes: x [B, N*k] (slot j*k + l is input l of LUT j), table [N, 2^k], out [B, N], saved
// addresses [B, N] u8. See DESIGN.md §3 and lut/node_ops.h for the semantics.
#pragma once
#include <cstdint>

#include "autograd/op_def.h"

namespace difflut {

// Largest k the dwn_lut op supports: addresses are stored as u8 and tables are 2^k wide.
constexpr int kDwnMaxK = 8;

void dwn_lut_forward_cpu(OpCall& c);
void dwn_lut_backward_cpu(OpCall& c);
void dwn_lut_forward_cuda(OpCall& c);
void dwn_lut_backward_cuda(OpCall& c);

// The EFD gradient table of one LUT: G[a][l] = alpha Σ_a' (2a'_l − 1) T[a'] β^{popcount((a ⊕ a') &
// ~(1<<l))} for every address a and input l, in O(k²·2^k). The weight factorises over bits, so it
// is a butterfly per bit m: h(a) += c_m·h(a ⊕ 2^m) (c_m = β for m ≠ l, 1 for m = l), starting from
// h(a') = (2a'_l − 1) T[a']. Computed in double. The k inputs of one address sit side by side in
// kEfdLanes slots (lanes ≥ k are padding and hold no meaning), so every butterfly step is one
// vector operation over the inputs and a sample's k gradients are one contiguous row. `h` and `tmp`
// are [2^k, kEfdLanes] scratch; `h` holds the result. The CUDA kernel performs the same operation
// per element, so both devices agree.
constexpr int kEfdLanes = kDwnMaxK;

template <class T>
void dwn_efd_gradient_table(const T* table,  // [2^k] one LUT's entries
                            int k, double alpha, double beta,
                            double* h,      // [2^k, kEfdLanes] out
                            double* tmp) {  // [2^k, kEfdLanes] scratch
  const int K = 1 << k;
  for (int a = 0; a < K; ++a) {
    const double t = static_cast<double>(table[a]);
    for (int l = 0; l < kEfdLanes; ++l) h[a * kEfdLanes + l] = ((a >> l) & 1) ? t : -t;
  }
  double cm[kEfdLanes];
  double* cur = h;
  double* nxt = tmp;
  for (int m = 0; m < k; ++m) {
    for (int l = 0; l < kEfdLanes; ++l) cm[l] = (l == m) ? 1.0 : beta;
    // Rows a and a ^ 2^m (bit m clear in a) update each other: dst[a] = src[a] + c·src[a ^ 2^m].
    const int half = 1 << m;
    for (int base = 0; base < K; base += 2 * half) {
      for (int t = 0; t < half; ++t) {
        const double* s0 = cur + (base + t) * kEfdLanes;
        const double* s1 = s0 + half * kEfdLanes;
        double* d0 = nxt + (base + t) * kEfdLanes;
        double* d1 = d0 + half * kEfdLanes;
        for (int l = 0; l < kEfdLanes; ++l) {
          const double lo = s0[l], hi = s1[l];
          d0[l] = lo + cm[l] * hi;
          d1[l] = hi + cm[l] * lo;
        }
      }
    }
    double* t = cur;
    cur = nxt;
    nxt = t;
  }
  for (int i = 0; i < K * kEfdLanes; ++i) h[i] = alpha * cur[i];
}

}  // namespace difflut
