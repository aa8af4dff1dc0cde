// Op kinds of mapping layers (random/cyclic mappings use the core gather op).
#pragma once

// learnable_mapping: DWN learnable mapping, x [B, F] and W [F, S] -> x[:, argmax_i W[i, :]]
// (lut/learnable_mapping.h).
#define DIFFLUT_MAPPING_OPS(X) X(learnable_mapping)
