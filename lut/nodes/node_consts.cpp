// Node-op helpers shared by both devices: op kind <-> node kind, parameter counts, the constants
// a kernel receives, and the PolyLUT monomial table.
#include <vector>

#include "lut/nodes/node_kernels.h"
#include "lut/nodes/node_math.h"

namespace difflut::nodes {

NodeKind node_kind_of(OpKind op) {
  for (int i = 0; i < kNumNodeKinds; ++i)
    if (builtin_node_op(static_cast<NodeKind>(i)) == op) return static_cast<NodeKind>(i);
  DIFFLUT_FAIL("node_kind_of: op '", op_name(op), "' is not a built-in node op");
}

const char* node_op_name(NodeKind kind) { return kNodeOpNames[static_cast<int>(kind)]; }
const char* node_type_name(NodeKind kind) { return kNodeTypeNames[static_cast<int>(kind)]; }

int node_num_params(NodeKind kind, const NodeConsts& c) {
  int P = 0;
  dispatch_node_math(kind, [&](auto m) { P = decltype(m)::num_params(c); });
  return P;
}

NodeConsts node_consts(NodeKind kind, const Attrs& attrs) {
  DIFFLUT_ASSERT(attrs.ints.size() == 7 && attrs.floats.size() == 2);
  NodeConsts c;
  c.k = static_cast<int>(attrs.ints[0]);
  c.degree = static_cast<int>(attrs.ints[2]);
  c.width = static_cast<int>(attrs.ints[3]);
  c.depth = static_cast<int>(attrs.ints[4]);
  c.skip = static_cast<int>(attrs.ints[5]);
  c.signed_amplitudes = attrs.ints[6] != 0;
  c.temperature = attrs.floats[0];
  c.max_amplitude = attrs.floats[1];
  bool term_table = false;
  dispatch_node_math(kind, [&](auto m) { term_table = node_uses_term_table<decltype(m)>(); });
  if (term_table) {
    DIFFLUT_ASSERT(attrs.tensors.size() == 1);
    c.num_terms = static_cast<int>(attrs.tensors[0].size(0));
    c.poly_table = attrs.tensors[0].data<int32_t>();
  }
  c.num_params = node_num_params(kind, c);
  return c;
}

Tensor polylut_term_table(int k, int degree) {
  // Breadth-first by degree: every term of degree d-1 is extended by each variable >= its last one,
  // so each multiset of variables (each monomial) appears exactly once.
  std::vector<int32_t> parent{0}, var{0};
  int64_t lo = 0, hi = 1;  // terms of the previous degree
  for (int d = 1; d <= degree; ++d) {
    for (int64_t t = lo; t < hi; ++t) {
      const int first = d == 1 ? 0 : var[static_cast<size_t>(t)];
      for (int v = first; v < k; ++v) {
        parent.push_back(static_cast<int32_t>(t));
        var.push_back(v);
      }
    }
    lo = hi;
    hi = static_cast<int64_t>(parent.size());
  }
  std::vector<int32_t> table;
  for (size_t m = 0; m < parent.size(); ++m) {
    table.push_back(parent[m]);
    table.push_back(var[m]);
  }
  const int64_t M = static_cast<int64_t>(parent.size());
  DIFFLUT_ASSERT(M == polylut_num_terms(k, degree));
  return Tensor::from_vector(table, {M, 2});
}

}  // namespace difflut::nodes
