// Inference benchmark of the compiled engine (hdl/compile.h) against the float graph and the
// circuit's scalar software model, in one run on one machine. Model: --checkpoint PATH, or by
// default a freshly initialised default-size DWN (distributive thermometer 3 bits fitted on
// Fashion-MNIST train, 2000 + 1000 LUT6, learnable first mapping, 10 classes; untrained: the
// speed does not depend on the values). Data: the Fashion-MNIST test set, replicated to --samples
// for the engines. Prints one JSON object per line:
//   a summary (optimisation passes, program), the float graph (net->predict on f32 features),
//   the software model (hdl::simulate on the optimised circuit), the bit-sliced CPU engine per ISA
//   with all threads and with 1, the CUDA engine when a GPU is usable (inputs already on the
//   device; the host-to-device copy on its own line), then ratios (best engine vs float graph and
//   vs software model) and the memory-bandwidth bound (a streaming read of the same input buffer).
// Every engine's classes are checked against the software model's (the first 10,000 samples, and
// every replica of them); any mismatch ends the run with exit code 1.
//   bench_infer [--checkpoint PATH] [--dataset NAME] [--data-root DIR] [--samples N]
//               [--gpu-samples N] [--gpu-buffer N] [--float-samples N] [--sim-samples N]
//               [--min-seconds S] [--seed N]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "data/registry.h"
#include "hdl/bitslice_cuda.h"
#include "hdl/circuit_sim.h"
#include "hdl/compile.h"
#include "lut/lut_network.h"
#include "tensor/cuda_utils.h"
#include "tensor/random.h"


using namespace difflut;

namespace {

struct Args {
  std::string checkpoint;
  std::string dataset = "fashionmnist";
  std::string data_root;
  int64_t samples = 1048576;        // CPU engines
  int64_t gpu_samples = 100000000;  // CUDA engine: samples per measurement (over repeated passes)
  int64_t gpu_buffer = 16777216;    // CUDA engine: samples resident on the device (784 B each)
  int64_t float_samples = 10000;
  int64_t sim_samples = 10000;
  double min_seconds = 1.0;
  uint64_t seed = 42;
};

int64_t parse_int(const std::string& opt, const char* v, int64_t min) {
  char* end = nullptr;
  const long long x = std::strtoll(v, &end, 10);
  DIFFLUT_CHECK(*v && end && *end == '\0' && x >= min, opt, ": expected an integer >= ", min,
                ", found '", v, "'");
  return x;
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    auto value = [&]() -> const char* {
      DIFFLUT_CHECK(i + 1 < argc, s, ": expected a value after it");
      return argv[++i];
    };
    if (s == "--checkpoint") {
      a.checkpoint = value();
    } else if (s == "--dataset") {
      a.dataset = value();
    } else if (s == "--data-root") {
      a.data_root = value();
    } else if (s == "--samples") {
      a.samples = parse_int(s, value(), 1);
    } else if (s == "--gpu-samples") {
      a.gpu_samples = parse_int(s, value(), 1);
    } else if (s == "--gpu-buffer") {
      a.gpu_buffer = parse_int(s, value(), 1);
    } else if (s == "--float-samples") {
      a.float_samples = parse_int(s, value(), 1);
    } else if (s == "--sim-samples") {
      a.sim_samples = parse_int(s, value(), 1);
    } else if (s == "--min-seconds") {
      const char* v = value();
      char* end = nullptr;
      a.min_seconds = std::strtod(v, &end);
      DIFFLUT_CHECK(*v && end && *end == '\0' && a.min_seconds >= 0,
                    "--min-seconds: expected a number >= 0, found '", v, "'");
    } else if (s == "--seed") {
      a.seed = static_cast<uint64_t>(parse_int(s, value(), 0));
    } else {
      DIFFLUT_FAIL("unknown argument '", s, "'");
    }
  }
  return a;
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

// One JSON object, built field by field in order.
class JsonLine {
 public:
  JsonLine() { s_ = "{\"bench\":\"infer\""; }
  JsonLine& str(const char* k, const std::string& v) {
    std::string q = "\"";
    q += json_escape(v);
    q += '"';
    return raw(k, q);
  }
  JsonLine& num(const char* k, double v, const char* fmt = "%.6g") {
    char buf[64];
    std::snprintf(buf, sizeof buf, fmt, v);
    return raw(k, buf);
  }
  JsonLine& integer(const char* k, int64_t v) { return raw(k, std::to_string(v)); }
  JsonLine& null(const char* k) { return raw(k, "null"); }
  // The fields every measured path shares: samples per pass, passes, seconds, samples/s.
  JsonLine& throughput(int64_t samples, int64_t passes, double seconds) {
    return integer("samples", samples)
        .integer("passes", passes)
        .num("seconds", seconds, "%.4f")
        .num("samples_per_second", static_cast<double>(samples * passes) / seconds, "%.1f");
  }
  JsonLine& strings(const char* k, const std::vector<std::string>& v) {
    std::string a = "[";
    for (size_t i = 0; i < v.size(); ++i) {
      a += i ? ",\"" : "\"";
      a += json_escape(v[i]);
      a += '"';
    }
    a += ']';
    return raw(k, a);
  }
  JsonLine& raw(const char* k, const std::string& v) {
    s_ += ",\"";
    s_ += k;
    s_ += "\":";
    s_ += v;
    return *this;
  }
  void print() {
    std::printf("%s}\n", s_.c_str());
    std::fflush(stdout);
  }

