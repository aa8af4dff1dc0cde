// The AVX-512 path of the bit-sliced engine (this unit is compiled with AVX-512 F/BW/VL/DQ/VBMI and
// GFNI):
// every op is one vpternlogq per 512 samples; the front end gathers each comparator window's bytes
// with one two-register byte permute (vpermi2b) and tests them with one unsigned byte compare
// (vpcmpub) per sample, then transposes the 64x64 bit tiles with GFNI (gf2p8affineqb).
#include <array>
#include <cstdint>
#include <utility>

#include "hdl/bitslice_kernels.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VBMI__) && defined(__GFNI__)
#include <immintrin.h>

// GCC 12's AVX-512 shift and permute intrinsics pass an undefined vector as the unused merge source
// and then warn about it at every call site (a known false positive of its headers).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace {
#include "hdl/bitslice_kernels_impl.h"

struct Word512 {
  using V = __m512i;
  static constexpr int kStride = 8;
  static V load(const uint64_t* p) { return _mm512_load_si512(p); }
  static void store(uint64_t* p, V v) { _mm512_store_si512(p, v); }
  // vpternlogq indexes its table by (A << 2 | B << 1 | C); the program's by (a | b << 1 | c << 2).
  template <int I>
  static V tern(V a, V b, V c) {
    return _mm512_ternarylogic_epi64(c, b, a, I);
  }
};

// 64x64 bit transpose in place (bit c of a[r] <-> bit r of a[c]) with GFNI, in about 48
// instructions (six rounds of masked shifts, as in transpose64_portable, take about 170).
// Register p holds rows 8p..8p+7 (qword q = row 8p+q; byte j of a row = columns 8j..8j+7).
//   A: one byte permute per register gathers each 8x8 bit block (rows 8p..8p+7, columns
//      8j..8j+7) into qword j, rows in reverse byte order;
//   B: gf2p8affineqb with the block as its matrix and bytes 1 << k as data transposes every block
//      (result bit i of byte k = bit k of matrix byte 7 - i, hence the reversal in A): byte k of
//      qword j of register p is now byte p of column 8j+k;
//   C: an 8x8 qword transpose across the registers (24 two-source permutes) brings the qwords j of
//      all eight registers together, and a last byte permute puts each column's bytes in order.
struct alignas(64) ByteIndex {
  uint8_t v[64];
};
constexpr ByteIndex gather_blocks_index() {
  ByteIndex r{};
  for (int j = 0; j < 8; ++j)
    for (int b = 0; b < 8; ++b) r.v[j * 8 + b] = static_cast<uint8_t>((7 - b) * 8 + j);
  return r;
}
constexpr ByteIndex transpose_bytes_index() {
  ByteIndex r{};
  for (int k = 0; k < 8; ++k)
    for (int p = 0; p < 8; ++p) r.v[k * 8 + p] = static_cast<uint8_t>(p * 8 + k);
  return r;
}
constexpr ByteIndex kGatherBlocks = gather_blocks_index();
constexpr ByteIndex kTransposeBytes = transpose_bytes_index();

inline __m512i perm2(__m512i a, __m512i b, long long i0, long long i1, long long i2, long long i3,
                     long long i4, long long i5, long long i6, long long i7) {
  return _mm512_permutex2var_epi64(a, _mm512_set_epi64(i7, i6, i5, i4, i3, i2, i1, i0), b);
}

