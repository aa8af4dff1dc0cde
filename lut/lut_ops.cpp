// Op rows of the LUT family (nodes, mappings, GroupSum).
#include "autograd/op_def.h"

namespace difflut {

void register_lut_ops(OpTable&) {}

}  // namespace difflut
