// Op rows of LUT nodes and GroupSum.
#include "autograd/op_def.h"

namespace difflut {

void register_lut_node_ops(OpTable&) {}

}  // namespace difflut
