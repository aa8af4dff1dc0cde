// difflut-infer end to end, by running the built executables: a tiny model trained by
// difflut-train is classified by the compiled engine with exactly the accuracy the training run
// reported (every ISA this CPU runs, optimised and literal netlist); a raw --codes file round-trips
// to the same predictions; bad input ends with one "difflut-infer: error:" line. Nothing here
// depends on timing.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "apps_test_util.h"
#include "autograd/io/safetensors.h"
#include "data/registry.h"
#include "hdl/bitslice_engine.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace difflut;

namespace {

using test::lines_of;
using test::read_text;

using test::RunOutput;

RunOutput run(const std::string& exe, const std::string& args, const std::string& tag) {
  return test::run_program(exe, args, "infer_io_" + tag);
}

RunOutput infer(const std::string& args, const std::string& tag) {
  return run(test::built_program("difflut-infer"), args, tag);
}

// A tiny model trained once for all cases: its checkpoint and the accuracy difflut-train printed.
struct Trained {
  std::string checkpoint;
  std::string accuracy;  // "0.xxxx", as printed
};

const Trained& trained() {
  static const Trained t = [] {
    const std::string out_dir = test::temp_dir("infer_train");
    const RunOutput r =
        run(test::built_program("difflut-train"),
            str_cat("--config-dir '", test::shipped_config_dir(),
                    "' device=cpu dataloaders.subset_size=1000 "
                    "'model.params.hidden_sizes=[120,60]' training.epochs=1 training.batch_size=32 "
                    "tracking.enabled=false experiment_name=tiny output_dir='",
                    out_dir, "'"),
            "train");
    INFO(r.err);
    REQUIRE(r.rc == 0);
    const std::string last = r.last_line();
    REQUIRE_MESSAGE(last.rfind("test_accuracy=", 0) == 0, last);
    Trained res;
    res.accuracy = last.substr(std::string("test_accuracy=").size());
    for (const auto& e : fs::directory_iterator(fs::path(out_dir) / "tiny"))
      res.checkpoint = (e.path() / "model.safetensors").string();
    REQUIRE(fs::exists(res.checkpoint));
    return res;
  }();
  return t;
}

// The accuracy field of a last line "test_accuracy=A samples_per_second=S".
std::string accuracy_of(const std::string& last) {
  const std::string key = "test_accuracy=";
  if (last.rfind(key, 0) != 0) return "";
  return last.substr(key.size(), last.find(' ') - key.size());
}

void check_result_line(const RunOutput& r, const std::string& accuracy) {
  INFO(r.err);
  INFO(r.out);
  REQUIRE(r.rc == 0);
  const std::string last = r.last_line();
  CHECK(accuracy_of(last) == accuracy);
  CHECK(last.find(" samples_per_second=") != std::string::npos);
}

void check_one_error(const RunOutput& r, const std::string& must_contain) {
  INFO(r.out);
  CHECK(r.rc == 2);
  const std::vector<std::string> err = lines_of(r.err);
  REQUIRE_MESSAGE(err.size() == 1, r.err);
  CHECK_MESSAGE(err[0].rfind("difflut-infer: error: ", 0) == 0, err[0]);
  CHECK_MESSAGE(err[0].find(must_contain) != std::string::npos, err[0]);
  CHECK(r.out.find("samples_per_second=") == std::string::npos);
}

}  // namespace

TEST_CASE("difflut-infer: the compiled engine gives the training run's test accuracy exactly") {
  const Trained& t = trained();
  MESSAGE("tiny model trained to test_accuracy=" << t.accuracy);
  const std::string ck = "'" + t.checkpoint + "' --min-seconds 0";

  const RunOutput def = infer(ck, "default");
  check_result_line(def, t.accuracy);
  CHECK(def.out.find("program: ") != std::string::npos);
  CHECK(def.out.find("constants: ") != std::string::npos);
  CHECK(def.err.empty());

  for (hdl::BitsliceIsa isa :
       {hdl::BitsliceIsa::portable, hdl::BitsliceIsa::avx2, hdl::BitsliceIsa::avx512}) {
    const std::string name = hdl::bitslice_isa_name(isa);
    if (!hdl::bitslice_isa_supported(isa)) {
      MESSAGE("skipped --isa " << name << ": not supported by this CPU or build");
      continue;
    }
    INFO("--isa " << name);
    const RunOutput r = infer(ck + " --isa " + name + " --threads 1", "isa_" + name);
    check_result_line(r, t.accuracy);
    const std::string engine_line =
        "engine: cpu " + name +
        (isa == hdl::BitsliceIsa::avx512 ? " (machine code, " : ", 1 threads");
    CHECK(r.out.find(engine_line) != std::string::npos);
    CHECK(r.out.find(", 1 threads") != std::string::npos);
  }
  // The avx512 path without machine code (DIFFLUT_INFER_JIT=0) gives the same accuracy.
  if (hdl::bitslice_isa_supported(hdl::BitsliceIsa::avx512)) {
    setenv("DIFFLUT_INFER_JIT", "0", 1);
    const RunOutput r = infer(ck + " --isa avx512", "isa_avx512_oplist");
    unsetenv("DIFFLUT_INFER_JIT");
    check_result_line(r, t.accuracy);
    CHECK(r.out.find("engine: cpu avx512, ") != std::string::npos);
  }

  const RunOutput literal = infer(ck + " --no-opt --isa portable", "noopt");
  check_result_line(literal, t.accuracy);
  CHECK(literal.out.find("not optimised") != std::string::npos);
}

