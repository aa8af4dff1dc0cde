// CPU dW of sparse learnable mappings over per-slot input lists: the bit path for binary inputs and
// the float path for the rest (lut/sparse_dw_cpu.h).
#include "lut/sparse_dw_cpu.h"

#include <algorithm>
#include <type_traits>
#include <vector>


#include "lut/sparse_mapping_math.h"
#include "tensor/cpu_clones.h"
#include "tensor/error.h"
#include "tensor/parallel.h"
#include "tensor/x86_intrinsics.h"

namespace difflut {
namespace {

constexpr int64_t kBitChunk = 32;     // samples per packed word
constexpr int64_t kGroups = 8;        // 4-sample groups per word
constexpr int64_t kTable = 16;        // entries per group's table
constexpr int64_t kFloatChunk = 64;   // samples per transposed chunk of the float path
constexpr int64_t kMinBitTerms = 16;  // automatic: the bit path from this many terms a slot on

// bits[i] holds x[b0 + j, i] != 0 in bit j, for j < n <= 32 (higher bits zero).
template <class T>
DIFFLUT_CPU_CLONES void pack_columns(const T* x, int64_t F, int64_t b0, int64_t n, int64_t lo,
                                     int64_t hi, uint32_t* bits) {
  for (int64_t i = lo; i < hi; ++i) bits[i] = 0;
  for (int64_t j = 0; j < n; ++j) {
    const T* row = x + (b0 + j) * F;
    for (int64_t i = lo; i < hi; ++i) bits[i] |= static_cast<uint32_t>(row[i] != T(0)) << j;
  }
}

// One slot's eight signed tables from its chunk of gradients gc[0..32) (zero past the chunk's end):
// table[q * 16 + m] = (+-gc[4q] +- gc[4q + 1]) + (+-gc[4q + 2] +- gc[4q + 3]), bit j of m choosing +.
template <class T>
DIFFLUT_CPU_CLONES void signed_tables(const T* gc, T* table) {
  for (int64_t q = 0; q < kGroups; ++q) {
    const T* gq = gc + 4 * q;
    for (int64_t m = 0; m < kTable; ++m) {
      const T a = (m & 1) ? gq[0] : -gq[0];
      const T b = (m & 2) ? gq[1] : -gq[1];
      const T c = (m & 4) ? gq[2] : -gq[2];
      const T d = (m & 8) ? gq[3] : -gq[3];
      table[q * kTable + m] = (a + b) + (c + d);
    }
  }
}

// out[k] += the chunk's term for input idx[k]: eight look-ups summed in a fixed tree.
template <class T>
DIFFLUT_CPU_CLONES void table_terms(const T* table, const uint32_t* bits, const int32_t* idx,
                                    int64_t K, T* out) {
  for (int64_t k = 0; k < K; ++k) {
    const uint32_t w = bits[idx[k]];
    const T t0 = table[0 * kTable + (w & 15u)], t1 = table[1 * kTable + ((w >> 4) & 15u)];
    const T t2 = table[2 * kTable + ((w >> 8) & 15u)], t3 = table[3 * kTable + ((w >> 12) & 15u)];
    const T t4 = table[4 * kTable + ((w >> 16) & 15u)], t5 = table[5 * kTable + ((w >> 20) & 15u)];
    const T t6 = table[6 * kTable + ((w >> 24) & 15u)], t7 = table[7 * kTable + (w >> 28)];
    const T term = ((t0 + t1) + (t2 + t3)) + ((t4 + t5) + (t6 + t7));
    out[k] += term;
  }
}

#ifdef DIFFLUT_X86_INTRINSICS  // also under -march=native, where it is a plain call
// signed_tables and table_terms for float in vector registers. Group q's table is built as one
// 16-lane vector: lane m holds (s0 g0 + s1 g1) + (s2 g2 + s3 g3) with s_j = +-1 by bit j of m, the
// products exact and each bracket one rounding (an FMA over an exact product), so every entry is
// signed_tables' to the bit. The terms then go sixteen at a time: one gather of the inputs' words,
// then per group one shift and one in-register permute (vpermps) of that group's table. The
// look-ups are exact and the adds run in table_terms' tree, so the result is bit-identical to the
// scalar pair. (Left to itself GCC vectorises neither the table build nor the eight table reads.)
__attribute__((target("avx512f"))) void slot_terms_avx512(const float* gc, const uint32_t* bits,
                                                          const int32_t* idx, int64_t K,
                                                          float* out) {
  const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  __m512 sign[4];  // +1 in lanes whose bit j is set, -1 elsewhere
  for (int j = 0; j < 4; ++j) {
    const __mmask16 set = _mm512_test_epi32_mask(lane, _mm512_set1_epi32(1 << j));
    sign[j] = _mm512_mask_blend_ps(set, _mm512_set1_ps(-1.0f), _mm512_set1_ps(1.0f));
  }
  __m512 t[kGroups];
  for (int64_t q = 0; q < kGroups; ++q) {
    const float* gq = gc + 4 * q;
    const __m512 ab = _mm512_fmadd_ps(_mm512_set1_ps(gq[0]), sign[0],
                                      _mm512_mul_ps(_mm512_set1_ps(gq[1]), sign[1]));
    const __m512 cd = _mm512_fmadd_ps(_mm512_set1_ps(gq[2]), sign[2],
                                      _mm512_mul_ps(_mm512_set1_ps(gq[3]), sign[3]));
    t[q] = _mm512_add_ps(ab, cd);
  }
  int64_t k = 0;
  for (; k + 16 <= K; k += 16) {
    const __m512i w = _mm512_i32gather_epi32(_mm512_loadu_si512(idx + k), bits, 4);
    __m512 v[kGroups];
    // vpermps reads only the low four bits of each index, so the shifted word needs no mask.
    v[0] = _mm512_permutexvar_ps(w, t[0]);
    for (int q = 1; q < kGroups; ++q)
      v[q] = _mm512_permutexvar_ps(_mm512_srli_epi32(w, 4 * q), t[q]);
    const __m512 term =
        _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(v[0], v[1]), _mm512_add_ps(v[2], v[3])),
                      _mm512_add_ps(_mm512_add_ps(v[4], v[5]), _mm512_add_ps(v[6], v[7])));
    _mm512_storeu_ps(out + k, _mm512_add_ps(_mm512_loadu_ps(out + k), term));
  }
  if (k < K) {
    float table[kGroups * kTable];
    for (int64_t q = 0; q < kGroups; ++q) _mm512_storeu_ps(table + q * kTable, t[q]);
    table_terms(table, bits, idx + k, K - k, out + k);
  }
}
#endif

