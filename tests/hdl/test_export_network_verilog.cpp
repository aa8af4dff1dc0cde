// export_network_verilog: one call writes the Verilog, vectors and testbench, checks the circuit's
// software model against the network on every sample and reports it; the simulation (Icarus, when
// installed) agrees; bad input is refused before anything is written.
#include <filesystem>
#include <string>

#include "hdl/export_network_verilog.h"
#include "hdl_models.h"
#include "test_util.h"

using namespace difflut;
using namespace difflut::hdl;

TEST_CASE("export_network_verilog: files, an exact software model and a report in one call") {
  const Dataset d = test::toy_dataset(60, 16, 3, 2);
  auto net = test::toy_network(d, 16, 4, MappingKind::learnable, "dwn", 4);
  net->train();
  const std::string dir = test::temp_dir("export_network_verilog");
  NetworkVerilogOptions o;
  o.simulator = SimulatorChoice::none;
  o.lint = false;
  const NetworkVerilogReport r = export_network_verilog(*net, d, dir, o);
  CHECK(r.vectors == 60);
  CHECK(r.software_mismatches == 0);
  CHECK(r.exact());
  CHECK(r.circuit_accuracy == accuracy(net->predict(d.features_f32()), d.labels));
  CHECK(r.optimized.lut_nodes <= r.literal.lut_nodes);
  CHECK(r.passes.size() == 3);
  CHECK(r.simulator.empty());
  CHECK(net->is_training());  // the mode it was given
  CHECK(std::filesystem::exists(std::filesystem::path(dir) / (r.exported.design.top + ".v")));
  CHECK(std::filesystem::exists(std::filesystem::path(dir) / r.exported.testbench_file));
  CHECK(r.summary().find("software model 0 mismatches") != std::string::npos);
}

TEST_CASE("export_network_verilog: the Icarus simulation agrees on every vector") {
  if (!have_tool("iverilog")) {
    MESSAGE("skipped: iverilog is not on PATH");
    return;
  }
  const Dataset d = test::toy_dataset(24, 16, 3, 3);
  auto net = test::toy_network(d, 16, 4, MappingKind::random, "dwn", 5);
  NetworkVerilogOptions o;
  o.simulator = SimulatorChoice::icarus;
  o.lint = false;
  const NetworkVerilogReport r =
      export_network_verilog(*net, d, test::temp_dir("export_network_verilog_sim"), o);
  CHECK(r.simulator == "icarus");
  CHECK(r.simulation_mismatches == 0);
  CHECK(r.exact());
}

TEST_CASE("export_network_verilog: float features with the encoder are refused, nothing written") {
  Dataset d = test::toy_dataset(10, 16, 3, 4);
  auto net = test::toy_network(d, 16, 4, MappingKind::random, "dwn", 6);
  d.features = d.features_f32();
  const std::string dir = test::temp_dir("export_network_verilog_bad") + "/out";
  CHECK_THROWS_WITH_AS(export_network_verilog(*net, d, dir), doctest::Contains("u8 codes"), Error);
  CHECK_FALSE(std::filesystem::exists(dir));
}
