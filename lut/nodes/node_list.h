// The built-in batched node types, one row each: X(type name, op name, math struct). Everything
// else is generated from or iterates this list: the NodeKind enum and the dispatch to the math
// struct (node_math.h), the op rows (node_type_ops.cpp), the NodeType objects in the registry
// (node_types.cpp), the HDL lowering of the node ops, and the node-type tests.
//
// Adding a built-in node type: write its math header (the static interface is described in
// linear_lut_math.h) and add its include and its row here. dwn is the one built-in type outside
// the list: its op (dwn_lut, lut/nodes/dwn_*) has its own table parameters and EFD backward.
#pragma once
#include "lut/nodes/difflogic_math.h"
#include "lut/nodes/dwn_stable_math.h"
#include "lut/nodes/fourier_math.h"
#include "lut/nodes/gradient_stabilized_math.h"
#include "lut/nodes/linear_lut_math.h"
#include "lut/nodes/neurallut_math.h"
#include "lut/nodes/polylut_math.h"
#include "lut/nodes/probabilistic_math.h"
#include "lut/nodes/probabilistic_stable_math.h"
#include "lut/nodes/warp_math.h"

// clang-format off
#define DIFFLUT_BUILTIN_NODES(X)                                                      \
  X(linear_lut,            linear_lut,                LinearLutMath)                  \
  X(polylut,               polylut,                   PolyLutMath)                    \
  X(neurallut,             neurallut,                 NeuralLutMath)                  \
  X(probabilistic,         probabilistic_lut,         ProbabilisticMath)              \
  X(unbound_probabilistic, unbound_probabilistic_lut, UnboundProbabilisticMath)       \
  X(hybrid,                hybrid_lut,                HybridMath)                     \
  X(difflogic,             difflogic_lut,             DiffLogicMath)                  \
  X(fourier,               fourier_lut,               FourierMath)                    \
  X(warp,                  warp_lut,                  WarpMath)                       \
  X(dwn_stable,            dwn_stable_lut,            DwnStableMath)                  \
  X(probabilistic_stable,  probabilistic_stable_lut,  ProbabilisticStableMath)        \
  X(gradient_stabilized,   gradient_stabilized_lut,   GradientStabilizedMath)
// clang-format on
