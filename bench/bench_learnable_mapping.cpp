// Benchmark of the learnable mapping's optimizer step at the default model's size (F = 2352 encoder
// bits, S = 12000 slots: 28M weights), one JSON object per line:
//   - the fused pass (dW from the stashed batch + Adam + clamp + next argmax, one pass over W, m, v);
//   - the unfused path in the same run: zero the gradient, forward (with its argmax pass), dense dW
//     through the op's backward, a separate Adam pass; its parts are also timed alone;
//   - bandwidth references in the same run: copying as many bytes as the fused pass must move
//     (W, m, v read and written once: 6 * F * S * 4 bytes) with a plain parallel memcpy, and (CPU)
//     the same traffic as an in-place read-modify-write stream over three [F, S] arrays, which is
//     the fused pass's access pattern without its arithmetic.
// Usage: bench_learnable_mapping [device=cpu|cuda] [F=2352] [S=12000] [batches=32,256] [reps=5]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "autograd/graph.h"
#include "lut/learnable_mapping.h"
#include "lut/learnable_mapping_kernels.h"
#include "tensor/cuda_utils.h"
#include "tensor/parallel.h"

using namespace difflut;

namespace {

struct Args {
  Device device = Device::cpu;
  int64_t F = 2352, S = 12000;
  std::vector<int64_t> batches = {32, 256};
  int reps = 5;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int k = 1; k < argc; ++k) {
    const std::string s = argv[k];
    const size_t eq = s.find('=');
    DIFFLUT_CHECK(eq != std::string::npos, "bench_learnable_mapping: expected key=value, found '",
                  s, "'");
    const std::string key = s.substr(0, eq), val = s.substr(eq + 1);
    if (key == "device") {
      a.device = parse_device(val);
    } else if (key == "F") {
      a.F = std::stoll(val);
    } else if (key == "S") {
      a.S = std::stoll(val);
    } else if (key == "reps") {
      a.reps = std::stoi(val);
    } else if (key == "batches") {
      a.batches.clear();
      size_t pos = 0;
      while (pos < val.size()) {
        const size_t comma = val.find(',', pos);
        a.batches.push_back(std::stoll(val.substr(pos, comma - pos)));
        pos = comma == std::string::npos ? val.size() : comma + 1;
      }
    } else {
      DIFFLUT_FAIL("bench_learnable_mapping: unknown key '", key,
                   "' (known: device, F, S, batches, reps)");
    }
  }
  return a;
}

void sync(Device d) {
  if (d == Device::cuda) cuda_synchronize();
}

// Median and minimum milliseconds of `reps` timed runs of fn (after one untimed warm-up run).
struct Timing {
  double median_ms, min_ms;
};
Timing time_ms(Device d, int reps, const std::function<void()>& fn) {
  fn();
  sync(d);
  std::vector<double> ms;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    sync(d);
    const auto t1 = std::chrono::steady_clock::now();
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms.front()};
}

Tensor binary_batch(int64_t B, int64_t F, Generator& gen, Device d) {
  std::vector<float> v = Tensor::rand({B, F}, gen).to_vector<float>();
  for (float& e : v) e = e < 0.5f ? 0.0f : 1.0f;
  return Tensor::from_vector(v, {B, F}, d);
}

