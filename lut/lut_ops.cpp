// Registration of the LUT family: node ops and GroupSum, and mapping ops.
#include "autograd/op_def.h"

namespace difflut {

void register_lut_node_ops(OpTable& t);
void register_mapping_ops(OpTable& t);

void register_lut_ops(OpTable& t) {
  register_lut_node_ops(t);
  register_mapping_ops(t);
}

}  // namespace difflut