 private:
  std::string s_;
};

// Repeated passes of fn until min_seconds have elapsed (at least one), after one warm-up pass.
struct Timing {
  int64_t passes = 0;
  double seconds = 0;
};
template <class Fn>
Timing measure(double min_seconds, Fn&& fn) {
  fn();
  Timing t;
  const double t0 = bench::now_seconds();
  do {
    fn();
    ++t.passes;
    t.seconds = bench::now_seconds() - t0;
  } while (t.seconds < min_seconds);
  return t;
}

// The default model of difflut-train (configs/model), freshly initialised.
std::shared_ptr<LUTNetwork> default_model(const Dataset& fit_on, int num_classes, uint64_t seed) {
  const Tensor x = fit_on.features_f32().reshape({fit_on.size(), -1});
  ThermometerEncoder enc("distributive", 3, /*feature_wise=*/true);
  enc.fit(x);
  LUTNetworkConfig cfg;   // hidden 2000,1000, k = 6, learnable first mapping, random later
  cfg.node_type = "dwn";  // pinned (the config default is hybrid): the published figures used dwn
  cfg.num_features = x.size(1);
  cfg.num_classes = num_classes;
  Generator gen(seed);
  auto net = std::make_shared<LUTNetwork>(cfg, enc, gen);
  net->eval();
  return net;
}

// Checks engine classes (n of them; sample i is test sample i % period) against the software
// model's classes of the test samples (ref, the first `ref.size()` of them). Returns mismatches.
int64_t count_mismatches(const int32_t* classes, int64_t n, int64_t period,
                         const std::vector<uint32_t>& ref) {
  int64_t bad = 0;
  const int64_t known = static_cast<int64_t>(ref.size());
  for (int64_t i = 0; i < n; ++i) {
    const int64_t j = i % period;
    if (j < known) bad += classes[i] != static_cast<int32_t>(ref[static_cast<size_t>(j)]);
  }
  return bad;
}

// Streaming read of `bytes` bytes with all threads: GB/s (best of 3).
double read_bandwidth_gbs(const uint8_t* data, int64_t bytes) {
  const int64_t words = bytes / 8;
  const auto* w = reinterpret_cast<const uint64_t*>(data);
  const int threads = num_threads();
  std::vector<uint64_t> sink(static_cast<size_t>(threads) * 8, 0);
  const double t = bench::time_best(Device::cpu, 3, [&] {
    parallel_for(0, threads, 1, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t b = words * t / threads, e = words * (t + 1) / threads;
        uint64_t acc[8] = {};
        int64_t i = b;
        for (; i + 8 <= e; i += 8)
          for (int k = 0; k < 8; ++k) acc[k] ^= w[i + k];
        for (; i < e; ++i) acc[0] ^= w[i];
        for (int k = 0; k < 8; ++k) sink[static_cast<size_t>(t * 8 + k)] ^= acc[k];
      }
    });
  });
  volatile uint64_t keep = 0;
  for (uint64_t v : sink) keep = keep ^ v;
  (void)keep;
  return static_cast<double>(words * 8) / t / 1e9;
}

struct Best {
  double sps = 0;
  std::string path, isa;
  int threads = 0;
};

