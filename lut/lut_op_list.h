// Op kinds of the LUT family, spliced into autograd/op_list.h: nodes and GroupSum (node_op_list.h)
// and mapping layers (mapping_op_list.h).
#pragma once
#include "lut/mapping_op_list.h"
#include "lut/node_op_list.h"

#define DIFFLUT_LUT_OPS(X) DIFFLUT_LUT_NODE_OPS(X) DIFFLUT_MAPPING_OPS(X)
