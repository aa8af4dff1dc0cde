// Fixture: a lut header including its own layer through a relative path (allowed).
#pragma once
#include "../autograd/op.h"
