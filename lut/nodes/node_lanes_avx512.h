// AVX-512 pieces of the CPU lane backward (node_kernels_cpu.cpp: one node, 16 samples at once,
// lane-major): loading a node's 16 samples of inputs and output gradients (gathers instead of
// 16·(k + 1) strided scalar loads), adding the lanes' input gradients back (gather, add, scatter),
// and the multilinear family's corner path (ml_grad_lanes_corners with its corner sums) for
// lanes whose inputs are all 0 or 1. Each gives the portable code's values bit for bit (same
// operations in the same order: tests/cpu/test_node_lanes.cpp compares them). Callers use them
// only when lanes_avx512_usable() holds.
#pragma once
#include <cstdint>

namespace difflut::nodes {

// True when this CPU runs AVX-512 F and sample strides up to `x_stride` floats fit the gathers'
// 32-bit offsets (15 · x_stride + k).
bool lanes_avx512_usable(int64_t x_stride);

// xs [k][16] = x0[s·x_stride + l] and gs [16] = g0[s·g_stride] for lanes s < nl; 0 in the others.
void load_lanes16(const float* x0, int64_t x_stride, int k, const float* g0, int64_t g_stride,
                  int nl, float* xs, float* gs);

// gx0[s·x_stride + l] += dxs[l·16 + s] for lanes s < nl.
void add_lanes16(const float* dxs, int k, int nl, float* gx0, int64_t x_stride);

// The corner path of ProbabilisticBase::ml_grad_lanes_acc<16> for corner values w [2^k]: when
// every one of the 16 lanes of xs [k][16] is 0 or 1, writes dxs [k][16] (the lanes' input
// gradients, from zero), adds each corner's lane-tree sum of gs into acc (when not null) and
// returns true; otherwise returns false and writes nothing.
bool corner_lanes16(const float* w, int k, const float* xs, const float* gs, float* dxs,
                    double* acc);

// acc[a] += the lane-tree sum of adj [a][16] for every corner a < K (the fold branch of
// ml_grad_lanes_acc<16>: one vector load and four adds a corner instead of fifteen scalar adds).
void add_corner_sums16(const float* adj, int K, double* acc);

}  // namespace difflut::nodes
