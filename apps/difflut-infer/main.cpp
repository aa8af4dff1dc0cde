// difflut-infer: classifies a dataset split (or a raw file of u8 feature codes) with the compiled
// inference engine (hdl/compile.h): the checkpoint's netlist, optimised, run bit-sliced on the CPU
// (or the GPU with --device cuda) straight from raw 8-bit codes. Prints the optimisation passes and
// the program summary, then measures throughput over the codes in memory (loading excluded).
// Last line: `test_accuracy=A samples_per_second=S` when labels are known (A formatted as
// difflut-train prints it, so the two compare equal as strings), else `predictions=N
// samples_per_second=S`. Every error is one line "difflut-infer: error: ..." and exit code 2.
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "common/config/checkpoint_dataset.h"
#include "common/config/cli.h"
#include "common/config/config.h"
#include "common/config/config_compose.h"
#include "data/registry.h"
#include "hdl/bitslice_cuda.h"
#include "hdl/compile.h"
#include "lut/lut_network.h"
#include "tensor/cuda_utils.h"
#include "tensor/device.h"
#include "tensor/error.h"
#include "tensor/parallel.h"


namespace {

using namespace difflut;
using namespace difflut::app;

constexpr const char* kProgram = "difflut-infer";

const char* kUsage =
    "usage: difflut-infer CHECKPOINT.safetensors [options]\n"
    "Classifies a dataset split with the compiled bit-sliced engine and measures its throughput.\n"
    "  --device cpu|cuda    where the engine runs (default cpu)\n"
    "  --threads N          CPU threads (default: all; DIFFLUT_NUM_THREADS)\n"
    "  --isa NAME           auto, avx512, avx2 or portable (CPU path; default:\n"
    "                       $DIFFLUT_INFER_ISA, else auto)\n"
    "  --dataset NAME       dataset (default: the checkpoint's dataloaders.name)\n"
    "  --split test|train   split to classify (default test)\n"
    "  --data-root DIR      where datasets live (default: $DIFFLUT_DATA_ROOT, ../shared/data)\n"
    "  --codes FILE         raw u8 feature codes, samples x features bytes, instead of a dataset\n"
    "  --labels FILE        with --codes: one u8 label per sample\n"
    "  --out FILE           write the predicted classes, one per line\n"
    "  --min-seconds S      time repeated passes for at least S seconds (default 1.0; one pass\n"
    "                       at least)\n"
    "  --no-opt             compile the literal netlist (no optimisation passes)\n"
    "Last line: test_accuracy=A samples_per_second=S (with labels), else\n"
    "predictions=N samples_per_second=S. With --device cuda the codes are copied to the GPU once\n"
    "(h2d_seconds=... before the last line) and only the engine is timed.\n";

struct Options {
  std::string checkpoint;
  std::string device = "cpu";
  int threads = 0;  // 0: leave the pool as it is
  std::string isa;  // "": DIFFLUT_INFER_ISA or auto
  std::string dataset;
  std::string split = "test";
  std::string data_root;
  std::string codes, labels, out;
  double min_seconds = 1.0;
  bool optimize = true;
};

// An integer in [min, max]: out-of-range text is refused, never clamped by strtoll or wrapped by
// a cast to int (--threads 4294967297 ran with 1 thread).
int64_t parse_int(const std::string& opt, const std::string& v, int64_t min, int64_t max) {
  char* end = nullptr;
  errno = 0;
  const long long x = std::strtoll(v.c_str(), &end, 10);
  DIFFLUT_CHECK(!v.empty() && end && *end == '\0' && errno != ERANGE && x >= min && x <= max, opt,
                ": expected an integer in [", min, ", ", max, "], found '", v, "'");
  return x;
}

double parse_seconds(const std::string& opt, const std::string& v) {
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  DIFFLUT_CHECK(!v.empty() && end && *end == '\0' && x >= 0 && x < 1e9, opt,
                ": expected a number of seconds >= 0, found '", v, "'");
  return x;
}

Options parse(int argc, char** argv) {
  Options o;
  FlagCursor c(argc, argv);
  while (c.next()) {
    const std::string& a = c.name();
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (a == "--device") {
      o.device = c.value();
      DIFFLUT_CHECK(o.device == "cpu" || o.device == "cuda",
                    "--device: expected cpu or cuda, found '", o.device, "'");
    } else if (a == "--threads") {
      o.threads = static_cast<int>(parse_int(a, c.value(), 1, 4096));
    } else if (a == "--isa") {
      o.isa = c.value();
    } else if (a == "--dataset") {
      o.dataset = c.value();
    } else if (a == "--split") {
      o.split = c.value();
      DIFFLUT_CHECK(o.split == "test" || o.split == "train",
                    "--split: expected test or train, found '", o.split, "'");
    } else if (a == "--data-root") {
      o.data_root = c.value();
    } else if (a == "--codes") {
      o.codes = c.value();
    } else if (a == "--labels") {
      o.labels = c.value();
    } else if (a == "--out") {
      o.out = c.value();
    } else if (a == "--min-seconds") {
      o.min_seconds = parse_seconds(a, c.value());
    } else if (a == "--no-opt") {
      o.optimize = false;
    } else if (!a.empty() && a[0] == '-') {
      DIFFLUT_FAIL("unknown option '", c.raw(), "' (see --help)");
    } else {
      DIFFLUT_CHECK(o.checkpoint.empty(), "expected one checkpoint, found '", o.checkpoint,
                    "' and '", a, "'");
      o.checkpoint = a;
    }
  }
  DIFFLUT_CHECK(!o.checkpoint.empty(), "expected a checkpoint file (see --help)");
  DIFFLUT_CHECK(o.labels.empty() || !o.codes.empty(), "--labels FILE needs --codes FILE");
  DIFFLUT_CHECK(o.codes.empty() || o.dataset.empty(),
                "expected either --codes or --dataset, found both");
  return o;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string read_bytes(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  DIFFLUT_CHECK(in.good(), what, " '", path, "': cannot open the file");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  DIFFLUT_CHECK(!in.bad(), what, " '", path, "': read error");
  return bytes;
}

// What is classified: raw codes [n, features] and, when known, labels [n].
struct Input {
  std::string what;  // for the log line
  int64_t n = 0;
  std::vector<uint8_t> codes;
  std::vector<int64_t> labels;  // empty: unknown
};

Input load_input(const Options& o, const LUTNetwork& net, int64_t features) {
  Input in;
  if (!o.codes.empty()) {
    std::string bytes = read_bytes(o.codes, "--codes");
    const int64_t size = static_cast<int64_t>(bytes.size());
    DIFFLUT_CHECK(size > 0 && size % features == 0, "--codes '", o.codes,
                  "': expected a multiple of ", features, " bytes (", features,
                  " feature codes per sample), found ", size, " bytes");
    in.n = size / features;
    in.codes.assign(bytes.begin(), bytes.end());
    in.what = str_cat(o.codes, ": ", in.n, " samples");
    if (!o.labels.empty()) {
      const std::string lb = read_bytes(o.labels, "--labels");
      DIFFLUT_CHECK(static_cast<int64_t>(lb.size()) == in.n, "--labels '", o.labels, "': expected ",
                    in.n, " bytes (one label per sample of --codes), found ", lb.size(), " bytes");
      in.labels.resize(lb.size());
      for (size_t i = 0; i < lb.size(); ++i) in.labels[i] = static_cast<uint8_t>(lb[i]);
    }
    return in;
  }
  std::string data_root = o.data_root;
  const std::string name = canonical_dataset_name(
      o.dataset.empty()
          ? app::checkpoint_dataset(o.checkpoint, &data_root, "pass --dataset NAME or --codes FILE")
          : o.dataset);
  const Dataset d = load_dataset(name, o.split, data_root);
  DIFFLUT_CHECK(d.features.dtype() == DType::u8, "dataset '", name, "' has ",
                dtype_name(d.features.dtype()),
                " features; the compiled engine reads raw u8 codes, "
                "use a u8 dataset (mnist, fashionmnist, cifar10) or --codes FILE");
  DIFFLUT_CHECK(d.feature_dim() == features, "dataset '", name, "': the model expects ", features,
                " features per sample, found ", d.feature_dim(), " (", net.config().num_features,
                " in the checkpoint)");
  in.n = d.size();
  DIFFLUT_CHECK(in.n > 0, "dataset '", name, "' split ", o.split, " is empty");
  const Tensor f = d.features.to(Device::cpu);
  const uint8_t* p = f.data<uint8_t>();
  in.codes.assign(p, p + in.n * features);
  in.labels = d.labels.to(DType::i64).to_vector<int64_t>();
  in.what = str_cat(name, " ", o.split, " set: ", in.n, " samples",
                    d.note.empty() ? std::string() : " (note: " + d.note + ")");
  return in;
}

// Repeated full passes of `pass` until `min_seconds` have elapsed (at least one): samples/s.
template <class Pass>
double measure(int64_t n, double min_seconds, Pass&& pass) {
  int64_t passes = 0;
  const auto t0 = std::chrono::steady_clock::now();
  double elapsed = 0;
  do {
    pass();
    ++passes;
    elapsed = seconds_since(t0);
  } while (elapsed < min_seconds);
  return static_cast<double>(passes) * static_cast<double>(n) / elapsed;
}

// Device memory owned for the duration of a run.
struct DeviceBuffer {
  void* p = nullptr;
  explicit DeviceBuffer(size_t bytes) : p(cuda_malloc_or_throw(bytes)) {}
  ~DeviceBuffer() { cuda_free_nothrow(p); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
};

// GPU: copy once (timed apart), then time predict_device only. Fills `classes`.
double run_cuda(const hdl::BitsliceProgram& program, const Input& in, double min_seconds,
                std::vector<int32_t>& classes) {
  std::unique_ptr<hdl::CudaBitsliceEngine> engine;
  try {
    engine = std::make_unique<hdl::CudaBitsliceEngine>(program);
  } catch (const Error& e) {
    DIFFLUT_FAIL("--device cuda: the CUDA engine cannot start: ", e.what());
  }
  const size_t code_bytes = in.codes.size();
  DeviceBuffer d_codes(code_bytes);
  DeviceBuffer d_classes(static_cast<size_t>(in.n) * sizeof(int32_t));
  cuda_synchronize();
  const auto t0 = std::chrono::steady_clock::now();
  cuda_memcpy_h2d(d_codes.p, in.codes.data(), code_bytes);
  cuda_synchronize();
  const double h2d = seconds_since(t0);
  const auto* codes = static_cast<const uint8_t*>(d_codes.p);
  auto* out = static_cast<int32_t*>(d_classes.p);
  engine->predict_device(codes, in.n, out);  // warm-up, and the predictions reported
  cuda_synchronize();
  classes.resize(static_cast<size_t>(in.n));
  cuda_memcpy_d2h(classes.data(), out, classes.size() * sizeof(int32_t));
  const double sps = measure(in.n, min_seconds, [&] {
    engine->predict_device(codes, in.n, out);
    cuda_synchronize();
  });
  std::printf("h2d_seconds=%.6f\n", h2d);
  return sps;
}

int run(const Options& o) {
  // Fail before any work when the GPU asked for is not there.
  DIFFLUT_CHECK(o.device != "cuda" || cuda_available(), "--device cuda: no usable GPU (",
                cuda_compiled() ? "CUDA is compiled in, but no device or driver is usable)"
                                : "this build has no CUDA support)");
  if (o.threads > 0) set_num_threads(o.threads);
  hdl::CompileOptions co;  // its isa defaults to DIFFLUT_INFER_ISA (or auto)
  co.optimize = o.optimize;
  if (!o.isa.empty()) {
    try {
      co.isa = hdl::parse_bitslice_isa(o.isa);
    } catch (const Error& e) {
      DIFFLUT_FAIL("--isa: ", e.what());
    }
  }

  std::shared_ptr<LUTNetwork> net = load_lut_network(o.checkpoint, Device::cpu);
  const LUTNetworkConfig& mc = net->config();
  std::printf(
      "model %s: %lld features, %s%zu layers of %d-input %s nodes, %d classes\n",
      o.checkpoint.c_str(), static_cast<long long>(mc.num_features),
      net->num_conv_layers() ? (std::to_string(net->num_conv_layers()) + " conv + ").c_str() : "",
      net->num_layers(), mc.k, mc.node_type.c_str(), mc.num_classes);

  const auto t_compile = std::chrono::steady_clock::now();
  std::unique_ptr<hdl::CompiledNetwork> compiled;
  try {
    compiled = std::make_unique<hdl::CompiledNetwork>(hdl::compile_network(*net, co));
  } catch (const Error& e) {
    DIFFLUT_FAIL(o.checkpoint,
                 ": the model cannot be compiled from raw u8 codes (the engine needs "
                 "a model trained on a u8 dataset such as mnist, fashionmnist or cifar10): ",
                 e.what());
  }
  const hdl::BitsliceEngine& engine = compiled->engine;
  const hdl::BitsliceProgram& program = engine.program();
  const int64_t features = engine.input_words();
  DIFFLUT_CHECK(program.port_index("class_idx") >= 0, o.checkpoint,
                ": the compiled program has no class_idx output");
  if (compiled->passes.empty())
    std::printf("netlist (not optimised, --no-opt): %s\n",
                hdl::count_netlist(compiled->circuit).str().c_str());
  for (const hdl::PassSummary& p : compiled->passes) std::printf("%s\n", p.str().c_str());
  std::printf("program: %s (compiled in %.2f s)\n", program.summary().c_str(),
              seconds_since(t_compile));

  const Input in = load_input(o, *net, features);
  if (program.input_width < 8) {
    const unsigned limit = 1u << program.input_width;
    for (size_t i = 0; i < in.codes.size(); ++i)
      DIFFLUT_CHECK(in.codes[i] < limit, in.what, ": sample ", static_cast<int64_t>(i) / features,
                    " feature ", static_cast<int64_t>(i) % features, " has code ",
                    static_cast<int>(in.codes[i]), ", expected codes below ", limit);
  }
  for (size_t i = 0; i < in.labels.size(); ++i)
    DIFFLUT_CHECK(in.labels[i] >= 0 && in.labels[i] < mc.num_classes, in.what, ": label ",
                  in.labels[i], " of sample ", i, " is not a class of this model (", mc.num_classes,
                  " classes)");
  std::printf("input %s\n", in.what.c_str());

  std::vector<int32_t> classes;
  double sps = 0;
  if (o.device == "cuda") {
    std::printf("engine: cuda\n");
    std::fflush(stdout);
    sps = run_cuda(program, in, o.min_seconds, classes);
  } else {
    std::printf("engine: cpu %s, %d threads\n", engine.describe().c_str(), num_threads());
    classes.resize(static_cast<size_t>(in.n));
    engine.predict(in.codes.data(), in.n, classes.data());  // warm-up, and the predictions reported
    sps = measure(in.n, o.min_seconds,
                  [&] { engine.predict(in.codes.data(), in.n, classes.data()); });
  }

  if (!o.out.empty()) {
    std::string text;
    text.reserve(classes.size() * 3);
    for (int32_t c : classes) text += std::to_string(c) + '\n';
    std::ofstream f(o.out, std::ios::binary);
    DIFFLUT_CHECK(f.good(), "--out '", o.out, "': cannot open the file for writing");
    f << text;
    f.close();
    DIFFLUT_CHECK(f.good(), "--out '", o.out, "': write error");
  }
  if (!in.labels.empty()) {
    int64_t hit = 0;
    for (size_t i = 0; i < classes.size(); ++i) hit += classes[i] == in.labels[i];
    // The same arithmetic and format as difflut-train's test_accuracy (lut_network.cpp accuracy()).
    const double acc = static_cast<double>(hit) / static_cast<double>(classes.size());
    std::printf("test_accuracy=%.4f samples_per_second=%.0f\n", acc, sps);
  } else {
    std::printf("predictions=%lld samples_per_second=%.0f\n", static_cast<long long>(in.n), sps);
  }
  std::fflush(stdout);
  return 0;
}

// Errors from deeper layers may carry line breaks; the contract is one line.
std::string one_line(std::string s) {
  for (char& ch : s)
    if (ch == '\n' || ch == '\r') ch = ' ';
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  return run_guarded(kProgram, [&] {
    try {
      return run(parse(argc, argv));
    } catch (const Error& e) {
      throw Error(one_line(e.what()));
    }
  });
}
