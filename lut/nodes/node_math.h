// The built-in node types of the list (node_list.h) as a NodeKind, their names, and the dispatch
// from a NodeKind to its math struct, plus the optional parts of a math struct's interface with
// their defaults (check, uses_options, uses_term_table).
#pragma once
#include <array>
#include <string>

#include "lut/nodes/node_list.h"

namespace difflut::nodes {

enum class NodeKind : int {
#define DIFFLUT_NODE_ENUM(type, op, Math) type,
  DIFFLUT_BUILTIN_NODES(DIFFLUT_NODE_ENUM)
#undef DIFFLUT_NODE_ENUM
};

inline constexpr const char* kNodeTypeNames[] = {
#define DIFFLUT_NODE_NAME(type, op, Math) #type,
    DIFFLUT_BUILTIN_NODES(DIFFLUT_NODE_NAME)
#undef DIFFLUT_NODE_NAME
};
inline constexpr const char* kNodeOpNames[] = {
#define DIFFLUT_NODE_OP(type, op, Math) #op,
    DIFFLUT_BUILTIN_NODES(DIFFLUT_NODE_OP)
#undef DIFFLUT_NODE_OP
};
constexpr int kNumNodeKinds = static_cast<int>(sizeof(kNodeTypeNames) / sizeof(kNodeTypeNames[0]));

// Calls f(Math{}) with the math struct of `kind` (f returns void).
template <class F>
void dispatch_node_math(NodeKind kind, F&& f) {
  switch (kind) {
#define DIFFLUT_NODE_CASE(type, op, Math) \
  case NodeKind::type: f(Math{}); return;
    DIFFLUT_BUILTIN_NODES(DIFFLUT_NODE_CASE)
#undef DIFFLUT_NODE_CASE
  }
}

// Optional members of a math struct:
//   static void check(const NodeConsts& c, const std::string& who)  validates the options (and k
//       when c.k > 0), throwing difflut::Error prefixed by `who`; default: nothing to check
//   static constexpr bool kUsesOptions = true   the type reads NodeOptions (make_node_type builds a
//       fresh instance for it); default false
//   static constexpr bool kUsesTermTable = true  the op carries polylut's monomial table
//   static constexpr bool kLaneBackward = true   the type has backward_lanes<W>(x [k][W], p, q, c,
//       g [W], dx [k][W], acc, s [2·2^k·W]), W samples of one node at once (lane-major), used by the
//       CPU backward; default false (one sample at a time)
//   static constexpr bool kMultilinearLanes = true  backward_lanes is ml_grad_lanes_acc over the
//       node's prep q (the probabilistic family): the CPU backward then runs lanes whose inputs
//       are all 0 or 1 through the AVX-512 corner path (node_lanes_avx512.h); default false
//   static constexpr bool kLookupForward = true  the training forward is q[address(x)] with q the
//       node's prep (Q values, the table first): the CPU forward then reads a row's addresses and
//       entries 16 nodes at a time (node_address_cpu.h); default false (M::forward per sample)
template <class M>
void node_check(const NodeConsts& c, const std::string& who) {
  if constexpr (requires { M::check(c, who); }) M::check(c, who);
}
template <class M>
constexpr bool node_uses_options() {
  if constexpr (requires { M::kUsesOptions; }) return M::kUsesOptions;
  return false;
}
template <class M>
constexpr bool node_uses_term_table() {
  if constexpr (requires { M::kUsesTermTable; }) return M::kUsesTermTable;
  return false;
}

template <class M>
constexpr bool node_multilinear_lanes() {
  if constexpr (requires { M::kMultilinearLanes; }) return M::kMultilinearLanes;
  return false;
}

template <class M>
constexpr bool node_lookup_forward() {
  if constexpr (requires { M::kLookupForward; }) return M::kLookupForward;
  return false;
}

template <class M>
constexpr bool node_lane_backward() {
  if constexpr (requires { M::kLaneBackward; }) return M::kLaneBackward;
  return false;
}

}  // namespace difflut::nodes
