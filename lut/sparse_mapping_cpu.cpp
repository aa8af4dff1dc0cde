// CPU kernels of the sparse learnable mapping: the per-slot hard choice, the gather forward, dW over
// the candidates (lut/sparse_dw_cpu.h) and dx through the CSR inverse of the candidates
// (lut/sparse_dx_cpu.h).
//
// Determinism: every output element has one owner that reduces in a fixed order (slots own their
// choice and their C entries of dW, (row, input) pairs own dx), so results are bit-identical for any
// thread count.
#include <algorithm>
#include <type_traits>
#include <vector>


#include "lut/sparse_dw_cpu.h"
#include "lut/sparse_dx_cpu.h"
#include "lut/sparse_mapping_kernels.h"
#include "lut/sparse_mapping_math.h"
#include "tensor/parallel.h"
#include "tensor/x86_intrinsics.h"

namespace difflut {

namespace {

#ifdef DIFFLUT_X86_INTRINSICS  // also under -march=native, where it is a plain call
// sparse_choice for float rows of 16 or more: the row's maximum sixteen lanes at a time, then the
// first index holding it. The same index as the scalar loop, which keeps the first of the largest
// scores (-0 and +0 alike) and never moves to a NaN: vmaxps returns its second operand, the running
// maximum, when the score is NaN, and a NaN first score is index 0 there as here. The scalar loop
// is a chain of dependent compares, 15 % of a C = 128 training step.
__attribute__((target("avx512f"))) int sparse_choice_avx512(const float* w, int64_t C) {
  if (C < 16 || w[0] != w[0]) return sparse_choice(w, C);
  __m512 m = _mm512_set1_ps(w[0]);
  int64_t c = 0;
  for (; c + 16 <= C; c += 16) m = _mm512_max_ps(_mm512_loadu_ps(w + c), m);
  float top = _mm512_reduce_max_ps(m);
  for (; c < C; ++c) top = w[c] > top ? w[c] : top;
  const __m512 t = _mm512_set1_ps(top);
  for (c = 0; c + 16 <= C; c += 16) {
    const __mmask16 eq = _mm512_cmp_ps_mask(_mm512_loadu_ps(w + c), t, _CMP_EQ_OQ);
    if (eq) return static_cast<int>(c) + __builtin_ctz(eq);
  }
  for (; c < C; ++c)
    if (w[c] == top) return static_cast<int>(c);
  return 0;  // not reached: top is one of the scores
}
#endif

// out[s] = x[idx[s]] for s < S: one row of the forward's gather.
template <class T>
void gather_row(const T* x, const int32_t* idx, int64_t S, T* out) {
  for (int64_t s = 0; s < S; ++s) out[s] = x[idx[s]];
}

#ifdef DIFFLUT_X86_INTRINSICS
// gather_row for float, sixteen slots a gather (the scalar loop was 4 % of a training step).
__attribute__((target("avx512f"))) void gather_row_avx512(const float* x, const int32_t* idx,
                                                          int64_t S, float* out) {
  int64_t s = 0;
  for (; s + 16 <= S; s += 16)
    _mm512_storeu_ps(out + s, _mm512_i32gather_ps(_mm512_loadu_si512(idx + s), x, 4));
  gather_row(x, idx + s, S - s, out + s);
}
#endif

void gather_row_fast(const float* x, const int32_t* idx, int64_t S, float* out) {
#ifdef DIFFLUT_X86_INTRINSICS
  if (kCpuHasAvx512f) return gather_row_avx512(x, idx, S, out);
#endif
  gather_row(x, idx, S, out);
}
void gather_row_fast(const double* x, const int32_t* idx, int64_t S, double* out) {
  gather_row(x, idx, S, out);
}

template <class T>
int choose(const T* w, int64_t C) {
#ifdef DIFFLUT_X86_INTRINSICS
  if constexpr (std::is_same_v<T, float>) {
    if (kCpuHasAvx512f) return sparse_choice_avx512(w, C);
  }
#endif
  return sparse_choice(w, C);
}

}  // namespace

void sparse_mapping_choice_cpu(const Tensor& w, const Tensor& cand, Tensor& idx) {
  const int64_t S = w.size(0), C = w.size(1);
  const int32_t* cp = cand.data<int32_t>();
  int32_t* ip = idx.data<int32_t>();
  DIFFLUT_DISPATCH_FLOAT(w.dtype(), "sparse_mapping", [&] {
    const scalar_t* wp = w.data<scalar_t>();
    parallel_for(0, S, 4096, [&](int64_t lo, int64_t hi) {
      for (int64_t s = lo; s < hi; ++s) ip[s] = cp[s * C + choose(wp + s * C, C)];
    });
  });
}

void sparse_mapping_forward_cpu(OpCall& c) {
  const Tensor& x = *c.in[0];
  const Tensor& w = *c.in[1];
  const int64_t B = x.size(0), F = x.size(1), S = w.size(0);
  Tensor idx = Tensor::empty({S}, DType::i32, Device::cpu);
  sparse_mapping_choice_cpu(w, c.attrs.tensors.at(0), idx);
  const int32_t* ip = idx.data<int32_t>();
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "sparse_mapping", [&] {
    const scalar_t* xp = x.data<scalar_t>();
    scalar_t* op = c.out->data<scalar_t>();
    parallel_for(0, B, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t b = lo; b < hi; ++b) gather_row_fast(xp + b * F, ip, S, op + b * S);
    });
  });
}

