// Op rows of the encoder family.
#include "autograd/op_def.h"

namespace difflut {

void register_encoder_ops(OpTable&) {}

}  // namespace difflut
