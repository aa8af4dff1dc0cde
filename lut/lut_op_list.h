// Op kinds of the LUT family (nodes, mappings, GroupSum); spliced into autograd/op_list.h.
#pragma once

#define DIFFLUT_LUT_OPS(X)