TEST_CASE("difflut-infer: --codes/--labels/--out round-trip the dataset run's predictions") {
  const Trained& t = trained();
  const std::string dir = test::temp_dir("infer_codes");
  const Dataset d = load_dataset("fashionmnist", "test");
  const Tensor f = d.features.to(Device::cpu);
  const std::vector<int64_t> y = d.labels.to_vector<int64_t>();
  {
    std::ofstream c(dir + "/codes.u8", std::ios::binary);
    c.write(static_cast<const char*>(f.raw()), static_cast<std::streamsize>(f.nbytes()));
    std::ofstream l(dir + "/labels.u8", std::ios::binary);
    for (int64_t v : y) l.put(static_cast<char>(v));
  }
  const std::string ck = "'" + t.checkpoint + "' --min-seconds 0";
  const RunOutput ds = infer(ck + " --out '" + dir + "/dataset.txt'", "codes_ds");
  check_result_line(ds, t.accuracy);
  const RunOutput raw = infer(ck + " --codes '" + dir + "/codes.u8' --labels '" + dir +
                                  "/labels.u8' --out '" + dir + "/codes.txt'",
                              "codes_raw");
  check_result_line(raw, t.accuracy);
  const std::vector<std::string> a = lines_of(read_text(dir + "/dataset.txt"));
  const std::vector<std::string> b = lines_of(read_text(dir + "/codes.txt"));
  CHECK(static_cast<int64_t>(a.size()) == d.size());
  CHECK(a == b);
  // Every line is a class index, and they give the accuracy printed.
  int64_t hit = 0;
  for (size_t i = 0; i < b.size() && i < y.size(); ++i) hit += std::stoll(b[i]) == y[i];
  char acc[32];
  std::snprintf(acc, sizeof acc, "%.4f", static_cast<double>(hit) / static_cast<double>(y.size()));
  CHECK(std::string(acc) == t.accuracy);

  // Without labels: the number of predictions.
  const RunOutput nolab = infer(ck + " --codes '" + dir + "/codes.u8'", "codes_nolabels");
  REQUIRE_MESSAGE(nolab.rc == 0, nolab.err);
  CHECK(nolab.last_line().rfind(str_cat("predictions=", d.size(), " samples_per_second="), 0) == 0);
}

TEST_CASE("difflut-infer: bad input is one error line and exit code 2") {
  const Trained& t = trained();
  const std::string dir = test::temp_dir("infer_bad");
  const std::string ck = "'" + t.checkpoint + "' --min-seconds 0";

  std::ofstream(dir + "/short.u8", std::ios::binary) << std::string(785, '\1');
  const RunOutput bad_size = infer(ck + " --codes '" + dir + "/short.u8'", "bad_size");
  check_one_error(bad_size, "multiple of 784 bytes");
  CHECK(bad_size.err.find("found 785 bytes") != std::string::npos);

  std::ofstream(dir + "/two.u8", std::ios::binary) << std::string(2 * 784, '\1');
  std::ofstream(dir + "/three_labels.u8", std::ios::binary) << std::string(3, '\1');
  check_one_error(infer(ck + " --codes '" + dir + "/two.u8' --labels '" + dir + "/three_labels.u8'",
                        "bad_labels"),
                  "expected 2 bytes");

  // A safetensors file that is not a LUTNetwork checkpoint (e.g. plain weights).
  save_safetensors(dir + "/weights.safetensors",
                   {{"w", Tensor::zeros({4, 3})}, {"b", Tensor::zeros({3})}});
  check_one_error(infer("'" + dir + "/weights.safetensors'", "not_lut"),
                  "not a DiffLUT LUT network");
  std::ofstream(dir + "/text.safetensors") << "hello";
  const RunOutput garbage = infer("'" + dir + "/text.safetensors'", "garbage");
  CHECK(lines_of(garbage.err).size() == 1);
  CHECK(garbage.rc == 2);

  check_one_error(infer(ck + " --bogus", "unknown"), "--bogus");
  check_one_error(infer(ck + " --isa sse9", "bad_isa"), "sse9");
  check_one_error(infer(ck + " --device tpu", "bad_device"), "tpu");
  // An option where a value belongs: "--out --min-seconds" wrote a file named "--min-seconds".
  check_one_error(infer(ck + " --out --min-seconds 0", "value_is_option"),
                  "--out: expected a value after it, found the option '--min-seconds' (write "
                  "--out=--min-seconds for a value that starts with --)");
  // Out of an int's range: refused, not wrapped (4294967297 ran with 1 thread).
  check_one_error(infer(ck + " --threads 4294967297", "threads_wrap"),
                  "--threads: expected an integer in [1, 4096], found '4294967297'");

  if (!cuda_available()) {
    check_one_error(infer(ck + " --device cuda", "cuda"), "GPU");
  } else {
    MESSAGE("a GPU is usable: --device cuda is checked for accuracy instead of an error");
    check_result_line(infer(ck + " --device cuda", "cuda"), t.accuracy);
  }
}
