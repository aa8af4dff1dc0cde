// Fixture: data needs no lut (the check must reject this include).
#include "lut/node.h"
