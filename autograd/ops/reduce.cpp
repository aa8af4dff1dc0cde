// Op rows of the reduce family.
#include "autograd/op_def.h"

namespace difflut {

void register_reduce_ops(OpTable&) {}

}  // namespace difflut