#ifdef DIFFLUT_X86_INTRINSICS
// out[k] += ((r[k]_0 + r[k]_1) + (r[k]_2 + r[k]_3)) + ((r[k]_4 + r[k]_5) + (r[k]_6 + r[k]_7)) for
// k < m <= 8: sparse_dw_chunk's tree over each entry's eight lanes, for eight entries at once
// after an 8 x 8 transpose (t[l] holds lane l of the eight entries).
__attribute__((target("avx512f,avx512vl"))) inline void add_lane_trees8(const __m256* r, int m,
                                                                        float* out) {
  const __m256 a0 = _mm256_unpacklo_ps(r[0], r[1]), a1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 a2 = _mm256_unpacklo_ps(r[2], r[3]), a3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 a4 = _mm256_unpacklo_ps(r[4], r[5]), a5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 a6 = _mm256_unpacklo_ps(r[6], r[7]), a7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 b0 = _mm256_shuffle_ps(a0, a2, 0x44), b1 = _mm256_shuffle_ps(a0, a2, 0xEE);
  const __m256 b2 = _mm256_shuffle_ps(a1, a3, 0x44), b3 = _mm256_shuffle_ps(a1, a3, 0xEE);
  const __m256 b4 = _mm256_shuffle_ps(a4, a6, 0x44), b5 = _mm256_shuffle_ps(a4, a6, 0xEE);
  const __m256 b6 = _mm256_shuffle_ps(a5, a7, 0x44), b7 = _mm256_shuffle_ps(a5, a7, 0xEE);
  const __m256 t0 = _mm256_permute2f128_ps(b0, b4, 0x20), t4 = _mm256_permute2f128_ps(b0, b4, 0x31);
  const __m256 t1 = _mm256_permute2f128_ps(b1, b5, 0x20), t5 = _mm256_permute2f128_ps(b1, b5, 0x31);
  const __m256 t2 = _mm256_permute2f128_ps(b2, b6, 0x20), t6 = _mm256_permute2f128_ps(b2, b6, 0x31);
  const __m256 t3 = _mm256_permute2f128_ps(b3, b7, 0x20), t7 = _mm256_permute2f128_ps(b3, b7, 0x31);
  const __m256 term = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(t0, t1), _mm256_add_ps(t2, t3)),
                                    _mm256_add_ps(_mm256_add_ps(t4, t5), _mm256_add_ps(t6, t7)));
  const __mmask8 keep = static_cast<__mmask8>((1u << m) - 1u);
  _mm256_mask_storeu_ps(out, keep, _mm256_add_ps(_mm256_maskz_loadu_ps(keep, out), term));
}

