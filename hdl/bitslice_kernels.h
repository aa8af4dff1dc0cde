// The per-ISA inner loops of the bit-sliced CPU engine (bitslice_engine.h), behind plain function
// pointers so that each path lives in its own translation unit compiled for its instruction set
// (bitslice_isa_*.cpp) and the engine picks one at run time.
//
// Layout: a block is 1024 samples; a slot (plane) is kPlaneWords = 16 uint64 words, word g holding
// samples 64g..64g+63, bit s sample 64g+s; slots are 64-byte aligned.
//
// Front end: comparators are packed into windows of up to 64 lanes that read bytes
// [base, base + 128) of a sample (so one two-register byte permute gathers them); lane l of window
// w tests x[base[w] + idx[w][l]] >= thr[w][l] and writes slot slot[w][l] (-1: unused lane). For each
// group of 64 samples the kernel forms one 64-bit row per (sample, window), then transposes each
// window's 64x64 bit tile into planes.
#pragma once
#include <cstdint>

#include "hdl/bitslice_program.h"

namespace difflut::hdl::bitslice {

constexpr int kPlaneWords = 16;
constexpr int kBlockSamples = kPlaneWords * 64;
constexpr int kWindowBytes = 128;
constexpr int kWindowLanes = 64;

struct FrontEndTables {
  const int32_t* base;  // [windows]
  const uint8_t* idx;   // [windows, 64] byte offsets in the window
  const uint8_t* thr;   // [windows, 64] thresholds
  const int32_t* slot;  // [windows, 64] destination slots, -1 for unused lanes
  int64_t windows;
};

struct Kernels {
  // x: one block of codes [1024, F], row-major; every row readable up to base + 128 bytes.
  // rows: scratch [windows * 64] (64-byte aligned); slots: [num_slots * 16] (64-byte aligned).
  void (*front_end)(const FrontEndTables& t, const uint8_t* x, int64_t F, uint64_t* rows,
                    uint64_t* slots);
  // Runs the groups in order on slots.
  void (*run_ops)(const BitsliceOp* ops, const BitsliceGroup* groups, int64_t n_groups,
                  uint64_t* slots);
};

Kernels portable_kernels();
// Only valid where bitslice_isa_supported() says so; null members in builds without the path.
Kernels avx2_kernels();
Kernels avx512_kernels();

}  // namespace difflut::hdl::bitslice