void sparse_mapping_backward_cpu(OpCall& c) {
  const Tensor& x = *c.in[0];
  const Tensor& w = *c.in[1];
  const Tensor& g = *c.grad_out;
  const int64_t B = x.size(0), F = x.size(1), S = w.size(0), C = w.size(1);
  const int32_t* cand = c.attrs.tensors.at(0).data<int32_t>();
  const double tau = c.attrs.floats.at(0);
  DIFFLUT_DISPATCH_FLOAT(x.dtype(), "sparse_mapping", [&] {
    using T = scalar_t;
    const T* xp = x.data<T>();
    const T* gp = g.data<T>();
    const T* wp = w.data<T>();
    if (c.grad_in[1]) {
      if (!c.grad_in[1]->defined())
        sparse_mapping_stash(c);  // W updates itself (fused step): dW is summed there
      else
        sparse_dw_over_batch(xp, gp, B, F, S, cand, C, c.grad_in[1]->data<T>());
    }
    if (c.grad_in[0]) {
      std::vector<T> p(static_cast<size_t>(S * C));
      parallel_for(0, S, 1024, [&](int64_t lo, int64_t hi) {
        for (int64_t s = lo; s < hi; ++s)
          sparse_softmax(wp + s * C, C, static_cast<T>(tau), p.data() + s * C);
      });
      // The CSR list's slots and weights in list order, so the per-row loop has no division, less
      // the entries of weight exactly 0: at the default tau = 0.001 the softmax underflows to 0 for
      // every candidate scored 0.104 or more below its slot's best, usually all losers, and such an
      // entry adds nothing (g * 0 = 0 for finite g). The kept entries stay in list order, so dx is
      // the same sum in the same order, at a fraction of the cost. (Equal up to rounding: the
      // vector path fuses every multiply-add, the portable loop those GCC contracts as it unrolls,
      // so a shorter list can round differently. Still one order per binary and CPU.)
      // Built by a counting sort of the kept entries by input, walked in increasing entry order
      // (the CSR inverse's order within an input): two sequential passes over p and the
      // candidates instead of two random ones through the inverse (which were 5 % of a step).
      std::vector<int32_t> kept_offsets(static_cast<size_t>(F + 1), 0);
      for (int64_t e = 0; e < S * C; ++e)
        kept_offsets[static_cast<size_t>(cand[e]) + 1] += p[e] != T(0);
      for (int64_t i = 0; i < F; ++i) kept_offsets[i + 1] += kept_offsets[i];
      std::vector<int32_t> slot(static_cast<size_t>(kept_offsets[F]));
      std::vector<T> weight(static_cast<size_t>(kept_offsets[F]));
      std::vector<int32_t> next(kept_offsets.begin(), kept_offsets.end() - 1);
      for (int64_t s = 0; s < S; ++s)
        for (int64_t k = 0; k < C; ++k) {
          const T wk = p[s * C + k];
          if (wk == T(0)) continue;
          const int32_t out = next[static_cast<size_t>(cand[s * C + k])]++;
          slot[static_cast<size_t>(out)] = static_cast<int32_t>(s);
          weight[static_cast<size_t>(out)] = wk;
        }
      sparse_dx_over_batch(gp, B, S, F, kept_offsets.data(), slot.data(), weight.data(),
                           c.grad_in[0]->data<T>());
    }
  });
}

}  // namespace difflut
