// Benchmark of the sparse learnable mapping's CPU dW (lut/sparse_dw_cpu.h) at the default model's
// first layer (F = 2352 encoder bits, S = 12000 slots, batch 32): for each candidate count C, the bit
// path (binary inputs read as packed batch words and per-slot look-up tables) against the float path
// (transposed float columns, 32 multiply-adds a term) and the default (`automatic`: the bit path
// from C = 16, below it the float path's sums read from packed words) on the same inputs in the
// same run, one JSON object per line. The bound: sixteen terms of the bit path's AVX-512 loop are one 16-lane gather
// (16 loads, at two loads a cycle) and eight in-register permutes (one port, one a cycle), so at
// best two terms a cycle per core; the clock is estimated from the measured FMA peak (assuming two
// 16-lane FMA units per core), so run it on a quiet machine. Both are estimates for this class of
// x86 core, not measurements.
// A second line per C times one optimizer step of the scores W [S, C]: the generic path (zeroed
// gradient, dW, the generic Adam pass) against the sparse mapping's fused update
// (lut/sparse_mapping_update_cpu.cpp) on the same batch, checks that both give the same bits, and
// relates the fused step to the machine's copy bandwidth measured in the same run (it must at least
// read and write W and Adam's two moments: 24 bytes a score).
// Usage: bench_sparse_dw [F=2352] [S=12000] [B=32] [candidates=8,64,256] [reps=20]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "autograd/optim/optim_kernels.h"
#include "bench/bench_util.h"
#include "lut/sparse_dw_cpu.h"
#include "lut/sparse_mapping_kernels.h"
#include "tensor/error.h"
#include "tensor/parallel.h"

using namespace difflut;

