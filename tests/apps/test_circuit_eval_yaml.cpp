// difflut-train evaluation.circuit=true scores the test set through the exported circuit's software
// model (hdl/) and reports exactly the network's own accuracy.
#include <string>

#include "test_util.h"

using namespace difflut;

TEST_CASE(
    "difflut-train evaluation.circuit=true reports the circuit's accuracy, equal to the model's") {
  const std::string dir = test::temp_dir("circuit_eval");
  const test::CommandResult r = test::run_command(
      "cd '" + dir + "' && '" + test::built_program("difflut-train") +
      "' device=cpu dataloaders.subset_size=1500 'model.params.hidden_sizes=[120,60]' "
      "training.epochs=1 evaluation.circuit=true output_dir=runs");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const std::string last = r.last_line();
  REQUIRE(last.rfind("test_accuracy=", 0) == 0);
  const size_t at = r.output.find("circuit_test_accuracy=");
  REQUIRE(at != std::string::npos);
  const std::string circuit = r.output.substr(at + 22, 6);
  CHECK(circuit == last.substr(14, 6));
}
