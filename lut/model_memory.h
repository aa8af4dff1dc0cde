// How much memory a LUTNetwork will take before any of it is allocated, and how much the machine can
// still give. LUTNetwork's constructor refuses a configuration whose estimate exceeds what is
// available, so `hidden_sizes = [100000000]` fails in microseconds with the numbers instead of
// allocating for half a minute and dying of an out-of-memory error (issue 12, deliverable 4).
#pragma once
#include <cstdint>
#include <string>

#include "tensor/device.h"

namespace difflut {

struct LUTNetworkConfig;

// Bytes of one model under training with Adam. Doubles: the estimate must not overflow for
// absurd sizes, which are exactly the ones it exists to catch.
struct ModelMemoryEstimate {
  double parameter_bytes = 0;  // node tables [N, P], mapping weights W [F, N*k] or sparse [N*k, C]
  double gradient_bytes = 0;   // flat gradient buffers (fused learnable mappings have none)
  double optimizer_bytes = 0;  // Adam's two moments for every trainable value
  double index_bytes = 0;      // fixed mapping indices and their CSR inverse
  // The layer that takes the most (all four kinds above) and how much.
  size_t largest_layer = 0;
  double largest_layer_bytes = 0;
  double total() const { return parameter_bytes + gradient_bytes + optimizer_bytes + index_bytes; }
};

// The estimate for `config` whose first layer reads `input_width` encoded bits (the encoder's
// output_features(): num_features x num_bits; with conv layers, their output width). Conv layers
// themselves are not counted: their trees and tables are small next to the dense layers (a
// conv_cifar10 layer's tables take about 10 MB). Throws difflut::Error for an unknown node type or
// k outside [1, 8] (the sizes themselves may be anything: the estimate is in doubles).
ModelMemoryEstimate estimate_lut_network_memory(const LUTNetworkConfig& config,
                                                int64_t input_width);

// Bytes that can still be allocated on `device`. Host: the smallest of MemAvailable
// (/proc/meminfo), the cgroup's memory limit minus its usage, and the RLIMIT_AS / RLIMIT_DATA
// headroom. CUDA: the free device memory. A source that cannot be read does not count; if none can,
// the result is UINT64_MAX (no refusal). DIFFLUT_MEMORY_LIMIT=<bytes> caps the result (tests, and
// users who want to keep room for other work).
uint64_t available_memory_bytes(Device device);

// "1.41 GB" (decimal units, three significant digits).
std::string format_bytes(double bytes);

// Throws difflut::Error when the estimate for `config` exceeds `available` bytes: one line with the
// estimate and its parts, the available memory, and the hidden_sizes entry of the largest layer as
// the field to reduce. `what` starts the message ("LUTNetwork").
void check_lut_network_memory(const LUTNetworkConfig& config, int64_t input_width,
                              uint64_t available, const std::string& what = "LUTNetwork");

}  // namespace difflut
