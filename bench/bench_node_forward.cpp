// Benchmark of the training forward of a lookup node layer on the CPU (hybrid nodes: y = σ(θ) at
// the binarised address, lut/nodes/node_address_cpu.h) at the wide model's layer (16,000 LUT4) and
// the default model's first layer (2,000 LUT6), batch 32: the vector path (a row's addresses 16
// nodes at a time, one gather of 16 table entries) against the portable scalar loop, in the same
// run on the same inputs, one JSON object per line: the look-up kernel alone (rows in parallel, as
// the op runs them) on both paths, and the whole op on the vector path, which also fills the σ
// table (2^k exp per node) before the look-up. The kernel's bound is an estimate: a node costs one gathered load and k/16
// vector loads of its inputs, at two loads a cycle per core, the clock estimated from the measured
// FMA peak (two 16-lane FMA units per core assumed), so run it on a quiet machine.
// Usage: bench_node_forward [B=32] [layers=16000x4,2000x6] [reps=20]
#include <cstdio>
#include <string>
#include <vector>

#include "autograd/graph.h"
#include "bench/bench_util.h"
#include "lut/node_ops.h"
#include "lut/nodes/node_address_cpu.h"
#include "tensor/error.h"
#include "tensor/parallel.h"
#include "tensor/random.h"

using namespace difflut;

namespace {

struct Layer {
  int64_t N;
  int k;
};

struct Args {
  int64_t B = 32;
  std::vector<Layer> layers = {{16000, 4}, {2000, 6}};
  int reps = 20;
};

std::vector<Layer> parse_layers(const std::string& val) {
  std::vector<Layer> out;
  size_t pos = 0;
  while (pos < val.size()) {
    const size_t comma = val.find(',', pos);
    const std::string item = val.substr(pos, comma - pos);
    const size_t x = item.find('x');
    DIFFLUT_CHECK(x != std::string::npos,
                  "bench_node_forward: expected layers like 16000x4, found '", item, "'");
    out.push_back({std::stoll(item.substr(0, x)), std::stoi(item.substr(x + 1))});
    pos = comma == std::string::npos ? val.size() : comma + 1;
  }
  return out;
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    const size_t eq = s.find('=');
    DIFFLUT_CHECK(eq != std::string::npos, "bench_node_forward: expected key=value, found '", s,
                  "'");
    const std::string key = s.substr(0, eq), val = s.substr(eq + 1);
    if (key == "B")
      a.B = std::stoll(val);
    else if (key == "layers")
      a.layers = parse_layers(val);
    else if (key == "reps")
      a.reps = std::stoi(val);
    else
      DIFFLUT_FAIL("bench_node_forward: unknown key '", key, "' (known: B, layers, reps)");
  }
  DIFFLUT_CHECK(a.B > 0 && a.reps > 0, "bench_node_forward: expected positive B and reps");
  for (const Layer& l : a.layers)
    DIFFLUT_CHECK(l.N > 0 && l.k >= 1 && l.k <= 8,
                  "bench_node_forward: expected N > 0 and k in [1, 8], found ", l.N, "x", l.k);
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args a = parse(argc, argv);
    const double peak = bench::peak_gflops(Device::cpu);
    const double ghz = peak / (num_threads() * 64.0);  // peak = threads · GHz · 2 · 16 · 2
    Generator gen(3);
    for (const Layer& l : a.layers) {
      Tensor x = Tensor::rand({a.B, l.N * l.k}, gen);  // layer inputs in [0, 1), as after a node
      Tensor theta = Tensor::randn({l.N, int64_t{1} << l.k}, gen);
      const int64_t Q = int64_t{1} << l.k;
      std::vector<float> table(static_cast<size_t>(l.N * Q));
      for (size_t i = 0; i < table.size(); ++i) table[i] = static_cast<float>(i % 1000) * 1e-3f;
      std::vector<float> y_vec(static_cast<size_t>(a.B * l.N)), y_scalar(y_vec.size());
      auto kernel = [&](std::vector<float>& out) {
        // The op's order: tiles of 256 nodes, every row per tile.
        parallel_for(0, l.N, 256, [&](int64_t lo, int64_t hi) {
          for (int64_t t = lo; t < hi; t += 256) {
            const int64_t n = std::min<int64_t>(256, hi - t);
            uint32_t addr[256];
            for (int64_t b = 0; b < a.B; ++b) {
              nodes::node_addresses_row(x.data<float>() + (b * l.N + t) * l.k, n, l.k, addr);
              nodes::lookup_row(table.data() + t * Q, Q, addr, n, out.data() + b * l.N + t);
            }
          }
        });
      };
      const double t_vec = bench::time_best(Device::cpu, a.reps, [&] { kernel(y_vec); });
      nodes::set_node_address_scalar_only(true);
      const double t_scalar = bench::time_best(Device::cpu, a.reps, [&] { kernel(y_scalar); });
      nodes::set_node_address_scalar_only(false);
      const double t_op = bench::time_best(Device::cpu, a.reps, [&] {
        Graph g;
        hybrid_lut(g.input(x, "x"), g.input(theta, "theta"), l.k, /*training=*/true);
      });
      int64_t differ = 0;
      for (size_t i = 0; i < y_vec.size(); ++i) differ += y_vec[i] != y_scalar[i];
      const double evals = static_cast<double>(a.B * l.N);
      const double loads_per_eval = 1.0 + l.k / 16.0;
      const double bound_evals = num_threads() * ghz * 1e9 * 2.0 / loads_per_eval;
      std::printf(
          "{\"bench\":\"node_forward\",\"machine\":\"%s\",\"node\":\"hybrid\",\"B\":%lld,"
          "\"N\":%lld,\"k\":%d,\"lookup_vector_ms\":%.3f,\"lookup_scalar_ms\":%.3f,"
          "\"speedup\":%.2f,\"op_vector_ms\":%.3f,\"vector_ns_per_node_sample\":%.3f,"
          "\"vector_fraction_of_estimated_bound\":%.3f,\"estimated_ghz\":%.2f,"
          "\"outputs_differing\":%lld}\n",
          bench::machine_name(Device::cpu).c_str(), static_cast<long long>(a.B),
          static_cast<long long>(l.N), l.k, t_vec * 1e3, t_scalar * 1e3, t_scalar / t_vec,
          t_op * 1e3, t_vec * 1e9 / evals, evals / t_vec / bound_evals, ghz,
          static_cast<long long>(differ));
      std::fflush(stdout);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_node_forward: %s\n", e.what());
    return 1;
  }
}
