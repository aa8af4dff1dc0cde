// Op rows of mapping layers.
#include "autograd/op_def.h"

namespace difflut {

void register_mapping_ops(OpTable&) {}

}  // namespace difflut