namespace {

struct Args {
  int64_t F = 2352, S = 12000, B = 32;
  std::vector<int64_t> candidates = {8, 64, 256};
  int reps = 20;
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

// Bytes a second of a parallel copy of `bytes` between two host buffers (read + write counted).
double copy_bandwidth(int64_t bytes, int reps) {
  std::vector<float> a(static_cast<size_t>(bytes / 4), 1.0f), b(a.size());
  const int64_t n = static_cast<int64_t>(a.size());
  const double t = bench::time_best(Device::cpu, reps, [&] {
    parallel_for(0, n, 1 << 16, [&](int64_t lo, int64_t hi) {
      std::copy(a.begin() + lo, a.begin() + hi, b.begin() + lo);
    });
  });
  return 2.0 * static_cast<double>(bytes) / t;
}

OptimChunks chunks_of(int64_t n) {
  std::vector<int64_t> bounds;
  std::vector<double> clamps;
  for (int64_t b = 0; b < n; b += kOptimChunkElems) {
    bounds.push_back(b);
    bounds.push_back(std::min(n, b + kOptimChunkElems));
    clamps.push_back(-INFINITY);
    clamps.push_back(INFINITY);
  }
  const int64_t c = static_cast<int64_t>(bounds.size() / 2);
  return OptimChunks{Tensor::from_vector(bounds, {c, 2}), Tensor::from_vector(clamps, {c, 2})};
}

// One Adam step of W [S, C] on the batch (x, g), generic and fused, timed and compared.
void bench_update(const Args& a, int64_t C, const std::vector<float>& x,
                  const std::vector<float>& g, const std::vector<int32_t>& idx,
                  double copy_bytes_per_s) {
  const int64_t n = a.S * C;
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> uni(0.0f, 1.0f);
  std::vector<float> w0(static_cast<size_t>(n));
  for (float& v : w0) v = uni(rng);
  const Tensor w_init = Tensor::from_vector(w0, {a.S, C});
  OptimizerStep step;
  step.kind = OptimizerStep::Kind::adam;
  step.lr = 1e-2;
  step.step = 1;
  const AdamHyper hyper{.lr = 1e-2, .step = 1};
  const OptimChunks chunks = chunks_of(n);
  std::vector<SparseMappingState::Stash> stash = {{Tensor::from_vector(x, {a.B, a.F}),
                                                   Tensor::from_vector(g, {a.B, a.S}),
                                                   Tensor::from_vector(idx, {n})}};

  Tensor wg = w_init.clone().reshape({n}), mg = Tensor::zeros({n}), vg = Tensor::zeros({n});
  Tensor grad = Tensor::zeros({n});
  const auto generic = [&] {
    std::fill(grad.data<float>(), grad.data<float>() + n, 0.0f);
    sparse_dw_over_batch(x.data(), g.data(), a.B, a.F, a.S, idx.data(), C, grad.data<float>());
    adam_update_cpu(wg, grad, mg, vg, chunks, hyper);
  };
  Tensor wf = w_init.clone(), mf = Tensor::zeros({a.S, C}), vf = Tensor::zeros({a.S, C});
  const auto fused = [&] {
    sparse_mapping_update_cpu(wf, &mf, &vf, stash, step, -INFINITY, INFINITY);
  };
  // One step each from the same start: the same bits?
  generic();
  fused();
  const float* pg = wg.data<float>();
  const float* pf = wf.data<float>();
  bool identical = true;
  for (int64_t e = 0; e < n; ++e) identical &= pg[e] == pf[e];
  const double t_generic = bench::time_best(Device::cpu, a.reps, generic);
  const double t_fused = bench::time_best(Device::cpu, a.reps, fused);
  const double bound_s = 24.0 * static_cast<double>(n) / copy_bytes_per_s;
  std::printf(
      "{\"bench\":\"sparse_update\",\"machine\":\"%s\",\"S\":%lld,\"B\":%lld,\"C\":%lld,"
      "\"generic_ms\":%.3f,\"fused_ms\":%.3f,\"speedup\":%.2f,\"same_bits\":%s,"
      "\"copy_gb_per_s\":%.1f,\"fused_fraction_of_copy_bound\":%.3f}\n",
      bench::machine_name(Device::cpu).c_str(), static_cast<long long>(a.S),
      static_cast<long long>(a.B), static_cast<long long>(C), t_generic * 1e3, t_fused * 1e3,
      t_generic / t_fused, identical ? "true" : "false", copy_bytes_per_s / 1e9, bound_s / t_fused);
  std::fflush(stdout);
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
    const double copy_bytes = copy_bandwidth(int64_t{256} << 20, 5);  // past any cache here
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
      // The default path: for C < 16 over binary x, packed words summed in the float order.
      std::vector<float> out_auto(idx.size());
      const double t_auto = bench::time_best(Device::cpu, a.reps, [&] {
        std::fill(out_auto.begin(), out_auto.end(), 0.0f);
        sparse_dw_over_batch(x.data(), g.data(), a.B, a.F, a.S, idx.data(), C, out_auto.data(),
                             SparseDwPath::automatic);
      });
      double max_diff = 0;
      for (size_t e = 0; e < idx.size(); ++e)
        max_diff = std::max(max_diff, static_cast<double>(std::abs(out_bits[e] - out_float[e])));
      const double terms = static_cast<double>(a.S * C) * static_cast<double>((a.B + 31) / 32);
      std::printf(
          "{\"bench\":\"sparse_dw\",\"machine\":\"%s\",\"F\":%lld,\"S\":%lld,\"B\":%lld,"
          "\"C\":%lld,\"bits_ms\":%.3f,\"float_ms\":%.3f,\"automatic_ms\":%.3f,"
          "\"speedup\":%.2f,"
          "\"bits_ns_per_term\":%.3f,\"bits_fraction_of_estimated_bound\":%.3f,"
          "\"estimated_ghz\":%.2f,\"max_abs_difference\":%.3g}\n",
          bench::machine_name(Device::cpu).c_str(), static_cast<long long>(a.F),
          static_cast<long long>(a.S), static_cast<long long>(a.B), static_cast<long long>(C),
          t_bits * 1e3, t_float * 1e3, t_auto * 1e3, t_float / t_bits, t_bits * 1e9 / terms,
          terms / t_bits / bound_terms, ghz, max_diff);
      std::fflush(stdout);
      bench_update(a, C, x, g, idx, copy_bytes);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_sparse_dw: %s\n", e.what());
    return 1;
  }
}
