// Fixture: a tensor file that includes upward (the check must reject it).
#pragma once
#include "autograd/op.h"
