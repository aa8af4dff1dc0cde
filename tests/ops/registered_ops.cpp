// The one place the op test reads the op registry: every registered op by name, whether it has a
// kernel, and which inputs are differentiable. Switch this file when op registration changes.
#include "autograd/op_def.h"
#include "encoders/encoder_ops.h"
#include "lut/lut_ops.h"
#include "op_case.h"

namespace difflut::optest {

bool RegisteredOp::differentiable(int input) const {
  for (int i : diff_inputs)
    if (i == input || i == kAllInputs) return true;
  return false;
}

std::vector<RegisteredOp> registered_op_list() {
  // Higher layers add their kinds on first use; list them all before reading the registry.
  encoders::register_ops();
  lut::register_ops();
  std::vector<RegisteredOp> ops;
  for (const OpDef* d : difflut::registered_ops())
    ops.push_back(RegisteredOp{.name = d->name,
                               .has_kernel = d->forward[static_cast<int>(Device::cpu)] != nullptr,
                               .diff_inputs = d->differentiable_inputs});
  return ops;
}

const RegisteredOp& registered_op(const std::string& name) {
  static const std::vector<RegisteredOp> ops = registered_op_list();
  for (const RegisteredOp& op : ops)
    if (op.name == name) return op;
  DIFFLUT_FAIL("op test: '", name, "' is not a registered op");
}

std::string op_name_of(Var v) { return op_def(v.graph->node(v.id).op).name; }

}  // namespace difflut::optest