// out[k] += sparse_dw_chunk's result for list entry idx[k], k < K, eight entries at a time:
// lanes(i) gives input i's eight lanes (lane l summed over j = l, l + 8, ... of the chunk, from
// +0), and the tree runs for the eight entries together (add_lane_trees8).
template <class Lanes>
__attribute__((target("avx512f,avx512vl"))) inline void terms_by_eight(const int32_t* idx,
                                                                       int64_t K, float* out,
                                                                       const Lanes& lanes) {
  for (int64_t k0 = 0; k0 < K; k0 += 8) {
    const int m = static_cast<int>(std::min<int64_t>(8, K - k0));
    __m256 r[8];
    for (int k = 0; k < 8; ++k) r[k] = k < m ? lanes(idx[k0 + k]) : _mm256_setzero_ps();
    add_lane_trees8(r, m, out + k0);
  }
}

// The float path's lanes of one slot and one chunk of n samples (n a multiple of 8, at most 64):
// lane += (2x - 1) g over j = l, l + 8, ... Native builds contract that chain into one FMA a step
// (GCC does so in sparse_dw_chunk's loop for chunks this short), builds under -ffp-contract=off
// into a multiply and an add; this does the same, so the bits are sparse_dw_chunk's. (The scalar
// function, called per entry, spilled its lanes to the stack and was 8 % of a CIFAR-10 training
// step.) xt holds the chunk's inputs transposed, n per input; gq the slot's n gradients.
struct FloatLanes {
  const float* xt;
  int64_t n;
  const __m256* gq;
  __attribute__((target("avx512f,avx512vl,fma"))) __m256 operator()(int32_t i) const {
    const float* x = xt + static_cast<int64_t>(i) * n;
    const __m256 two = _mm256_set1_ps(2.0f), one = _mm256_set1_ps(1.0f);
    __m256 lane = _mm256_setzero_ps();
    for (int64_t q = 0; q < n / 8; ++q) {
      // 2x - 1 is exact whether or not it is fused (2x is).
      const __m256 a = _mm256_sub_ps(_mm256_mul_ps(two, _mm256_loadu_ps(x + 8 * q)), one);
#ifdef DIFFLUT_FP_CONTRACT_OFF
      lane = _mm256_add_ps(lane, _mm256_mul_ps(a, gq[q]));
#else
      lane = _mm256_fmadd_ps(a, gq[q], lane);
#endif
    }
    return lane;
  }
};

// The same lanes for binary inputs read from their packed words (32 samples a word; a 64-sample
// chunk spans two): each product (2x - 1) g is exactly +-g, so flipping g's sign bit where x is 0
// and adding in the same order gives the float path's bits.
struct BitLanes {
  const uint32_t* lo_words;
  const uint32_t* hi_words;  // null for a 32-sample chunk
  int64_t n;
  const __m256i* gq;
  __attribute__((target("avx512f,avx512vl"))) __m256 operator()(int32_t i) const {
    const uint64_t bits = lo_words[i] | (hi_words ? uint64_t(hi_words[i]) << 32 : 0);
    const __m256i sign = _mm256_set1_epi32(static_cast<int>(0x80000000u));
    __m256 lane = _mm256_setzero_ps();
    for (int64_t q = 0; q < n / 8; ++q) {
      const __mmask8 zero_x = static_cast<__mmask8>(~(bits >> (8 * q)));
      lane = _mm256_add_ps(lane,
                           _mm256_castsi256_ps(_mm256_mask_xor_epi32(gq[q], zero_x, gq[q], sign)));
    }
    return lane;
  }
};

// One slot's float-path terms for one chunk of n samples (gc: its n gradients): from the
// transposed inputs xt, or, with words, from binary inputs' packed words.
__attribute__((target("avx512f,avx512vl,fma"))) void float_terms_avx512(const float* xt, int64_t n,
                                                                        const float* gc,
                                                                        const int32_t* idx,
                                                                        int64_t K, float* out) {
  __m256 gq[8];
  for (int64_t q = 0; q < n / 8; ++q) gq[q] = _mm256_loadu_ps(gc + 8 * q);
  terms_by_eight(idx, K, out, FloatLanes{xt, n, gq});
}
__attribute__((target("avx512f,avx512vl"))) void float_order_terms_avx512(
    const float* gc, int64_t n, const uint32_t* lo_words, const uint32_t* hi_words,
    const int32_t* idx, int64_t K, float* out) {
  __m256i gq[8];
  for (int64_t q = 0; q < n / 8; ++q) gq[q] = _mm256_castps_si256(_mm256_loadu_ps(gc + 8 * q));
  terms_by_eight(idx, K, out, BitLanes{lo_words, hi_words, n, gq});
}

