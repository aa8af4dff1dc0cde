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

// The EFD gradient table of one LUT: G[l][a] = alpha Σ_a' (2a'_l − 1) T[a'] β^{popcount((a ⊕ a') &
// ~(1<<l))} for every input l and address a, in O(k²·2^k). The weight factorises over bits, so it
// is a butterfly per bit m: h(a) += c_m·h(a ⊕ 2^m) (c_m = β for m ≠ l, 1 for m = l), starting from
// h(a') = (2a'_l − 1) T[a']. Computed in double; `h` and `tmp` are [k, 2^k] scratch, `h` holds the
// result. The CUDA kernel performs exactly these operations in this order (no fused multiply-adds),
// so both devices produce the same bits.
template <class T>
void dwn_efd_gradient_table(const T* table,  // [2^k] one LUT's entries
                            int k, double alpha, double beta,
                            double* h,        // [k, 2^k] out
                            double* tmp) {    // [k, 2^k] scratch
  const int K = 1 << k;
  for (int l = 0; l < k; ++l)
    for (int a = 0; a < K; ++a)
      h[l * K + a] = ((a >> l) & 1) ? static_cast<double>(table[a]) : -static_cast<double>(table[a]);
  double* cur = h;
  double* nxt = tmp;
  for (int m = 0; m < k; ++m) {
    for (int l = 0; l < k; ++l) {
      const double cm = (m == l) ? 1.0 : beta;
      const double* src = cur + l * K;
      double* dst = nxt + l * K;
      // dst[a] = src[a] + cm src[a ^ 2^m], walked as pairs of contiguous half-blocks so that the
      // compiler vectorises it (the a ^ 2^m form does not); the same operation per element.
      const int half = 1 << m;
      for (int base = 0; base < K; base += 2 * half) {
        const double* s0 = src + base;
        const double* s1 = s0 + half;
        double* d0 = dst + base;
        double* d1 = d0 + half;
        for (int t = 0; t < half; ++t) {
          const double lo = s0[t], hi = s1[t];
          d0[t] = lo + cm * hi;
          d1[t] = hi + cm * lo;
        }
      }
    }
    double* t = cur;
    cur = nxt;
    nxt = t;
  }
  for (int i = 0; i < k * K; ++i) h[i] = alpha * cur[i];
}

}  // namespace difflut