inline void transpose64_gfni(uint64_t* a) {
  const __m512i gather = _mm512_load_si512(kGatherBlocks.v);
  const __m512i bytes = _mm512_load_si512(kTransposeBytes.v);
  const __m512i unit = _mm512_set1_epi64(static_cast<long long>(0x8040201008040201ull));
  __m512i r[8];
  for (int p = 0; p < 8; ++p)
    r[p] = _mm512_gf2p8affine_epi64_epi8(
        unit, _mm512_permutexvar_epi8(gather, _mm512_load_si512(a + 8 * p)), 0);
  // 8x8 qword transpose: y[j] qword p = r[p] qword j.
  __m512i h[8], q[8], y[8];
  for (int m = 0; m < 4; ++m) {  // pairs: qword t of both, for t = 0..3 and 4..7
    h[2 * m] = perm2(r[2 * m], r[2 * m + 1], 0, 8, 1, 9, 2, 10, 3, 11);
    h[2 * m + 1] = perm2(r[2 * m], r[2 * m + 1], 4, 12, 5, 13, 6, 14, 7, 15);
  }
  for (int g = 0; g < 2; ++g)      // quads: registers 4g..4g+3
    for (int x = 0; x < 2; ++x) {  // lower or upper qword half
      const __m512i lo = h[4 * g + x], hi = h[4 * g + 2 + x];
      q[4 * g + 2 * x] = perm2(lo, hi, 0, 1, 8, 9, 2, 3, 10, 11);
      q[4 * g + 2 * x + 1] = perm2(lo, hi, 4, 5, 12, 13, 6, 7, 14, 15);
    }
  for (int t = 0; t < 4; ++t) {  // q[t]: qwords 2t, 2t+1 of registers 0..3; q[4 + t]: of 4..7
    y[2 * t] = perm2(q[t], q[4 + t], 0, 1, 2, 3, 8, 9, 10, 11);
    y[2 * t + 1] = perm2(q[t], q[4 + t], 4, 5, 6, 7, 12, 13, 14, 15);
  }
  for (int j = 0; j < 8; ++j) _mm512_store_si512(a + 8 * j, _mm512_permutexvar_epi8(bytes, y[j]));
}

void front_end_avx512(const difflut::hdl::bitslice::FrontEndTables& t, const uint8_t* x, int64_t F,
                      uint64_t* rows, uint64_t* slots) {
  using difflut::hdl::bitslice::kPlaneWords;
  // Windows in batches of kBatch: the batch's index and threshold vectors stay in registers while
  // its 64 samples pass (a sample's row is read from L1 by every window of the batch). One window
  // at a time re-reads the 50 KB of rows from L2 per window; one sample at a time reloads every
  // window's two vectors per sample: both were slower.
  constexpr int64_t kBatch = 8;
  for (int g = 0; g < kPlaneWords; ++g) {
    const uint8_t* xg = x + static_cast<int64_t>(g) * 64 * F;
    for (int64_t w0 = 0; w0 < t.windows; w0 += kBatch) {
      const int64_t nb = t.windows - w0 < kBatch ? t.windows - w0 : kBatch;
      __m512i idx[kBatch], thr[kBatch];
      for (int64_t b = 0; b < nb; ++b) {
        idx[b] = _mm512_loadu_si512(t.idx + (w0 + b) * 64);
        thr[b] = _mm512_loadu_si512(t.thr + (w0 + b) * 64);
      }
      for (int s = 0; s < 64; ++s) {
        const uint8_t* xs = xg + s * F;
        // The windows revisit each row once per batch, in a pattern the hardware prefetchers do
        // not follow across rows; fetching the next group's rows into L2 during the first batch
        // hides the memory latency (measured on one core: 125 -> 86 ns/sample for the front end on 1 M
        // samples streamed from DRAM). After the block's last group this is the next block's
        // first, usually this thread's next (blocks are split in contiguous ranges); a prefetch
        // past the end of the input never faults.
        if (w0 == 0)
          for (int64_t off = 0; off < F; off += 64)
            _mm_prefetch(reinterpret_cast<const char*>(xs + 64 * F + off), _MM_HINT_T1);
        for (int64_t b = 0; b < nb; ++b) {
          const uint8_t* win = xs + t.base[w0 + b];
          const __m512i lo = _mm512_loadu_si512(win);
          const __m512i hi = _mm512_loadu_si512(win + 64);
          rows[(w0 + b) * 64 + s] =
              _mm512_cmpge_epu8_mask(_mm512_permutex2var_epi8(lo, idx[b], hi), thr[b]);
        }
      }
    }
    for (int64_t w = 0; w < t.windows; ++w) {
      transpose64_gfni(rows + w * 64);
      scatter_planes(t, w, g, rows + w * 64, slots);
    }
  }
}
}  // namespace

namespace difflut::hdl::bitslice {
Kernels avx512_kernels() { return {&front_end_avx512, &run_ops<Word512>}; }
}  // namespace difflut::hdl::bitslice
#else
namespace difflut::hdl::bitslice {
Kernels avx512_kernels() { return {nullptr, nullptr}; }
}  // namespace difflut::hdl::bitslice
#endif