// Whether this CPU runs float_order_terms_avx512 (asked once).
const bool kCpuHasAvx512vl =
    __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
#endif

// One slot's terms for one chunk: its tables from its chunk of gradients gc[0..32), then the terms.
template <class T>
void slot_terms(const T* gc, const uint32_t* bits, const int32_t* idx, int64_t K, T* out) {
#ifdef DIFFLUT_X86_INTRINSICS
  if constexpr (std::is_same_v<T, float>) {
    if (kCpuHasAvx512f) {
      slot_terms_avx512(gc, bits, idx, K, out);
      return;
    }
  }
#endif
  T table[kGroups * kTable];
  signed_tables(gc, table);
  table_terms(table, bits, idx, K, out);
}

}  // namespace

template <class T>
bool all_binary(const T* x, int64_t count) {
  // Blocks of 1024 that vectorise, stopping at the first block with another value (soft inputs,
  // the usual case for later layers, cost one block).
  for (int64_t e0 = 0; e0 < count; e0 += 1024) {
    bool ok = true;
    const int64_t e1 = std::min(count, e0 + 1024);
    for (int64_t e = e0; e < e1; ++e) ok &= (x[e] == T(0)) | (x[e] == T(1));
    if (!ok) return false;
  }
  return true;
}

template <class T>
SparseDwBatch<T>::SparseDwBatch(const T* x, const T* g, int64_t B, int64_t F, int64_t S, int64_t K,
                                SparseDwPath path)
    : g_(g), B_(B), F_(F), S_(S), K_(K) {
  // Below 16 terms a slot the tables cost more than they save (bench_sparse_dw: C = 8 ran 10 %
  // slower on the bit path); there a binary x is read as packed words in the float path's order
  // instead (float_order_bits_), where the CPU and the batch allow it. x is scanned once.
  bool float_order_ok = false;
#ifdef DIFFLUT_X86_INTRINSICS
  float_order_ok = std::is_same_v<T, float> && kCpuHasAvx512vl && B % kBitChunk == 0;
#endif
  const bool automatic = path == SparseDwPath::automatic;
  const bool binary =
      (path == SparseDwPath::bits || (automatic && (K >= kMinBitTerms || float_order_ok))) &&
      all_binary(x, B * F);
  if (path == SparseDwPath::bits)
    DIFFLUT_CHECK(binary, "sparse dW: the bit path expects every input 0 or 1, found other values");
  const bool bits = path == SparseDwPath::bits || (automatic && K >= kMinBitTerms && binary);
  bits_path_ = bits;
  float_order_bits_ = automatic && !bits && binary && float_order_ok;
  if (B == 0) return;
  if (bits || float_order_bits_) {
    // One word per input and 32-sample chunk: words_[c * F + i].
    const int64_t chunks = (B + kBitChunk - 1) / kBitChunk;
    words_.resize(static_cast<size_t>(chunks * F));
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t b0 = c * kBitChunk, n = std::min(kBitChunk, B - b0);
      uint32_t* w = words_.data() + c * F;
      parallel_for(0, F, 1024,
                   [=](int64_t lo, int64_t hi) { pack_columns(x, F, b0, n, lo, hi, w); });
    }
  } else {
    // x's 64-sample chunks transposed: chunk c's input i is the run xt_[c * 64 * F + i * n + j].
    xt_.resize(static_cast<size_t>(B * F));
    for (int64_t b0 = 0; b0 < B; b0 += kFloatChunk) {
      const int64_t n = std::min(kFloatChunk, B - b0);
      T* xt = xt_.data() + b0 * F;
      parallel_for(0, F, 512, [=](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i)
          for (int64_t j = 0; j < n; ++j) xt[i * n + j] = x[(b0 + j) * F + i];
      });
    }
  }
}

