// Op kinds of mapping layers (random/cyclic mappings use the core gather op).
#pragma once

#define DIFFLUT_MAPPING_OPS(X)
