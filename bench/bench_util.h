// Shared helpers for the benchmarks: timing with device synchronisation, a measured FLOP/s ceiling,
// and the machine description that goes into every JSON line.
#pragma once
#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

#include "tensor/cuda_utils.h"
#include "tensor/device.h"
#include "tensor/device_info.h"
#include "tensor/parallel.h"

namespace difflut::bench {

inline double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Best wall time of `reps` runs of fn (after one warm-up), synchronising the GPU around each run.
inline double time_best(Device dev, int reps, const std::function<void()>& fn) {
  fn();
  if (dev == Device::cuda) cuda_synchronize();
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const double t0 = now_seconds();
    fn();
    if (dev == Device::cuda) cuda_synchronize();
    best = std::min(best, now_seconds() - t0);
  }
  return best;
}

// The CPU model and thread count, or the GPU's name.
inline std::string machine_name(Device dev) {
  if (dev == Device::cuda) return cuda_device_name();
  std::ifstream in("/proc/cpuinfo");
  std::string line, model = "unknown CPU";
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  return model + ", " + std::to_string(num_threads()) + " threads";
}

// Measured FLOP/s of a register-resident multiply-add loop: all threads on the CPU (128 independent
// chains so the vector units never wait on latency), all SMs on the GPU.
inline double peak_gflops(Device dev) {
  if (dev == Device::cuda) return cuda_peak_gflops();
  // GCC vector extension: 16 floats per value; 8 independent accumulators hide the FMA latency.
  typedef float v16 __attribute__((vector_size(64)));
  const int threads = num_threads();
  const long iters = 4000000;
  const double t = time_best(Device::cpu, 3, [&] {
    parallel_for(0, threads, 1, [&](int64_t, int64_t) {
      v16 acc[8];
      for (int j = 0; j < 8; ++j)
        for (int e = 0; e < 16; ++e) acc[j][e] = 1.0f + j * 1e-3f + e * 1e-4f;
      const v16 m = v16{} + 0.999999f, c = v16{} + 1e-6f;
      for (long i = 0; i < iters; ++i)
        for (int j = 0; j < 8; ++j) acc[j] = acc[j] * m + c;
      float s = 0;
      for (int j = 0; j < 8; ++j)
        for (int e = 0; e < 16; ++e) s += acc[j][e];
      volatile float sink = s;
      (void)sink;
    });
  });
  return 2.0 * 8 * 16 * iters * threads / t / 1e9;
}

}  // namespace difflut::bench
