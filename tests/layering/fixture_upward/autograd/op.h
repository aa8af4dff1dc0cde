// Fixture: an autograd header that includes only the tensor layer (allowed).
#pragma once
#include "tensor/ok.h"
