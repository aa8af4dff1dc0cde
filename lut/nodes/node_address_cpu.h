// Binarised LUT addresses of a whole row of nodes, and the table look-up that reads them: the
// forward of every node type whose training output is a table entry at the binarised address
// (hybrid, dwn_stable: y = q[j][address(x_j)]), of the dwn_lut op and of every node type's eval
// (truth table at the address). One sample row at a time, so callers parallelise over rows.
//
// address(x_j) = Σ_l [x[j·k + l] >= 0.5] << l (node_address, DESIGN.md §3; NaN reads as 0).
// Float rows take an AVX-512 path (16 nodes: k compares give the row's 16·k bits at once, then
// one gather of the 16 entries) on CPUs that have it; every path gives the same values as the
// scalar loop, which a test checks for every k.
#pragma once
#include <cstdint>

namespace difflut::nodes {

// addr[j] = address of node j's k inputs x[j·k .. j·k + k) for j in [0, N); 1 <= k <= kMaxK.
void node_addresses_row(const float* x, int64_t N, int k, uint32_t* addr);
void node_addresses_row(const double* x, int64_t N, int k, uint32_t* addr);

// out[j] = table[j·stride + addr[j]] for j in [0, N) (addr[j] < stride).
void lookup_row(const float* table, int64_t stride, const uint32_t* addr, int64_t N, float* out);
void lookup_row(const double* table, int64_t stride, const uint32_t* addr, int64_t N, double* out);

// Forces the portable loops (tests compare them with the vector path); process-wide.
void set_node_address_scalar_only(bool on);

}  // namespace difflut::nodes
