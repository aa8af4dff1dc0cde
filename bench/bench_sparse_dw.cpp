// Benchmark of the sparse learnable mapping's CPU dW (lut/sparse_dw_cpu.h) at the default model's
// first layer (F = 2352 encoder bits, S = 12000 slots, batch 32): for each candidate count C, the bit
// path (binary inputs read as packed batch words and per-slot look-up tables) against the float path
// (transposed float columns, 32 multiply-adds a term) on the same inputs in the same run, one JSON
// object per line. The bound: sixteen terms of the bit path's AVX-512 loop are one 16-lane gather
// (16 loads, at two loads a cycle) and eight in-register permutes (one port, one a cycle), so at
// best two terms a cycle per core; the clock is estimated from the measured FMA peak (assuming two
// 16-lane FMA units per core), so run it on a quiet machine. Both are estimates for this class of
// x86 core, not measurements.
// Usage: bench_sparse_dw [F=2352] [S=12000] [B=32] [candidates=8,64,256] [reps=5]
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "lut/sparse_dw_cpu.h"
#include "tensor/error.h"

using namespace difflut;

namespace {

struct Args {
  int64_t F = 2352, S = 12000, B = 32;
  std::vector<int64_t> candidates = {8, 64, 256};
  int reps = 5;
};

std::vector<int64_t> parse_list(const std::string& val) {
  std::vector<int64_t> out;
  size_t pos = 0;
  while (pos < val.size()) {
    const size_t comma = val.find(',', pos);
    out.push_back(std::stoll(val.substr(pos, comma - pos)));
    pos = comma == std::string::npos ? val.size() : comma + 1;
  }
  return out;
}

Args parse(int argc, char** argv) {
  Args a;
  for (int k = 1; k < argc; ++k) {
    const std::string s = argv[k];
    const size_t eq = s.find('=');
    DIFFLUT_CHECK(eq != std::string::npos, "bench_sparse_dw: expected key=value, found '", s, "'");
    const std::string key = s.substr(0, eq), val = s.substr(eq + 1);
    if (key == "F") {
      a.F = std::stoll(val);
    } else if (key == "S") {
      a.S = std::stoll(val);
    } else if (key == "B") {
      a.B = std::stoll(val);
    } else if (key == "reps") {
      a.reps = std::stoi(val);
    } else if (key == "candidates") {
      a.candidates = parse_list(val);
    } else {
      DIFFLUT_FAIL("bench_sparse_dw: unknown key '", key, "' (known: F, S, B, candidates, reps)");
    }
  }
  DIFFLUT_CHECK(a.F > 0 && a.S > 0 && a.B > 0 && a.reps > 0,
                "bench_sparse_dw: expected positive F, S, B and reps");
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args a = parse(argc, argv);
    std::mt19937 rng(7);
    std::vector<float> x(static_cast<size_t>(a.B * a.F)), g(static_cast<size_t>(a.B * a.S));
    for (float& v : x) v = static_cast<float>(rng() & 1u);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (float& v : g) v = normal(rng);
    const double peak = bench::peak_gflops(Device::cpu);
    // Clock estimate: peak = threads * GHz * 2 units * 16 lanes * 2 flops.
    const double ghz = peak / (num_threads() * 64.0);
    const double bound_terms = num_threads() * ghz * 1e9 * 2.0;
    for (const int64_t C : a.candidates) {
      DIFFLUT_CHECK(C > 0 && C <= a.F, "bench_sparse_dw: expected candidates in [1, F], found ", C);
      std::vector<int32_t> idx(static_cast<size_t>(a.S * C));
      for (int32_t& v : idx) v = static_cast<int32_t>(rng() % static_cast<uint32_t>(a.F));
      std::vector<float> out_bits(idx.size()), out_float(idx.size());
      const double t_bits = bench::time_best(Device::cpu, a.reps, [&] {
        std::fill(out_bits.begin(), out_bits.end(), 0.0f);
        sparse_dw_over_batch(x.data(), g.data(), a.B, a.F, a.S, idx.data(), C, out_bits.data(),
                             SparseDwPath::bits);
      });
      const double t_float = bench::time_best(Device::cpu, a.reps, [&] {
        std::fill(out_float.begin(), out_float.end(), 0.0f);
        sparse_dw_over_batch(x.data(), g.data(), a.B, a.F, a.S, idx.data(), C, out_float.data(),
                             SparseDwPath::floats);
      });
      double max_diff = 0;
      for (size_t e = 0; e < idx.size(); ++e)
        max_diff = std::max(max_diff, static_cast<double>(std::abs(out_bits[e] - out_float[e])));
      const double terms = static_cast<double>(a.S * C) * static_cast<double>((a.B + 31) / 32);
      std::printf(
          "{\"bench\":\"sparse_dw\",\"machine\":\"%s\",\"F\":%lld,\"S\":%lld,\"B\":%lld,"
          "\"C\":%lld,\"bits_ms\":%.3f,\"float_ms\":%.3f,\"speedup\":%.2f,"
          "\"bits_ns_per_term\":%.3f,\"bits_fraction_of_estimated_bound\":%.3f,"
          "\"estimated_ghz\":%.2f,\"max_abs_difference\":%.3g}\n",
          bench::machine_name(Device::cpu).c_str(), static_cast<long long>(a.F),
          static_cast<long long>(a.S), static_cast<long long>(a.B), static_cast<long long>(C),
          t_bits * 1e3, t_float * 1e3, t_float / t_bits, t_bits * 1e9 / terms,
          terms / t_bits / bound_terms, ghz, max_diff);
      std::fflush(stdout);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_sparse_dw: %s\n", e.what());
    return 1;
  }
}