void print_timing(const char* name, const Timing& t) {
  std::printf("\"%s_ms\": %.3f, \"%s_min_ms\": %.3f", name, t.median_ms, name, t.min_ms);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args a = parse(argc, argv);
    const Device d = a.device;
    DIFFLUT_CHECK(d == Device::cpu || cuda_available(),
                  "bench_learnable_mapping: device=cuda but no usable GPU");
    const int64_t F = a.F, S = a.S;
    const char* dev = d == Device::cpu ? "cpu" : "cuda";
    const int threads = d == Device::cpu ? num_threads() : 0;

    // Bandwidth ceiling: copy 3 * F * S floats (read + write = the fused pass's traffic).
    const int64_t copy_floats = 3 * F * S;
    const double traffic_bytes = 2.0 * static_cast<double>(copy_floats) * sizeof(float);
    {
      Tensor src = Tensor::zeros({copy_floats}, DType::f32, d);
      Tensor dst = Tensor::zeros({copy_floats}, DType::f32, d);
      const Timing t = time_ms(d, a.reps, [&] {
        if (d == Device::cuda) {
          dst.copy_(src);
        } else {
          const char* s = static_cast<const char*>(src.raw());
          char* o = static_cast<char*>(dst.raw());
          const int64_t bytes = copy_floats * static_cast<int64_t>(sizeof(float));
          parallel_for(0, bytes, 1 << 22, [&](int64_t lo, int64_t hi) {
            std::memcpy(o + lo, s + lo, static_cast<size_t>(hi - lo));
          });
        }
      });
      std::printf(
          "{\"bench\": \"learnable_mapping\", \"case\": \"memcpy_ceiling\", \"device\": \"%s\", "
          "\"threads\": %d, \"traffic_mb\": %.1f, ",
          dev, threads, traffic_bytes / 1e6);
      print_timing("memcpy", t);
      std::printf(", \"gb_per_s\": %.2f}\n", traffic_bytes / 1e6 / t.median_ms);
      std::fflush(stdout);
    }
    if (d == Device::cpu) {
      // The pass's own access pattern without its arithmetic: three [F, S] arrays read and written
      // in place (no write-allocate penalty, unlike memcpy), streamed with all threads.
      Tensor a0 = Tensor::zeros({F, S}), a1 = Tensor::zeros({F, S}), a2 = Tensor::zeros({F, S});
      float* p0 = a0.data<float>();
      float* p1 = a1.data<float>();
      float* p2 = a2.data<float>();
      const Timing t = time_ms(d, a.reps, [&] {
        parallel_for(0, F * S, 1 << 16, [&](int64_t lo, int64_t hi) {
          for (int64_t k = lo; k < hi; ++k) {
            p0[k] = p0[k] * 0.5f + 1.0f;
            p1[k] = p1[k] * 0.5f + 1.0f;
            p2[k] = p2[k] * 0.5f + 1.0f;
          }
        });
      });
      std::printf(
          "{\"bench\": \"learnable_mapping\", \"case\": \"inplace_stream_ceiling\", "
          "\"device\": \"cpu\", \"threads\": %d, \"traffic_mb\": %.1f, ",
          threads, traffic_bytes / 1e6);
      print_timing("stream", t);
      std::printf(", \"gb_per_s\": %.2f}\n", traffic_bytes / 1e6 / t.median_ms);
      std::fflush(stdout);
    }

    for (int64_t B : a.batches) {
      Generator gen(1234);
      const Tensor w0 = learnable_mapping_init(F, S, gen, DType::f32, d);
      const Tensor x = binary_batch(B, F, gen, d);
      const Tensor g = Tensor::randn({B, S}, gen, DType::f32, d);
      OptimizerStep st;
      st.kind = OptimizerStep::Kind::adam;
      st.lr = 1e-2;
      st.step = 1;

      // Fused step: forward (gather at the cached argmax) + backward (stash) + the parameter's
      // one-pass update (dW + Adam + clamp + next argmax).
      Parameter pf;
      pf.name = "W";
      pf.value = w0.clone();
      Tensor mf = Tensor::zeros({F, S}, DType::f32, d), vf = Tensor::zeros({F, S}, DType::f32, d);
      auto state = make_learnable_mapping_state();
      pf.custom_update = make_learnable_mapping_update(state);
      st.state[0] = &mf;
      st.state[1] = &vf;
      const Timing fused_step = time_ms(d, a.reps, [&] {
        Graph graph;
        Var out = learnable_mapping(graph.input(x), graph.param(pf), state);
        graph.backward(out, g);
        pf.custom_update(pf, st);
        ++st.step;
      });
      const Timing fused_update = time_ms(d, a.reps, [&] {
        state->stash.push_back({x, g});
        learnable_mapping_fused_step(*state, pf, st);
        ++st.step;
      });

      // Unfused step: zero the gradient + forward (argmax pass + gather) + backward (dense dW) +
      // a separate Adam pass. Its parts are timed on their own too.
      Parameter pu;
      pu.name = "W";
      pu.value = w0.clone();
      pu.ensure_grad();
      Tensor mu = Tensor::zeros({F, S}, DType::f32, d), vu = Tensor::zeros({F, S}, DType::f32, d);
      OptimizerStep su = st;
      su.step = 1;
      su.state[0] = &mu;
      su.state[1] = &vu;
      auto adam_pass = [&] {
        if (d == Device::cuda) {
          learnable_mapping_optimizer_pass_cuda(pu.value, pu.grad, &mu, &vu, su, pu.clamp_min,
                                                pu.clamp_max);
        } else {
          learnable_mapping_optimizer_pass_cpu(pu.value, pu.grad, &mu, &vu, su, pu.clamp_min,
                                               pu.clamp_max);
        }
        ++su.step;
      };
      const Timing unfused_step = time_ms(d, a.reps, [&] {
        pu.grad.zero_();
        Graph graph;
        Var out = learnable_mapping(graph.input(x), graph.param(pu));
        graph.backward(out, g);
        adam_pass();
      });
      Graph graph;
      Var out = learnable_mapping(graph.input(x), graph.param(pu));
      const Timing dense_dw = time_ms(d, a.reps, [&] { graph.backward(out, g); });
      const Timing adam = time_ms(d, a.reps, adam_pass);
      const Timing argmax = time_ms(d, a.reps, [&] { (void)learnable_mapping_argmax(pu.value); });

      std::printf(
          "{\"bench\": \"learnable_mapping\", \"case\": \"optimizer_step\", \"device\": "
          "\"%s\", \"threads\": %d, \"F\": %lld, \"S\": %lld, \"B\": %lld, ",
          dev, threads, static_cast<long long>(F), static_cast<long long>(S),
          static_cast<long long>(B));
      print_timing("fused_step", fused_step);
      std::printf(", ");
      print_timing("unfused_step", unfused_step);
      std::printf(", \"speedup\": %.2f, ", unfused_step.median_ms / fused_step.median_ms);
      print_timing("fused_update", fused_update);
      std::printf(", \"fused_update_gb_per_s\": %.2f, ",
                  traffic_bytes / 1e6 / fused_update.median_ms);
      print_timing("unfused_dense_dw", dense_dw);
      std::printf(", ");
      print_timing("unfused_adam", adam);
      std::printf(", ");
      print_timing("unfused_argmax", argmax);
      std::printf("}\n");
      std::fflush(stdout);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_learnable_mapping: error: %s\n", e.what());
    return 1;
  }
}
