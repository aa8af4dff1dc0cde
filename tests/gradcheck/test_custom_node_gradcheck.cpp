// Finite-difference gradchecks of a user-defined node type's soft forward (the soft-majority
// example) and its regularisation, through the custom_lut / custom_lut_reg ops.
#include <algorithm>

#include "autograd/gradcheck.h"
#include "lut/examples/soft_majority_node.h"
#include "lut/node_ops.h"
#include "lut/node_registry.h"
#include "test_util.h"

using namespace difflut;

namespace {
std::shared_ptr<NodeType> soft_majority() {
  const auto names = registered_node_types();
  if (std::find(names.begin(), names.end(), "soft_majority") == names.end())
    register_node_type(std::make_shared<examples::SoftMajorityNode>(0.1));
  return find_node_type("soft_majority");
}
}  // namespace

TEST_CASE("soft_majority soft forward passes gradcheck in x and params") {
  auto type = soft_majority();
  for (int k : {1, 3, 6}) {
    CAPTURE(k);
    Generator gen(k);
    Tensor x = Tensor::rand({4, 3 * k}, gen, DType::f64);
    Tensor p = Tensor::randn({3, k + 1}, gen, DType::f64);
    GradcheckResult r = gradcheck(
        [&](Graph&, const std::vector<Var>& v) { return custom_lut(v[0], v[1], type, k, true); },
        {x, p});
    CHECK_MESSAGE(r.ok, r.report);
  }
}

TEST_CASE("soft_majority regularisation passes gradcheck") {
  auto type = soft_majority();
  Generator gen(3);
  Tensor p = Tensor::randn({4, 5}, gen, DType::f64);
  GradcheckResult r = gradcheck(
      [&](Graph&, const std::vector<Var>& v) { return custom_lut_reg(v[0], type, 4); }, {p});
  CHECK_MESSAGE(r.ok, r.report);
}
