// Tensor on the GPU: copies round-trip, and the random factories give the CPU's numbers.
#include "tensor/random.h"
#include "tensor/tensor.h"
#include "test_util.h"

using namespace difflut;

TEST_CASE("host-device copies, fills and casts round-trip") {
  DIFFLUT_REQUIRE_GPU();
  Tensor h = Tensor::from_vector<float>({1.5f, -2.f, 3.25f}, {3});
  Tensor d = h.to(Device::cuda);
  CHECK(d.is_cuda());
  test::check_equal(d.to(Device::cpu), h);
  CHECK(d.to(DType::f64).to_vector<double>() == std::vector<double>{1.5, -2.0, 3.25});
  CHECK(Tensor::full({5}, 2.5, DType::f32, Device::cuda).to_vector<float>() ==
        std::vector<float>(5, 2.5f));
  CHECK(Tensor::zeros({4}, DType::i64, Device::cuda).to_vector<int64_t>() ==
        std::vector<int64_t>(4, 0));
}

TEST_CASE("rand, randn and randint give identical numbers on CPU and CUDA") {
  DIFFLUT_REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::f64}) {
    Generator a(11), b(11);
    test::check_equal(Tensor::rand({4097}, a, dt), Tensor::rand({4097}, b, dt, Device::cuda));
    test::check_equal(Tensor::randn({4097}, a, dt), Tensor::randn({4097}, b, dt, Device::cuda));
  }
  Generator a(5), b(5);
  test::check_equal(Tensor::randint({999}, 0, 37, a),
                    Tensor::randint({999}, 0, 37, b, DType::i64, Device::cuda));
}
