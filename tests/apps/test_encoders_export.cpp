// Every level-code encoder end to end through the built executables: difflut-train trains a tiny
// Fashion-MNIST model with model.params.encoder.name=<e>, and difflut-export lowers its checkpoint
// from raw 8-bit pixels (the encoder's comparators and code logic included) and counts 0 vectors
// where the circuit's software model differs from the model; for binary (the widest code logic)
// Verilator also simulates the Verilog on the golden vectors. Unknown encoder names and bit counts
// out of a code's range are refused with one line, before any data is loaded.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "apps_test_util.h"
#include "hdl/tools.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace difflut;

namespace {
test::RunOutput train_tiny(const std::string& encoder, const std::string& out_dir) {
  return test::run_program(
      test::built_program("difflut-train"),
      str_cat("--config-dir '", test::shipped_config_dir(),
              "' device=cpu dataloaders.subset_size=600 'model.params.hidden_sizes=[60,30]' "
              "model.params.encoder.name=",
              encoder,
              " model.params.encoder.num_bits=3 "
              "training.epochs=1 tracking.enabled=false experiment_name=enc output_dir='",
              out_dir, "'"),
      "enc_train_" + encoder);
}
}  // namespace

TEST_CASE(
    "difflut-train trains with every level-code encoder and difflut-export verifies 0 mismatches") {
  for (const char* name : {"binary", "gray", "onehot", "sign_magnitude", "logarithmic"}) {
    CAPTURE(name);
    const std::string dir = test::temp_dir(str_cat("enc_export_", name));
    const test::RunOutput t = train_tiny(name, dir);
    INFO(t.err);
    REQUIRE(t.rc == 0);
    REQUIRE(t.last_line().rfind("test_accuracy=", 0) == 0);
    CHECK((t.out + t.err).find(str_cat(name, " code (3 bits)")) != std::string::npos);
    std::string ckpt;
    for (const auto& e : fs::directory_iterator(fs::path(dir) / "enc"))
      ckpt = (e.path() / "model.safetensors").string();
    REQUIRE(fs::exists(ckpt));
    const bool sim = std::string(name) == "binary" && hdl::have_tool("verilator");
    const test::RunOutput x =
        test::run_program(test::built_program("difflut-export"),
                          str_cat("'", ckpt, "' --dataset fashionmnist --limit ", sim ? 20 : 200,
                                  sim ? " --verify" : "", " --out '", dir, "/v'"),
                          str_cat("enc_export_run_", name));
    INFO(x.out);
    INFO(x.err);
    CHECK(x.rc == 0);
    CHECK(x.last_line().rfind("mismatches=0", 0) == 0);
    if (sim)
      CHECK(x.out.find("simulation (verilator): 0 mismatches in 20 vectors") != std::string::npos);
  }
}

TEST_CASE("bad encoder configs fail with one clear line: unknown names, bit counts out of range") {
  const std::string dir = test::temp_dir("enc_bad");
  const test::RunOutput t = train_tiny("octal", dir);
  CHECK(t.rc != 0);
  CHECK(t.err.find("binary, gray, onehot, sign_magnitude, logarithmic") != std::string::npos);
  const test::RunOutput b = test::run_program(
      test::built_program("difflut-train"),
      str_cat("--config-dir '", test::shipped_config_dir(),
              "' model.params.encoder.name=binary "
              "model.params.encoder.num_bits=13 tracking.enabled=false output_dir='",
              dir, "'"),
      "enc_bad_bits");
  CHECK(b.rc != 0);
  CHECK(b.err ==
        "difflut-train: error: config key 'model.params.encoder.num_bits': binary encoder: "
        "expected num_bits in [1, 12], found 13\n");
}
