// The op table is complete: every listed op kind has a row with shape inference and kernels for
// every device this build has, and a backward kernel wherever an input is differentiable.
#include "autograd/op_def.h"
#include "test_util.h"

using namespace difflut;

TEST_CASE("every op kind has a complete row in the op table") {
  for (int i = 0; i < kNumOps; ++i) {
    const OpKind k = static_cast<OpKind>(i);
    CAPTURE(op_name(k));
    const OpDef& d = op_def(k);
    CHECK(std::string(d.name) == op_name(k));
    CHECK(bool(d.infer));
    if (k == OpKind::leaf) continue;
    CHECK(bool(d.forward[static_cast<int>(Device::cpu)]));
    const bool diff = !d.differentiable_inputs.empty();
    CHECK(bool(d.backward[static_cast<int>(Device::cpu)]) == diff);
    if (cuda_compiled()) {
      CHECK(bool(d.forward[static_cast<int>(Device::cuda)]));
      CHECK(bool(d.backward[static_cast<int>(Device::cuda)]) == diff);
    }
  }
}

TEST_CASE("op names round-trip and unknown names are rejected") {
  for (int i = 0; i < kNumOps; ++i) {
    const OpKind k = static_cast<OpKind>(i);
    CHECK(op_kind_from_name(op_name(k)) == k);
  }
  CHECK_THROWS_WITH_AS(op_kind_from_name("no_such_op"), doctest::Contains("no_such_op"), Error);
}
