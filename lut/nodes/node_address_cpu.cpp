// Row-wise LUT addresses and table look-ups on the CPU (see node_address_cpu.h).
#include "lut/nodes/node_address_cpu.h"

#include <atomic>

#include "tensor/x86_intrinsics.h"

namespace difflut::nodes {

namespace {

std::atomic<bool> g_scalar_only{false};

template <class T>
void addresses_scalar(const T* x, int64_t N, int k, uint32_t* addr) {
  for (int64_t j = 0; j < N; ++j) {
    uint32_t a = 0;
    for (int l = 0; l < k; ++l) a |= static_cast<uint32_t>(x[j * k + l] >= T(0.5)) << l;
    addr[j] = a;
  }
}

template <class T>
void lookup_scalar(const T* table, int64_t stride, const uint32_t* addr, int64_t N, T* out) {
  for (int64_t j = 0; j < N; ++j) out[j] = table[j * stride + addr[j]];
}

#ifdef DIFFLUT_X86_INTRINSICS
// Sixteen nodes per iteration: their 16·k inputs are 16·k consecutive floats, so k compares give
// bit (16·i + s) of the block for float 16·i + s, i.e. node n's bits are n·k .. n·k + k - 1 of the
// block's ≤ 128-bit mask. _CMP_GE_OQ is false for NaN, as the scalar >= is.
__attribute__((target("avx512f"))) void addresses_avx512(const float* x, int64_t N, int k,
                                                         uint32_t* addr) {
  const __m512 half = _mm512_set1_ps(0.5f);
  const uint32_t low = (1u << k) - 1u;
  int64_t j = 0;
  for (; j + 16 <= N; j += 16) {
    const float* xb = x + j * k;
    unsigned __int128 bits = 0;
    for (int i = 0; i < k; ++i) {
      const __mmask16 m = _mm512_cmp_ps_mask(_mm512_loadu_ps(xb + 16 * i), half, _CMP_GE_OQ);
      bits |= static_cast<unsigned __int128>(m) << (16 * i);
    }
    for (int n = 0; n < 16; ++n) addr[j + n] = static_cast<uint32_t>(bits >> (n * k)) & low;
  }
  addresses_scalar(x + j * k, N - j, k, addr + j);
}

// Sixteen entries per gather: node n of the block reads table[(j + n)·stride + addr[j + n]].
__attribute__((target("avx512f"))) void lookup_avx512(const float* table, int64_t stride,
                                                      const uint32_t* addr, int64_t N, float* out) {
  const __m512i offsets = lane_strides16(stride);
  int64_t j = 0;
  for (; j + 16 <= N; j += 16) {
    const __m512i idx = _mm512_add_epi32(offsets, _mm512_loadu_si512(addr + j));
    _mm512_storeu_ps(out + j, _mm512_i32gather_ps(idx, table + j * stride, 4));
  }
  lookup_scalar(table + j * stride, stride, addr + j, N - j, out + j);
}
#endif

// The gather's offsets (15·stride + the largest address) must fit an int32.
bool vector_ok(int64_t stride) {
#ifdef DIFFLUT_X86_INTRINSICS
  return kCpuHasAvx512f && stride <= (int64_t{1} << 26) &&
         !g_scalar_only.load(std::memory_order_relaxed);
#else
  (void)stride;
  return false;
#endif
}

}  // namespace

void node_addresses_row(const float* x, int64_t N, int k, uint32_t* addr) {
#ifdef DIFFLUT_X86_INTRINSICS
  if (vector_ok(0)) {
    addresses_avx512(x, N, k, addr);
    return;
  }
#endif
  addresses_scalar(x, N, k, addr);
}

void node_addresses_row(const double* x, int64_t N, int k, uint32_t* addr) {
  addresses_scalar(x, N, k, addr);
}

void lookup_row(const float* table, int64_t stride, const uint32_t* addr, int64_t N, float* out) {
#ifdef DIFFLUT_X86_INTRINSICS
  if (vector_ok(stride)) {
    lookup_avx512(table, stride, addr, N, out);
    return;
  }
#endif
  lookup_scalar(table, stride, addr, N, out);
}

void lookup_row(const double* table, int64_t stride, const uint32_t* addr, int64_t N, double* out) {
  lookup_scalar(table, stride, addr, N, out);
}

void set_node_address_scalar_only(bool on) { g_scalar_only.store(on, std::memory_order_relaxed); }

}  // namespace difflut::nodes
