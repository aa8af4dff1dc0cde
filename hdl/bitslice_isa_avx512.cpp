// The AVX-512 path of the bit-sliced engine (this unit is compiled with AVX-512 F/BW/VL/DQ/VBMI):
// every op is one vpternlogq per 512 samples; the front end gathers each comparator window's bytes
// with one two-register byte permute (vpermi2b) and tests them with one unsigned byte compare
// (vpcmpub) per sample, then transposes the 64x64 bit tiles on zmm registers.
#include <array>
#include <cstdint>
#include <utility>

#include "hdl/bitslice_kernels.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VBMI__)
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
  static V tern(V a, V b, V c) { return _mm512_ternarylogic_epi64(c, b, a, I); }
};

// mask ? a : b, bitwise.
inline __m512i select(__m512i mask, __m512i a, __m512i b) {
  return _mm512_ternarylogic_epi64(mask, a, b, 0xca);
}

// Rounds of the 64x64 transpose (see transpose64_portable) on eight registers of eight rows each.
// Row pairs (k, k + J) for J >= 8 sit in registers p and p + J/8, same lane.
template <int J>
inline void round_across(__m512i* r, uint64_t low_mask) {
  constexpr int d = J / 8;
  const __m512i m = _mm512_set1_epi64(static_cast<long long>(low_mask));
  const __m512i mh = _mm512_slli_epi64(m, J);
  for (int p = 0; p < 8; ++p) {
    if (p & d) continue;
    const __m512i lo = r[p], hi = r[p + d];
    r[p] = select(mh, _mm512_slli_epi64(hi, J), lo);
    r[p + d] = select(m, _mm512_srli_epi64(lo, J), hi);
  }
}

// Row pairs (k, k + J) for J < 8 sit in lanes q and q + J of one register.
template <int J>
inline void round_within(__m512i* r, uint64_t low_mask, __mmask8 high_lanes) {
  const __m512i perm = _mm512_set_epi64(7 ^ J, 6 ^ J, 5 ^ J, 4 ^ J, 3 ^ J, 2 ^ J, 1 ^ J, 0 ^ J);
  const __m512i m = _mm512_set1_epi64(static_cast<long long>(low_mask));
  const __m512i mm = _mm512_mask_blend_epi64(high_lanes, _mm512_slli_epi64(m, J), m);
  for (int p = 0; p < 8; ++p) {
    const __m512i y = _mm512_permutexvar_epi64(perm, r[p]);
    const __m512i ys = _mm512_mask_blend_epi64(high_lanes, _mm512_slli_epi64(y, J),
                                               _mm512_srli_epi64(y, J));
    r[p] = select(mm, ys, r[p]);
  }
}

inline void transpose64_avx512(uint64_t* a) {
  __m512i r[8];
  for (int p = 0; p < 8; ++p) r[p] = _mm512_load_si512(a + 8 * p);
  round_across<32>(r, 0x00000000ffffffffull);
  round_across<16>(r, 0x0000ffff0000ffffull);
  round_across<8>(r, 0x00ff00ff00ff00ffull);
  round_within<4>(r, 0x0f0f0f0f0f0f0f0full, 0xf0);
  round_within<2>(r, 0x3333333333333333ull, 0xcc);
  round_within<1>(r, 0x5555555555555555ull, 0xaa);
  for (int p = 0; p < 8; ++p) _mm512_store_si512(a + 8 * p, r[p]);
}

void front_end_avx512(const difflut::hdl::bitslice::FrontEndTables& t, const uint8_t* x,
                      int64_t F, uint64_t* rows, uint64_t* slots) {
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
      transpose64_avx512(rows + w * 64);
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