// The memory-bandwidth ceiling line: raw input is `bytes_per_sample` bytes a sample, so no engine
// can classify faster than bandwidth / bytes_per_sample.
void print_bound(const char* device, const char* measure, double gb_per_s, int64_t bytes_per_sample,
                 double engine_sps, const std::string& machine) {
  const double ceiling = gb_per_s * 1e9 / static_cast<double>(bytes_per_sample);
  JsonLine()
      .str("path", "bound")
      .str("device", device)
      .str("measure", measure)
      .num("read_gb_per_s", gb_per_s, "%.2f")
      .integer("bytes_per_sample", bytes_per_sample)
      .num("ceiling_samples_per_second", ceiling, "%.1f")
      .num("best_engine_samples_per_second", engine_sps, "%.1f")
      .num("fraction_of_ceiling", engine_sps / ceiling, "%.4f")
      .num("ceiling_vs_engine", ceiling / engine_sps, "%.2f")
      .str("machine", machine)
      .print();
}

int run(const Args& a) {
  const int all_threads = num_threads();
  const std::string machine = bench::machine_name(Device::cpu);

  // ---- data and model ----
  const std::string dataset = canonical_dataset_name(a.dataset);
  const Dataset test = load_dataset(dataset, "test", a.data_root);
  DIFFLUT_CHECK(test.features.dtype() == DType::u8, "dataset '", dataset, "' has ",
                dtype_name(test.features.dtype()), " features; the engine reads raw u8 codes");
  const int64_t T = test.size();
  const int64_t F = test.feature_dim();
  std::shared_ptr<LUTNetwork> net;
  std::string model_desc;
  double t0 = bench::now_seconds();
  if (!a.checkpoint.empty()) {
    net = load_lut_network(a.checkpoint, Device::cpu);
    model_desc = a.checkpoint;
  } else {
    std::string fitted_on = "train";
    Dataset fit;
    try {
      fit = load_dataset(dataset, "train", a.data_root);
    } catch (const Error&) {
      fit = test;  // only the test set is present: fit the encoder on it
      fitted_on = "test";
    }
    net = default_model(fit, test.num_classes, a.seed);
    model_desc = str_cat("default (untrained, seed ", a.seed, "; encoder fitted on ", dataset, " ",
                         fitted_on, ")");
  }
  const double model_seconds = bench::now_seconds() - t0;
  DIFFLUT_CHECK(net->config().num_features == F, "the model expects ", net->config().num_features,
                " features, the ", dataset, " test set has ", F);

  t0 = bench::now_seconds();
  hdl::CompileOptions co;
  co.isa = hdl::best_bitslice_isa();
  const hdl::CompiledNetwork compiled = hdl::compile_network(*net, co);
  const double compile_seconds = bench::now_seconds() - t0;
  const hdl::BitsliceProgram& program = compiled.engine.program();
  std::vector<std::string> passes;
  for (const hdl::PassSummary& p : compiled.passes) passes.push_back(p.str());
  JsonLine()
      .str("path", "summary")
      .str("model", model_desc)
      .str("dataset", dataset + "/test")
      .integer("test_samples", T)
      .integer("features", F)
      .str("literal_netlist", hdl::count_netlist(compiled.literal).str())
      .strings("passes", passes)
      .str("program", program.summary())
      .num("model_seconds", model_seconds, "%.3f")
      .num("compile_seconds", compile_seconds, "%.3f")
      .str("machine", machine)
      .print();

  const uint8_t* test_codes = test.features.data<uint8_t>();

  // ---- software model (the reference classes) ----
  const int64_t n_sim = std::min(a.sim_samples, T);
  int class_port = -1;
  for (size_t o = 0; o < compiled.circuit.outputs.size(); ++o)
    if (compiled.circuit.outputs[o].port == "class_idx") class_port = static_cast<int>(o);
  DIFFLUT_CHECK(class_port >= 0, "the compiled circuit has no class_idx output");
  const std::vector<uint32_t> sim_in(test_codes, test_codes + n_sim * F);
  std::vector<uint32_t> ref;
  const Timing sim_t = measure(a.min_seconds, [&] {
    ref = hdl::simulate(compiled.circuit, sim_in, n_sim)[static_cast<size_t>(class_port)];
  });
  const double sim_sps = static_cast<double>(n_sim * sim_t.passes) / sim_t.seconds;
  JsonLine()
      .str("path", "software_model")
      .null("isa")
      .integer("threads", all_threads)
      .throughput(n_sim, sim_t.passes, sim_t.seconds)
      .str("machine", machine)
      .print();

  // ---- float graph ----
  const int64_t n_float = std::min(a.float_samples, T);
  std::vector<int64_t> rows(static_cast<size_t>(n_float));
  for (int64_t i = 0; i < n_float; ++i) rows[static_cast<size_t>(i)] = i;
  const Tensor xf = select_rows(test, rows).features_f32().reshape({n_float, F});
  Tensor float_pred;
  const Timing float_t = measure(a.min_seconds, [&] { float_pred = net->predict(xf); });
  const double float_sps = static_cast<double>(n_float * float_t.passes) / float_t.seconds;
  const std::vector<int64_t> fp = float_pred.to(DType::i64).to_vector<int64_t>();
  int64_t float_vs_sim = 0;
  for (int64_t i = 0; i < std::min(n_float, n_sim); ++i)
    float_vs_sim += fp[static_cast<size_t>(i)] != static_cast<int64_t>(ref[static_cast<size_t>(i)]);
  JsonLine()
      .str("path", "float_graph")
      .null("isa")
      .integer("threads", all_threads)
      .throughput(n_float, float_t.passes, float_t.seconds)
      .integer("mismatches_vs_software_model", float_vs_sim)
      .str("machine", machine)
      .print();

  // ---- bit-sliced CPU engine ----
  const int64_t N = a.samples;
  std::vector<uint8_t> codes(static_cast<size_t>(N * F));
  for (int64_t i = 0; i < N; i += T) {
    const int64_t m = std::min(T, N - i);
    std::memcpy(codes.data() + i * F, test_codes, static_cast<size_t>(m * F));
  }
  std::vector<int32_t> classes(static_cast<size_t>(N));
  Best best;
  bool failed = false;
  for (hdl::BitsliceIsa isa :
       {hdl::BitsliceIsa::avx512, hdl::BitsliceIsa::avx2, hdl::BitsliceIsa::portable}) {
    const std::string isa_name = hdl::bitslice_isa_name(isa);
    if (!hdl::bitslice_isa_supported(isa)) {
      JsonLine()
          .str("path", "bitslice_cpu")
          .str("isa", isa_name)
          .str("skipped", "not supported by this CPU or build")
          .str("machine", machine)
          .print();
      continue;
    }
    // avx512 runs twice: as machine code (the default) and from the op list (the fallback), so
    // the line pair shows what the machine code gains.
    for (bool jit : {true, false}) {
      if (!jit && isa != hdl::BitsliceIsa::avx512) continue;
      const hdl::BitsliceEngine engine(program, isa, jit);
      if (jit != engine.uses_jit() && isa == hdl::BitsliceIsa::avx512) continue;
      const std::string ops_form = engine.uses_jit() ? "machine_code" : "op_list";
      for (int threads : {all_threads, 1}) {
        set_num_threads(threads);
        std::fill(classes.begin(), classes.end(), -1);
        const Timing t =
            measure(a.min_seconds, [&] { engine.predict(codes.data(), N, classes.data()); });
        set_num_threads(all_threads);
        const int64_t bad = count_mismatches(classes.data(), N, T, ref);
        const double sps = static_cast<double>(N * t.passes) / t.seconds;
        JsonLine()
            .str("path", "bitslice_cpu")
            .str("isa", isa_name)
            .str("ops", ops_form)
            .integer("jit_code_bytes", static_cast<int64_t>(engine.jit_code_bytes()))
            .integer("threads", threads)
            .throughput(N, t.passes, t.seconds)
            .integer("mismatches_vs_software_model", bad)
            .str("machine", machine)
            .print();
        if (bad) failed = true;
        if (sps > best.sps) best = {sps, "bitslice_cpu", isa_name, threads};
        if (all_threads == 1) break;  // one line is enough on a one-thread machine
      }
    }
  }

  // ---- memory-bandwidth bound (CPU) ----
  const double gbs = read_bandwidth_gbs(codes.data(), static_cast<int64_t>(codes.size()));

  // ---- CUDA engine ----
  Best gpu;
  double gpu_gbs = 0;
  std::string gpu_name;
  if (cuda_available()) {
    gpu_name = cuda_device_name();
    hdl::CudaBitsliceEngine cuda_engine(program);
    const int64_t B = std::min(a.gpu_buffer, a.gpu_samples);
    const size_t bytes = static_cast<size_t>(B * F);
    uint8_t* d_codes = static_cast<uint8_t*>(cuda_malloc_or_throw(bytes));
    int32_t* d_classes = static_cast<int32_t*>(cuda_malloc_or_throw(static_cast<size_t>(B) * 4));
    // Fill from the host buffer (N samples), chunk by chunk: device sample i is host sample i % N.
    cuda_synchronize();
    const double h0 = bench::now_seconds();
    for (int64_t i = 0; i < B; i += N)
      cuda_memcpy_h2d(d_codes + i * F, codes.data(), static_cast<size_t>(std::min(N, B - i) * F));
    cuda_synchronize();
    const double h2d = bench::now_seconds() - h0;
    JsonLine()
        .str("path", "cuda_h2d")
        .integer("samples", B)
        .num("seconds", h2d, "%.4f")
        .num("gb_per_s", static_cast<double>(bytes) / h2d / 1e9, "%.2f")
        .str("machine", gpu_name)
        .print();
    // Passes over the resident buffer until gpu_samples samples and min_seconds are both reached.
    const int64_t passes_needed = (a.gpu_samples + B - 1) / B;
    cuda_engine.predict_device(d_codes, B, d_classes);  // warm-up
    cuda_synchronize();
    int64_t passes = 0;
    const double g0 = bench::now_seconds();
    double secs = 0;
    do {
      cuda_engine.predict_device(d_codes, B, d_classes);
      ++passes;
      if (passes >= passes_needed) {
        cuda_synchronize();
        secs = bench::now_seconds() - g0;
      }
    } while (passes < passes_needed || secs < a.min_seconds);
    std::vector<int32_t> gpu_classes(static_cast<size_t>(B));
    cuda_memcpy_d2h(gpu_classes.data(), d_classes, gpu_classes.size() * 4);
    int64_t bad = 0;
    for (int64_t i = 0; i < B; ++i) {
      const int64_t j = (i % N) % T;
      if (j < static_cast<int64_t>(ref.size()))
        bad += gpu_classes[static_cast<size_t>(i)] !=
               static_cast<int32_t>(ref[static_cast<size_t>(j)]);
    }
    const double sps = static_cast<double>(B * passes) / secs;
    JsonLine()
        .str("path", "bitslice_cuda")
        .str("isa", "cuda")
        .str("layout", cuda_engine.layout())
        .null("threads")
        .throughput(B, passes, secs)
        .integer("mismatches_vs_software_model", bad)
        .str("machine", gpu_name)
        .print();
    if (bad) failed = true;
    gpu = {sps, "bitslice_cuda", "cuda", 0};
    // Device bandwidth: copy the first half of the buffer onto the second (read + write bytes).
    const size_t half = bytes / 2;
    const double c =
        bench::time_best(Device::cuda, 3, [&] { cuda_memcpy_d2d(d_codes + half, d_codes, half); });
    gpu_gbs = 2.0 * static_cast<double>(half) / c / 1e9;
    cuda_free_nothrow(d_classes);
    cuda_free_nothrow(d_codes);
  }

  // ---- ratios and bounds ----
  JsonLine()
      .str("path", "ratios")
      .str("engine", best.path)
      .str("isa", best.isa)
      .integer("threads", best.threads)
      .num("engine_samples_per_second", best.sps, "%.1f")
      .num("engine_vs_float_graph", best.sps / float_sps, "%.2f")
      .num("engine_vs_software_model", best.sps / sim_sps, "%.2f")
      .raw("cuda_vs_best_cpu_engine", gpu.sps > 0 ? str_cat(gpu.sps / best.sps) : "null")
      .str("machine", machine)
      .print();
  print_bound("cpu", "streaming read of the engine's input buffer, all threads", gbs, F, best.sps,
              machine);
  if (gpu.sps > 0)
    print_bound("cuda", "device-to-device copy (read + write bytes) within the input buffer",
                gpu_gbs, F, gpu.sps, gpu_name);
  if (failed) {
    std::fprintf(stderr,
                 "bench_infer: error: an engine's classes differ from the software model's\n");
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_infer: error: %s\n", e.what());
    return 2;
  }
}
