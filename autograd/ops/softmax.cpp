// Op rows of the softmax family.
#include "autograd/op_def.h"

namespace difflut {

void register_softmax_ops(OpTable&) {}

}  // namespace difflut
