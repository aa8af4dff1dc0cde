// Op rows of the shape family.
#include "autograd/op_def.h"

namespace difflut {

void register_shape_ops(OpTable&) {}

}  // namespace difflut
