// Ops of convolutional LUT layers (lut/conv_layer.h), both driven by a fixed table of input
// columns built once at construction (its CSR inverse too, so backward is a per-owner gather):
//   conv_patches  x [B, F] -> [B * Q, R]: row b * Q + q holds x[b, table[q, r]] (table entries of
//                 -1 read the constant 0: zero padding). Backward: dx[b, f] = Σ of the gradients of
//                 the (q, r) that read f, in increasing flat order q * R + r (no atomics).
//   bit_pool      x [B, F] -> [B, Q]: out[b, q] = max_r x[b, table[q, r]] (OR on bits). Backward:
//                 the gradient of out[b, q] goes to the first maximum of its window (lowest r),
//                 summed per input in increasing flat order.
// Both tables are positions unrolled: a convolution's geometry (stride, padding, receptive field)
// lives only in how the layer filled the table, so export lowers them to plain wires.
#pragma once
#include <cstdint>

#include "autograd/graph.h"

namespace difflut {

// A table of input columns and its CSR inverse on one device. Padding entries (-1) are owned by a
// virtual input F, which backward skips: offsets has F + 2 entries.
struct ConvTable {
  Device device = Device::cpu;
  int64_t num_inputs = 0;  // F
  Tensor table;            // i32 [Q, R], entries in [-1, F)
  Tensor offsets;          // i32 [F + 2]
  Tensor positions;        // i32 [Q * R]
};
// From a host i32/i64 table [Q, R]; entries outside [-1, F) (or -1 when !allow_padding) throw
// difflut::Error naming `what`, the entry and the range.
ConvTable make_conv_table(const Tensor& table, int64_t num_inputs, Device device,
                          bool allow_padding, const char* what);

Var conv_patches(Var x, const ConvTable& table);
Var bit_pool(Var x, const ConvTable& table);

}  // namespace difflut
