// Facts about the GPU for reports and benchmarks (name, a measured FLOP/s ceiling).
#pragma once
#include <string>

namespace difflut {

// The current GPU's name ("NVIDIA H200"), or "no GPU".
std::string cuda_device_name();
// Measured f32 GFLOP/s of a register-only multiply-add kernel over all SMs (0 without a GPU).
double cuda_peak_gflops();

}  // namespace difflut
