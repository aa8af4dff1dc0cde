// Op rows of the matmul family.
#include "autograd/op_def.h"

namespace difflut {

void register_matmul_ops(OpTable&) {}

}  // namespace difflut
