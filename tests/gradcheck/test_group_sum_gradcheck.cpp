// Finite-difference gradcheck of group_sum (with padding and tau != 1).
#include "autograd/gradcheck.h"
#include "lut/node_ops.h"
#include "tensor/random.h"
#include "test_util.h"

using namespace difflut;

TEST_CASE("group_sum passes gradcheck with padding and tau") {
  Generator gen(5);
  for (int64_t C : {1, 3, 4, 10}) {
    CAPTURE(C);
    Tensor x = Tensor::randn({3, 10}, gen, DType::f64);
    GradcheckResult r = gradcheck(
        [&](Graph&, const std::vector<Var>& v) { return group_sum(v[0], C, 1.0 / 0.3); }, {x});
    CHECK_MESSAGE(r.ok, r.report);
  }
}
