// Thermometer and level-code encoders on the GPU: CUDA encoding equals CPU encoding bit for bit, including inputs
// that sit exactly on thresholds, for every kind, both modes and both float dtypes.
#include <string>
#include <vector>

#include "autograd/graph.h"
#include "encoders/thermometer.h"
#include "tensor/random.h"
#include "test_util.h"

using namespace difflut;

namespace {

// Random x [B, F] where every other row copies thresholds into its features (x[b, f] = t[f, i] for
// a rotating i), so the strict comparison is exercised at equality on the device too.
Tensor inputs_on_thresholds(const ThermometerEncoder& e, int64_t B, Generator& gen) {
  const int64_t F = e.num_features(), nb = e.num_bits();
  std::vector<float> x = Tensor::randn({B, F}, gen).to_vector<float>();
  const std::vector<float> t = e.thresholds().to_vector<float>();
  for (int64_t b = 0; b < B; b += 2)
    for (int64_t f = 0; f < F; ++f)
      x[static_cast<size_t>(b * F + f)] = t[static_cast<size_t>(f * nb + (b / 2 + f) % nb)];
  return Tensor::from_vector(x, {B, F});
}

}  // namespace

TEST_CASE("CUDA thermometer encoding equals CPU bit for bit, values on thresholds included") {
  DIFFLUT_REQUIRE_GPU();
  Generator gen(21);
  Tensor data = Tensor::randn({300, 53}, gen);
  for (ThermometerKind k :
       {ThermometerKind::uniform, ThermometerKind::gaussian, ThermometerKind::distributive}) {
    for (bool fw : {true, false}) {
      for (int nb : {1, 3, 8}) {
        CAPTURE(thermometer_kind_name(k));
        CAPTURE(fw);
        CAPTURE(nb);
        ThermometerEncoder e(k, nb, fw);
        e.fit(data.to(Device::cuda));  // fitting reads device data on the host
        Tensor x = inputs_on_thresholds(e, 129, gen);
        for (DType dt : {DType::f32, DType::f64}) {
          Tensor xc = x.to(dt);
          Tensor cpu = e.encode(xc);
          Tensor gpu = e.encode(xc.to(Device::cuda));
          CHECK(gpu.is_cuda());
          CHECK(gpu.dtype() == dt);
          test::check_equal(gpu.to(Device::cpu), cpu);
        }
      }
    }
  }
}

TEST_CASE("CUDA thermometer in a graph matches CPU and reuses cached device thresholds") {
  DIFFLUT_REQUIRE_GPU();
  Generator gen(5);
  ThermometerEncoder e(ThermometerKind::distributive, 4);
  e.fit(Tensor::rand({1000, 17}, gen));
  Tensor x = inputs_on_thresholds(e, 1000, gen);
  Graph g;
  Var xd = g.input(x.to(Device::cuda), "x");
  Var y1 = e.encode(g, xd);
  Var y2 = e.encode(g, xd);
  CHECK(y1.value().is_cuda());
  CHECK(g.node(y1.id).attrs.tensors[0].storage() == g.node(y2.id).attrs.tensors[0].storage());
  test::check_equal(y1.value().to(Device::cpu), e.encode(x));
  test::check_equal(y2.value(), y1.value());
}

TEST_CASE("CUDA fit gives the same thresholds as a CPU fit") {
  DIFFLUT_REQUIRE_GPU();
  Generator gen(9);
  Tensor data = Tensor::randn({257, 11}, gen);
  for (ThermometerKind k :
       {ThermometerKind::uniform, ThermometerKind::gaussian, ThermometerKind::distributive}) {
    ThermometerEncoder a(k, 5), b(k, 5);
    a.fit(data);
    b.fit(data.to(Device::cuda));
    test::check_equal(a.thresholds(), b.thresholds());
  }
}

TEST_CASE("CUDA level-code encoding equals CPU bit for bit, values on boundaries included") {
  DIFFLUT_REQUIRE_GPU();
  Generator gen(8);
  Tensor data = Tensor::randn({300, 29}, gen);
  for (const std::string name : {"binary", "gray", "onehot", "sign_magnitude", "logarithmic"}) {
    for (int nb : {2, 4}) {
      CAPTURE(name);
      CAPTURE(nb);
      ThermometerEncoder e(name, nb);
      e.fit(data.to(Device::cuda));
      // Every other row sits on a boundary of each feature (x[b, f] = t[f, rotating k]).
      const int64_t F = 29, T = e.num_thresholds();
      std::vector<float> x = Tensor::randn({65, F}, gen).to_vector<float>();
      const std::vector<float> t = e.thresholds().to_vector<float>();
      for (int64_t b = 0; b < 65; b += 2)
        for (int64_t f = 0; f < F; ++f)
          x[static_cast<size_t>(b * F + f)] = t[static_cast<size_t>(f * T + (b / 2 + f) % T)];
      for (DType dt : {DType::f32, DType::f64}) {
        Tensor xc = Tensor::from_vector(x, {65, F}).to(dt);
        Tensor gpu = e.encode(xc.to(Device::cuda));
        CHECK(gpu.is_cuda());
        test::check_equal(gpu.to(Device::cpu), e.encode(xc));
      }
    }
  }
}
