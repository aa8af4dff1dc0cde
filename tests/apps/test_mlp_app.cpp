// The mlp app end to end on the CPU: trains 2 epochs on Fashion-MNIST to >= 0.85 test accuracy, and
// bad arguments end with one error line and a non-zero exit.
#include <string>

#include "test_util.h"

using namespace difflut;

TEST_CASE("mlp reaches 0.85 test accuracy on Fashion-MNIST in 2 CPU epochs") {
  test::CommandResult r = test::run_command(test::built_program("mlp") + " --device cpu");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const std::string last = r.last_line();
  REQUIRE(last.rfind("test_accuracy=", 0) == 0);
  CHECK(std::stod(last.substr(14)) >= 0.85);
}

TEST_CASE("mlp rejects bad arguments with one clear error line") {
  test::CommandResult r = test::run_command(test::built_program("mlp") + " --epochs zero");
  CHECK(r.exit_code == 2);
  CHECK(r.output == "mlp: error: --epochs expects an integer >= 1, found 'zero'\n");
  r = test::run_command(test::built_program("mlp") + " --dataset svhn");
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("svhn") != std::string::npos);
  CHECK(r.output.find("fashionmnist") != std::string::npos);
}
