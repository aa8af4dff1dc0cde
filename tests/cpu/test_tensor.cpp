// Tensor basics: factories, views, conversions, seeded random draws, and the errors they raise.
#include <algorithm>

#include "tensor/random.h"
#include "tensor/tensor.h"
#include "test_util.h"

using namespace difflut;

TEST_CASE("factories fill the values they promise") {
  CHECK(Tensor::zeros({2, 3}).to_vector<float>() == std::vector<float>(6, 0.f));
  CHECK(Tensor::ones({4}, DType::f64).to_vector<double>() == std::vector<double>(4, 1.0));
  CHECK(Tensor::full({2}, 7, DType::i32).to_vector<int32_t>() == std::vector<int32_t>{7, 7});
  CHECK(Tensor::arange(4).to_vector<int64_t>() == std::vector<int64_t>{0, 1, 2, 3});
  Tensor t = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(t.size(-1) == 3);
  CHECK(t.describe() == "f32[2, 3] on cpu");
  CHECK(t.to(DType::i64).to_vector<int64_t>() == std::vector<int64_t>{1, 2, 3, 4, 5, 6});
}

TEST_CASE("reshape is a view that shares storage and infers one extent") {
  Tensor t = Tensor::arange(6, DType::f32);
  Tensor r = t.reshape({2, -1});
  CHECK(r.shape() == Shape{2, 3});
  r.data<float>()[0] = 42.f;
  CHECK(t.to_vector<float>()[0] == 42.f);
  CHECK_THROWS_WITH_AS(t.reshape({4, -1}), doctest::Contains("cannot reshape"), Error);
}

TEST_CASE("typed access with the wrong dtype names both types") {
  Tensor t = Tensor::zeros({3}, DType::f32);
  CHECK_THROWS_WITH_AS(t.data<double>(), doctest::Contains("f64"), Error);
  CHECK_THROWS_AS(Tensor::from_vector<float>({1, 2}, {3}), Error);
}

TEST_CASE("random draws depend only on the seed and the counter") {
  Generator a(7), b(7), c(8);
  Tensor x = Tensor::rand({1000}, a), y = Tensor::rand({1000}, b), z = Tensor::rand({1000}, c);
  test::check_equal(x, y);
  CHECK(test::max_abs_diff(x, z) > 0.1);
  // Drawing 1000 at once equals drawing 400 then 600.
  Generator d(7);
  std::vector<float> first = Tensor::rand({400}, d).to_vector<float>();
  std::vector<float> second = Tensor::rand({600}, d).to_vector<float>();
  first.insert(first.end(), second.begin(), second.end());
  CHECK(first == x.to_vector<float>());
  std::vector<float> v = x.to_vector<float>();
  double mean = 0;
  for (float f : v) {
    CHECK(f >= 0.f);
    CHECK(f < 1.f);
    mean += f;
  }
  CHECK(mean / v.size() == doctest::Approx(0.5).epsilon(0.05));
}

TEST_CASE("randn has zero mean and unit variance; randint stays in range") {
  Generator g(3);
  std::vector<double> v = Tensor::randn({20000}, g, DType::f64).to_vector<double>();
  double m = 0, s = 0;
  for (double x : v) m += x;
  m /= v.size();
  for (double x : v) s += (x - m) * (x - m);
  s /= v.size() - 1;
  CHECK(std::abs(m) < 0.03);
  CHECK(s == doctest::Approx(1.0).epsilon(0.05));
  std::vector<int64_t> r = Tensor::randint({5000}, -3, 4, g).to_vector<int64_t>();
  std::vector<int> counts(7, 0);
  for (int64_t x : r) {
    REQUIRE(x >= -3);
    REQUIRE(x < 4);
    counts[x + 3]++;
  }
  for (int cnt : counts) CHECK(cnt > 500);
  std::vector<int64_t> p = g.permutation(100);
  std::sort(p.begin(), p.end());
  for (int64_t i = 0; i < 100; ++i) CHECK(p[i] == i);
}

TEST_CASE("a shape whose byte count overflows is refused, not allocated short") {
  CHECK_THROWS_WITH_AS(Tensor::empty({int64_t{1} << 62}, DType::f64),
                       doctest::Contains("needs more bytes than an address can hold"), Error);
  CHECK_THROWS_WITH_AS(Tensor::empty({int64_t{1} << 40, int64_t{1} << 40}, DType::u8),
                       doctest::Contains("overflow"), Error);
}
