// Op kinds of the encoder family; spliced into autograd/op_list.h.
#pragma once

#define DIFFLUT_ENCODER_OPS(X)