template <class T>
void SparseDwBatch<T>::add_slots(int64_t s0, int64_t s1, const int32_t* idx, T* out) const {
  if (B_ == 0 || s1 <= s0) return;
  const int64_t S = S_, K = K_, F = F_;
  const T* g = g_;
  if (bits_path_) {
    // The chunk's gradients of a block of slots, one slot's 32 a row (zero past the chunk's end),
    // read along g's rows: one strided load per slot and sample was a third of this pass.
    constexpr int64_t kBlock = 16;
    T gc[kBlock * kBitChunk];
    for (int64_t sb = s0; sb < s1; sb += kBlock) {
      const int64_t m = std::min(kBlock, s1 - sb);
      for (int64_t b0 = 0; b0 < B_; b0 += kBitChunk) {
        const int64_t n = std::min(kBitChunk, B_ - b0);
        for (int64_t j = 0; j < kBitChunk; ++j) {
          const T* row = g + (b0 + j) * S + sb;
          // 32 rows read a block at a time are more streams than the hardware prefetcher follows:
          // ask for the line four blocks ahead (past the end it is only a hint, never a fault).
          if (j < n) __builtin_prefetch(row + 4 * kBlock);
          for (int64_t l = 0; l < m; ++l) gc[l * kBitChunk + j] = j < n ? row[l] : T(0);
        }
        const uint32_t* words = words_.data() + (b0 / kBitChunk) * F;
        for (int64_t l = 0; l < m; ++l)
          slot_terms(gc + l * kBitChunk, words, idx + (sb + l) * K, K, out + (sb + l - s0) * K);
      }
    }
    return;
  }
  // Per-thread scratch kept across calls: the fused update calls this once per 64-slot block,
  // and a fresh vector each time was an allocation per block and step.
  thread_local std::vector<T> gt;
  gt.resize(std::max(gt.size(), static_cast<size_t>((s1 - s0) * std::min(B_, kFloatChunk))));
  for (int64_t b0 = 0; b0 < B_; b0 += kFloatChunk) {
    const int64_t n = std::min(kFloatChunk, B_ - b0);
    for (int64_t s = s0; s < s1; ++s)
      for (int64_t j = 0; j < n; ++j)
        gt[static_cast<size_t>((s - s0) * n + j)] = g[(b0 + j) * S + s];
#ifdef DIFFLUT_X86_INTRINSICS
    if constexpr (std::is_same_v<T, float>) {
      if (float_order_bits_) {  // n is 32 or 64: whole words
        const uint32_t* lo_words = words_.data() + (b0 / kBitChunk) * F;
        const uint32_t* hi_words = n > kBitChunk ? lo_words + F : nullptr;
        for (int64_t s = s0; s < s1; ++s)
          float_order_terms_avx512(gt.data() + (s - s0) * n, n, lo_words, hi_words, idx + s * K, K,
                                   out + (s - s0) * K);
        continue;
      }
    }
#endif
    const T* xt = xt_.data() + b0 * F;
#ifdef DIFFLUT_X86_INTRINSICS
    if constexpr (std::is_same_v<T, float>) {
      if (kCpuHasAvx512vl && n % 8 == 0) {
        for (int64_t s = s0; s < s1; ++s) {
          // The next slot's rows are random lines of xt: ask for them while this slot sums.
          if (s + 1 < s1)
            for (int64_t k = 0; k < K; ++k) {
              const float* row = xt + static_cast<int64_t>(idx[(s + 1) * K + k]) * n;
              for (int64_t off = 0; off < n; off += 16) __builtin_prefetch(row + off);
            }
          float_terms_avx512(xt, n, gt.data() + (s - s0) * n, idx + s * K, K, out + (s - s0) * K);
        }
        continue;
      }
    }
#endif
    for (int64_t s = s0; s < s1; ++s)
      for (int64_t k = 0; k < K; ++k)
        out[(s - s0) * K + k] +=
            sparse_dw_chunk(xt + idx[s * K + k] * n, gt.data() + (s - s0) * n, n);
  }
}

template <class T>
void sparse_dw_over_batch(const T* x, const T* g, int64_t B, int64_t F, int64_t S,
                          const int32_t* idx, int64_t K, T* out, SparseDwPath path) {
  if (B == 0) return;
  const SparseDwBatch<T> batch(x, g, B, F, S, K, path);
  parallel_for(0, S, 256,
               [&](int64_t lo, int64_t hi) { batch.add_slots(lo, hi, idx, out + lo * K); });
}

template class SparseDwBatch<float>;
template class SparseDwBatch<double>;
template bool all_binary<float>(const float*, int64_t);
template bool all_binary<double>(const double*, int64_t);
template void sparse_dw_over_batch<float>(const float*, const float*, int64_t, int64_t, int64_t,
                                          const int32_t*, int64_t, float*, SparseDwPath);
template void sparse_dw_over_batch<double>(const double*, const double*, int64_t, int64_t, int64_t,
                                           const int32_t*, int64_t, double*, SparseDwPath);

}  // namespace difflut
