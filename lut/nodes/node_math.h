// All built-in node types' math structs and the dispatch from a NodeKind to its struct.
#pragma once
#include "lut/nodes/difflogic_math.h"
#include "lut/nodes/linear_lut_math.h"
#include "lut/nodes/neurallut_math.h"
#include "lut/nodes/polylut_math.h"
#include "lut/nodes/probabilistic_math.h"

namespace difflut::nodes {

// Calls f(Math{}) with the math struct of `kind` (f returns void).
template <class F>
void dispatch_node_math(NodeKind kind, F&& f) {
  switch (kind) {
    case NodeKind::linear_lut: f(LinearLutMath{}); return;
    case NodeKind::polylut: f(PolyLutMath{}); return;
    case NodeKind::neurallut: f(NeuralLutMath{}); return;
    case NodeKind::probabilistic: f(ProbabilisticMath{}); return;
    case NodeKind::unbound_probabilistic: f(UnboundProbabilisticMath{}); return;
    case NodeKind::hybrid: f(HybridMath{}); return;
    case NodeKind::difflogic: f(DiffLogicMath{}); return;
  }
}

}  // namespace difflut::nodes
