// Core throughput benchmark: matmul GFLOP/s and elementwise GB/s through the graph engine, each next
// to this machine's measured ceiling (a register-only FMA loop for FLOP/s, a large memcpy for
// bandwidth), on the CPU and, when a GPU is present, on CUDA. One JSON object per line.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "bench/bench_util.h"
#include "tensor/cuda_utils.h"
#include "tensor/random.h"

using namespace difflut;

namespace {

double matmul_gflops(Device dev, int64_t n, int reps) {
  Generator gen(1);
  Tensor a = Tensor::rand({n, n}, gen, DType::f32, dev);
  Tensor b = Tensor::rand({n, n}, gen, DType::f32, dev);
  NoGradGuard ng;
  auto run = [&] {
    Graph g;
    Var y = matmul(g.input(a), g.input(b));
    (void)y;
  };
  double s = bench::time_best(dev, reps, run);
  return 2.0 * n * n * n / s / 1e9;
}

double add_gbs(Device dev, int64_t n, int reps) {
  Generator gen(2);
  Tensor a = Tensor::rand({n}, gen, DType::f32, dev);
  Tensor b = Tensor::rand({n}, gen, DType::f32, dev);
  NoGradGuard ng;
  auto run = [&] {
    Graph g;
    Var y = add(g.input(a), g.input(b));
    (void)y;
  };
  double s = bench::time_best(dev, reps, run);
  return 3.0 * n * sizeof(float) / s / 1e9;  // two reads, one write
}

// The bandwidth ceiling: a copy of the same size on all threads (CPU) or cudaMemcpy (GPU).
double memcpy_gbs(Device dev, int64_t n, int reps) {
  Tensor a = Tensor::zeros({n}, DType::f32, dev);
  Tensor b = Tensor::zeros({n}, DType::f32, dev);
  a.fill_(1.0);
  double s = bench::time_best(dev, reps, [&] {
    if (dev == Device::cuda) {
      b.copy_(a);
      return;
    }
    const float* src = a.data<float>();
    float* dst = b.data<float>();
    parallel_for(0, n, 1 << 16, [&](int64_t lo, int64_t hi) {
      std::memcpy(dst + lo, src + lo, static_cast<size_t>(hi - lo) * sizeof(float));
    });
  });
  return 2.0 * n * sizeof(float) / s / 1e9;  // one read, one write
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  const int64_t mm = quick ? 512 : 1024;
  const int64_t vec = quick ? (1 << 22) : (1 << 25);
  std::vector<Device> devices = {Device::cpu};
  if (cuda_available()) devices.push_back(Device::cuda);
  for (Device dev : devices) {
    const std::string machine = bench::machine_name(dev);
    const double peak = bench::peak_gflops(dev);
    const double mmf = matmul_gflops(dev, dev == Device::cuda ? 4096 : mm, quick ? 2 : 5);
    std::printf(
        "{\"bench\":\"matmul_f32\",\"device\":\"%s\",\"machine\":\"%s\",\"n\":%lld,"
        "\"gflops\":%.2f,\"fma_loop_ceiling_gflops\":%.2f,\"fraction_of_ceiling\":%.3f}\n",
        std::string(device_name(dev)).c_str(), machine.c_str(),
        (long long)(dev == Device::cuda ? 4096 : mm), mmf, peak, mmf / peak);
    const double bw = memcpy_gbs(dev, vec, quick ? 3 : 10);
    const double addbw = add_gbs(dev, vec, quick ? 3 : 10);
    std::printf(
        "{\"bench\":\"add_f32\",\"device\":\"%s\",\"machine\":\"%s\",\"elements\":%lld,"
        "\"gbs\":%.2f,\"memcpy_ceiling_gbs\":%.2f,\"fraction_of_ceiling\":%.3f}\n",
        std::string(device_name(dev)).c_str(), machine.c_str(), (long long)vec, addbw, bw,
        addbw / bw);
    std::fflush(stdout);
  }
  return 0;
}
