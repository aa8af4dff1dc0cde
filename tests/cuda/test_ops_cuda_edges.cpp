// CUDA op behaviour outside the op test's table (tests/ops/): a composite graph with a reused value
// matches the CPU, operands on different devices are rejected, and invalid labels and indices on
// the device are reported.
#include <cmath>

#include "autograd/ops.h"
#include "tensor/cuda_utils.h"
#include "tensor/random.h"
#include "test_util.h"

using namespace difflut;

TEST_CASE("CUDA composite graph with a reused value matches the CPU, forward and gradients") {
  DIFFLUT_REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::f64}) {
    CAPTURE(dtype_name(dt));
    Generator gen(1);
    const std::vector<Tensor> in = {test::uniform({513, 65}, gen, -1, 1, dt),
                                    test::uniform({65}, gen, -1, 1, dt),
                                    test::uniform({513, 1}, gen, -1, 1, dt)};
    std::vector<std::vector<Tensor>> grads;
    std::vector<Tensor> outs;
    for (Device dev : {Device::cpu, Device::cuda}) {
      Graph g;
      std::vector<Var> v;
      for (const Tensor& t : in) v.push_back(g.input(t.to(dev), "in", true));
      Var h = tanh(add(mul(v[0], v[1]), v[2]));
      Var y = sub(mul(h, h), div(sigmoid(h), add_scalar(exp(v[1]), 1.0)));
      g.backward(y, Tensor::ones(y.shape(), dt, dev));
      outs.push_back(y.value().to(Device::cpu));
      grads.push_back({});
      for (const Var& x : v) grads.back().push_back(g.grad(x).to(Device::cpu));
    }
    const double tol = dt == DType::f32 ? 2e-5 : 1e-12;
    test::check_close(outs[1], outs[0], tol, tol);
    for (size_t i = 0; i < in.size(); ++i)
      test::check_close(grads[1][i], grads[0][i], tol * 30, tol);
  }
}

TEST_CASE("binary ops reject operands on different devices, naming the op and both operands") {
  DIFFLUT_REQUIRE_GPU();
  Graph g;
  Var a = g.input(Tensor::zeros({2, 3}, DType::f32));
  Var b = g.input(Tensor::zeros({2, 3}, DType::f32, Device::cuda));
  CHECK_THROWS_WITH_AS(add(a, b), doctest::Contains("add: expected all inputs on one device"),
                       Error);
  CHECK_THROWS_WITH_AS(mul(b, a),
                       doctest::Contains("f32[2, 3] on cuda and input 1 f32[2, 3] on cpu"), Error);
}

TEST_CASE("cuda cross_entropy with an invalid label: NaN loss, or Error under DIFFLUT_SYNC_DEBUG") {
  DIFFLUT_REQUIRE_GPU();
  Graph g;
  Var x = g.input(Tensor::zeros({3, 5}, DType::f32, Device::cuda));
  Var lab = g.input(Tensor::from_vector<int64_t>({0, 7, 1}, {3}, Device::cuda));
  if (cuda_sync_debug()) {
    CHECK_THROWS_WITH_AS(cross_entropy(x, lab),
                         doctest::Contains("cross_entropy: label of batch element 1 is 7"), Error);
  } else {
    CHECK(std::isnan(cross_entropy(x, lab).value().item<float>()));
  }
}

TEST_CASE("cuda gather rejects out-of-range indices when it reads them on the host") {
  DIFFLUT_REQUIRE_GPU();
  Graph g;
  Var x = g.input(Tensor::zeros({2, 3}, DType::f32, Device::cuda));
  CHECK_THROWS_WITH_AS(gather(x, Tensor::from_vector<int64_t>({0, 3}, {2}, Device::cuda)),
                       doctest::Contains("gather: index[1] = 3"), Error);
}
