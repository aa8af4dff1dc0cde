// Template bodies shared by the ISA translation units (bitslice_isa_*.cpp). Included inside an
// anonymous namespace of each of them, after <array>, <cstdint>, <utility> and bitslice_kernels.h,
// so every path gets its own copy compiled for its own instruction set (no inline function is
// shared between the units, so the linker can never pick an AVX-512 copy for the portable path).
//
// A word type W provides: V (the register type), kStride (uint64 words per V), load/store of V at
// a 64-byte-aligned uint64 pointer, and tern<I>(a, b, c) = the 3-input function with truth table
// I, bit (a | b << 1 | c << 2) — the program's convention (bitslice_program.h).

// Any 2-input function of (a, b), truth table T over bit (a | b << 1), in at most two operations.
template <int T, class V>
inline V lut2(V a, V b) {
  if constexpr (T == 0)
    return a ^ a;
  else if constexpr (T == 1)
    return ~(a | b);
  else if constexpr (T == 2)
    return a & ~b;
  else if constexpr (T == 3)
    return ~b;
  else if constexpr (T == 4)
    return ~a & b;
  else if constexpr (T == 5)
    return ~a;
  else if constexpr (T == 6)
    return a ^ b;
  else if constexpr (T == 7)
    return ~(a & b);
  else if constexpr (T == 8)
    return a & b;
  else if constexpr (T == 9)
    return ~(a ^ b);
  else if constexpr (T == 10)
    return a;
  else if constexpr (T == 11)
    return a | ~b;
  else if constexpr (T == 12)
    return b;
  else if constexpr (T == 13)
    return ~a | b;
  else if constexpr (T == 14)
    return a | b;
  else
    return ~(a ^ a);
}

// f(a, b, c) = c ? f_hi(a, b) : f_lo(a, b), as lo ^ ((lo ^ hi) & c).
template <int I, class V>
inline V tern_generic(V a, V b, V c) {
  constexpr int lo = I & 15, hi = I >> 4;
  if constexpr (lo == hi) {
    return lut2<lo>(a, b);
  } else {
    const V l = lut2<lo>(a, b);
    return l ^ ((l ^ lut2<hi>(a, b)) & c);
  }
}

template <class W, int I>
void run_group(const difflut::hdl::BitsliceOp* o, const difflut::hdl::BitsliceOp* e,
               uint64_t* slots) {
  using difflut::hdl::bitslice::kPlaneWords;
  for (; o != e; ++o) {
    uint64_t* d = slots + static_cast<int64_t>(o->dst) * kPlaneWords;
    const uint64_t* a = slots + static_cast<int64_t>(o->a) * kPlaneWords;
    const uint64_t* b = slots + static_cast<int64_t>(o->b) * kPlaneWords;
    const uint64_t* c = slots + static_cast<int64_t>(o->c) * kPlaneWords;
    for (int w = 0; w < kPlaneWords; w += W::kStride)
      W::store(d + w, W::template tern<I>(W::load(a + w), W::load(b + w), W::load(c + w)));
  }
}

using GroupFn = void (*)(const difflut::hdl::BitsliceOp*, const difflut::hdl::BitsliceOp*,
                         uint64_t*);

template <class W, size_t... I>
constexpr std::array<GroupFn, 256> group_table(std::index_sequence<I...>) {
  return {{&run_group<W, static_cast<int>(I)>...}};
}

// One dispatch on the truth table per group, then a tight loop over its ops.
template <class W>
void run_ops(const difflut::hdl::BitsliceOp* ops, const difflut::hdl::BitsliceGroup* groups,
             int64_t n_groups, uint64_t* slots) {
  static constexpr std::array<GroupFn, 256> table = group_table<W>(std::make_index_sequence<256>{});
  for (int64_t g = 0; g < n_groups; ++g)
    table[groups[g].imm](ops + groups[g].begin, ops + groups[g].end, slots);
}

// 64x64 bit transpose in place: bit c of a[r] <-> bit r of a[c]. Each round swaps the off-diagonal
// j x j blocks of every 2j x 2j block (j = 32, 16, ..., 1).
inline void transpose64_portable(uint64_t* a) {
  constexpr uint64_t kMask[6] = {0x00000000ffffffffull, 0x0000ffff0000ffffull,
                                 0x00ff00ff00ff00ffull, 0x0f0f0f0f0f0f0f0full,
                                 0x3333333333333333ull, 0x5555555555555555ull};
  int round = 0;
  for (int j = 32; j != 0; j >>= 1, ++round) {
    const uint64_t m = kMask[round];
    for (int k = 0; k < 64; k = ((k | j) + 1) & ~j) {
      const uint64_t t = ((a[k] >> j) ^ a[k | j]) & m;
      a[k | j] ^= t;
      a[k] ^= t << j;
    }
  }
}

// Writes the transposed tile of window w (64 planes of samples 64g..64g+63) into its slots.
inline void scatter_planes(const difflut::hdl::bitslice::FrontEndTables& t, int64_t w, int g,
                           const uint64_t* tile, uint64_t* slots) {
  using difflut::hdl::bitslice::kPlaneWords;
  const int32_t* slot = t.slot + w * 64;
  for (int l = 0; l < 64; ++l)
    if (slot[l] >= 0) slots[static_cast<int64_t>(slot[l]) * kPlaneWords + g] = tile[l];
}

inline void front_end_portable(const difflut::hdl::bitslice::FrontEndTables& t, const uint8_t* x,
                               int64_t F, uint64_t* rows, uint64_t* slots) {
  using difflut::hdl::bitslice::kPlaneWords;
  for (int g = 0; g < kPlaneWords; ++g) {
    const uint8_t* xg = x + static_cast<int64_t>(g) * 64 * F;
    for (int64_t w = 0; w < t.windows; ++w) {
      const uint8_t* idx = t.idx + w * 64;
      const uint8_t* thr = t.thr + w * 64;
      uint64_t* tile = rows + w * 64;
      for (int s = 0; s < 64; ++s) {
        const uint8_t* xs = xg + s * F + t.base[w];
        uint64_t m = 0;
        for (int l = 0; l < 64; ++l) m |= static_cast<uint64_t>(xs[idx[l]] >= thr[l]) << l;
        tile[s] = m;
      }
      transpose64_portable(tile);
      scatter_planes(t, w, g, tile, slots);
    }
  }
}
