// The op registry is complete: every registered op kind (autograd's own, and every op the encoder
// and LUT layers register) has a row with shape inference and kernels for every device this build
// has, and a backward kernel wherever an input is differentiable. Names are unique and round-trip.
#include <set>

#include "autograd/op_def.h"
#include "encoders/encoder_ops.h"
#include "lut/lut_ops.h"
#include "test_util.h"

using namespace difflut;

namespace {
// Every layer's ops, as a program listing ops by name would see them.
std::vector<const OpDef*> all_ops() {
  encoders::register_ops();
  lut::register_ops();
  return registered_ops();
}
}  // namespace

TEST_CASE("every registered op kind has a complete row") {
  const std::vector<const OpDef*> ops = all_ops();
  // autograd's kinds, the thermometer, and the LUT layer's (nodes, GroupSum, regulariser, mapping).
  CHECK(ops.size() >= static_cast<size_t>(kNumCoreOps) + 14);
  for (const OpDef* d : ops) {
    CAPTURE(d->name);
    CHECK(std::string(d->name) == op_name(d->kind));
    CHECK(&op_def(d->kind) == d);
    CHECK(bool(d->infer));
    if (d->kind == OpKind::leaf) continue;
    CHECK(bool(d->forward[static_cast<int>(Device::cpu)]));
    const bool diff = !d->differentiable_inputs.empty();
    CHECK(bool(d->backward[static_cast<int>(Device::cpu)]) == diff);
    if (cuda_compiled()) {
      CHECK(bool(d->forward[static_cast<int>(Device::cuda)]));
      CHECK(bool(d->backward[static_cast<int>(Device::cuda)]) == diff);
    }
  }
}

TEST_CASE("the higher layers' ops are registered under their names") {
  const std::vector<std::string> names = (all_ops(), registered_op_names());
  const std::set<std::string> unique(names.begin(), names.end());
  CHECK(unique.size() == names.size());
  for (const char* n :
       {"leaf", "add", "gather", "thermometer", "dwn_lut", "group_sum", "custom_lut",
        "custom_lut_reg", "linear_lut", "difflogic_lut", "lut_regularizer", "learnable_mapping"})
    CHECK_MESSAGE(unique.count(n) == 1, n);
  CHECK(op_kind_from_name("thermometer") == thermometer_op());
  CHECK(op_kind_from_name("dwn_lut") == dwn_lut_op());
  // A layer's register_ops is idempotent: calling it again adds nothing.
  lut::register_ops();
  CHECK(registered_op_names().size() == names.size());
}

TEST_CASE("op names round-trip and unknown or duplicate names are rejected") {
  for (const OpDef* d : all_ops()) CHECK(op_kind_from_name(d->name) == d->kind);
  CHECK(find_op("no_such_op") == nullptr);
  CHECK_THROWS_WITH_AS(op_kind_from_name("no_such_op"), doctest::Contains("no_such_op"), Error);
  CHECK_THROWS_WITH_AS(op_kind_from_name("no_such_op"), doctest::Contains("thermometer"), Error);
  OpDef duplicate;
  duplicate.name = "add";
  CHECK_THROWS_WITH_AS(register_op(duplicate), doctest::Contains("already registered"), Error);
  CHECK_THROWS_WITH_AS(register_op(OpDef{}), doctest::Contains("name"), Error);
}
