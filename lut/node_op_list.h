// Op kinds of LUT nodes and GroupSum.
#pragma once

#define DIFFLUT_LUT_NODE_OPS(X)
