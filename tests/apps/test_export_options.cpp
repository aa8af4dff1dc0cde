// difflut-export's option parser refuses what it cannot honour in one line before it reads the
// checkpoint or writes a file: numbers outside an option's range (never wrapped by a cast to int
// or clamped by strtoll), a top module name that is no Verilog identifier (never renamed), an
// iCE40 part or package nextpnr does not know (it surfaced after the whole Yosys synthesis), a
// test set whose feature count is not the model's (refused in the model's terms).
#include <filesystem>
#include <string>

#include "apps_test_util.h"
#include "hdl/tools.h"
#include "lut/lut_network.h"
#include "test_networks.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace difflut;

namespace {
// Runs difflut-export on a checkpoint that does not exist (the parser must fail first) with the
// output directory in a fresh temp dir; returns the run and checks nothing was written.
test::RunOutput export_with(const std::string& args) {
  const std::string dir = test::temp_dir("export_options");
  test::RunOutput r = test::run_program(test::built_program("difflut-export"),
                                        dir + "/none.safetensors --out " + dir + "/v " + args,
                                        "export_options_run");
  CHECK(!fs::exists(dir + "/v"));
  return r;
}
}  // namespace

TEST_CASE("difflut-export refuses numbers outside an option's range instead of wrapping them") {
  struct Case {
    const char* args;
    const char* error;
  };
  const Case cases[] = {
      {"--pipeline 4294967297",
       "--pipeline expects an integer in [0, 2147483647], found "
       "'4294967297'"},
      {"--popcount-regs 2147483648",
       "--popcount-regs expects an integer in [0, 2147483647], "
       "found '2147483648'"},
      {"--argmax-regs 99999999999999999999",
       "--argmax-regs expects an integer in [0, "
       "2147483647], found '99999999999999999999'"},
      {"--interface stream --bus-bits 4294967304",
       "--bus-bits expects an integer in [1, 4096], "
       "found '4294967304'"},
      {"--interface stream --bus-bits 5000",
       "--bus-bits expects an integer in [1, 4096], found "
       "'5000'"},
      {"--interface stream --stall 4294967326",
       "--stall expects an integer in [0, 99], found "
       "'4294967326'"},
      {"--seeds 99999999999", "--seeds expects an integer in [1, 1000], found '99999999999'"},
      {"--input-bits 4294967298",
       "--input-bits expects an integer in [2, 16], found "
       "'4294967298'"},
      {"--limit 99999999999999999999",
       "--limit expects an integer in [1, 9223372036854775807], "
       "found '99999999999999999999'"},
  };
  for (const Case& c : cases) {
    INFO(c.args);
    const test::RunOutput r = export_with(c.args);
    CHECK(r.rc == 2);
    CHECK(r.err == std::string("difflut-export: error: ") + c.error + "\n");
  }
}

TEST_CASE("difflut-export names a missing tool before it reads or writes anything") {
  // --verify and --synth found the tool missing after the design was written.
  const std::string empty_path = test::temp_dir("export_no_tools");
  const std::string dir = test::temp_dir("export_options_tools");
  for (const char* flag : {"--verify", "--synth", "--verify --simulator icarus"}) {
    CAPTURE(flag);
    const std::string cmd =
        str_cat("PATH='", empty_path, "' '", test::built_program("difflut-export"), "' '", dir,
                "/none.safetensors' --out '", dir, "/v' ", flag, " 2>&1");
    const test::CommandResult r = test::run_command(cmd);
    CHECK(r.exit_code == 2);
    CHECK(r.output.rfind("difflut-export: error: hdl: '", 0) == 0);
    CHECK(r.output.find("' is not on PATH (install the Debian package") != std::string::npos);
    CHECK(!fs::exists(dir + "/v"));
  }
}

TEST_CASE("difflut-export refuses options that the other options make ineffective") {
  // Each was ignored without a word (--bus-bits 8 passed because it equals the default).
  const std::pair<const char*, const char*> cases[] = {
      {"--bus-bits 8", "--bus-bits and --stream-scores need --interface stream"},
      {"--stall 50",
       "--stall needs --interface stream (the streaming testbench's stalls) (it "
       "would be ignored)"},
      {"--simulator icarus", "--simulator needs --verify (it would be ignored)"},
      {"--part hx1k", "--part needs --pnr ice40 (it would be ignored)"},
      {"--seeds 2", "--seeds needs --pnr ice40 (it would be ignored)"},
  };
  for (const auto& [args, error] : cases) {
    CAPTURE(args);
    const test::RunOutput r = export_with(args);
    CHECK(r.rc == 2);
    CHECK(r.err == std::string("difflut-export: error: ") + error + "\n");
  }
}

