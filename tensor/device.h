// Where a tensor's storage lives. DiffLUT targets one GPU per process: CUDA means the current device.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace difflut {

enum class Device : uint8_t { cpu = 0, cuda = 1 };
constexpr int kNumDevices = 2;

constexpr std::string_view device_name(Device d) { return d == Device::cpu ? "cpu" : "cuda"; }

// Parses "cpu" or "cuda"; throws difflut::Error naming `what` otherwise.
Device parse_device(std::string_view s, std::string_view what = "device");

// True when the library was built with CUDA and at least one GPU is usable. A machine whose driver
// is missing or too old reads as "no GPU", never as a crash.
bool cuda_available();

// True when the library was compiled with CUDA kernels (independent of whether a GPU is present).
bool cuda_compiled();

}  // namespace difflut