TEST_CASE("difflut-export refuses an option where a value belongs") {
  // "--out --verify" wrote into a directory named "--verify" and verified nothing.
  const test::RunOutput r = export_with("--limit 5 --csv --verify");
  CHECK(r.rc == 2);
  CHECK(r.err ==
        "difflut-export: error: option --csv expects a value, found the option '--verify' (see "
        "--help)\n");
}

TEST_CASE("difflut-export refuses a --top that is no Verilog identifier instead of renaming it") {
  for (const char* top : {"''", "'my top'", "9x", "module", "'a-b'"}) {
    INFO(top);
    const test::RunOutput r = export_with(std::string("--top ") + top);
    CHECK(r.rc == 2);
    CHECK(r.err.rfind("difflut-export: error: --top expects a Verilog identifier", 0) == 0);
    CHECK(test::lines_of(r.err).size() == 1);
  }
}

TEST_CASE("difflut-export --pnr refuses an unknown iCE40 part or package before any work") {
  if (!hdl::have_tool("nextpnr-ice40") || !hdl::have_tool("yosys") || !hdl::have_tool("icepack")) {
    MESSAGE("skipped: nextpnr-ice40, yosys or icepack is not on PATH");
    return;
  }
  // The checkpoint does not exist: the part is checked before it is read.
  test::RunOutput r = export_with("--pnr ice40 --pipeline 1 --part hx9k");
  CHECK(r.rc == 2);
  CHECK(r.err.rfind("difflut-export: error: hdl: nextpnr-ice40 does not accept the iCE40 part "
                    "'hx9k' with package 'ct256' (it says: unrecognised option '--hx9k')",
                    0) == 0);
  CHECK(test::lines_of(r.err).size() == 1);
  r = export_with("--pnr ice40 --pipeline 1 --package zz999");
  CHECK(r.rc == 2);
  CHECK(r.err.find("package 'zz999' (it says: ERROR: Unsupported package 'zz999'.)") !=
        std::string::npos);
  CHECK(test::lines_of(r.err).size() == 1);
}

TEST_CASE("difflut-export refuses a test set with another feature count in the model's terms") {
  // It failed inside the lowering or the model ("hdl: expected probe features [B, 784]",
  // "LUTNetwork.logits: expected features [N, 4]") after printing the input format.
  const std::string dir = test::temp_dir("export_fit");
  Generator g(4);
  const Tensor x = Tensor::rand({32, 4}, g);
  ThermometerEncoder enc("distributive", 2);
  enc.fit(x);
  LUTNetworkConfig c = test::small_config(4, 3, {12, 6}, 2);
  c.first_mapping = MappingKind::random;
  LUTNetwork net(c, enc, g);
  LUTNetworkSaveOptions so;
  so.write_json = false;
  save_lut_network(net, dir + "/m.safetensors", so);
  test::write_file(dir + "/three.csv", "a,b,c,label\n1,2,3,0\n4,5,6,1\n");
  const test::RunOutput r = test::run_program(
      test::built_program("difflut-export"),
      dir + "/m.safetensors --csv " + dir + "/three.csv --out " + dir + "/v", "export_fit_run");
  CHECK(r.rc == 2);
  CHECK(r.err ==
        "difflut-export: error: hdl: the model expects 4 features per sample, the data set has "
        "f32[2, 3] on cpu\n");
  CHECK(!fs::exists(dir + "/v"));
  // --input-bits where it has no effect (encoded bits in) is refused, not ignored.
  test::write_file(dir + "/four.csv", "a,b,c,d,label\n1,2,3,4,0\n4,5,6,7,1\n");
  const test::RunOutput ib =
      test::run_program(test::built_program("difflut-export"),
                        dir + "/m.safetensors --csv " + dir +
                            "/four.csv --no-encoder --input-bits 8 --out " + dir + "/v",
                        "export_fit_bits");
  CHECK(ib.rc == 2);
  CHECK(ib.err ==
        "difflut-export: error: --input-bits applies to features that are not 8-bit codes, "
        "exported with the encoder; found --no-encoder\n");
  CHECK(!fs::exists(dir + "/v"));
}
