// Thermometer encoders: hand-computed thresholds per kind (ties, strictness, constant features),
// feature-wise vs global, the feature-major bit layout, the inverse normal CDF, state round trips
// and errors.
#include <algorithm>
#include <cmath>
#include <vector>

#include "autograd/graph.h"
#include "encoders/normal_quantile.h"
#include "encoders/thermometer.h"
#include "tensor/random.h"
#include "test_util.h"

using namespace difflut;

namespace {

Tensor mat(const std::vector<float>& v, int64_t rows, int64_t cols) {
  return Tensor::from_vector(v, {rows, cols});
}

std::vector<float> thresholds_of(const ThermometerEncoder& e) {
  return e.thresholds().to_vector<float>();
}

std::vector<float> bits_of(const ThermometerEncoder& e, const Tensor& x) {
  return e.encode(x).to_vector<float>();
}

// Naive oracle of the encoding: out[b, f*nb + i] = x[b, f] > t[f, i].
std::vector<float> naive_encode(const std::vector<float>& x, const std::vector<float>& t, int64_t B,
                                int64_t F, int64_t nb) {
  std::vector<float> out(static_cast<size_t>(B * F * nb));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t f = 0; f < F; ++f)
      for (int64_t i = 0; i < nb; ++i)
        out[static_cast<size_t>(b * F * nb + f * nb + i)] =
            x[static_cast<size_t>(b * F + f)] > t[static_cast<size_t>(f * nb + i)] ? 1.f : 0.f;
  return out;
}

}  // namespace

TEST_CASE("inverse normal CDF matches known quantiles to 1e-12") {
  CHECK(inverse_normal_cdf(0.5) == 0.0);
  CHECK(std::fabs(inverse_normal_cdf(0.975) - 1.959963984540054) < 1e-12);
  CHECK(std::fabs(inverse_normal_cdf(0.025) + 1.959963984540054) < 1e-12);
  CHECK(std::fabs(inverse_normal_cdf(0.1) + 1.2815515655446004) < 1e-12);
  CHECK(std::fabs(inverse_normal_cdf(0.9) - 1.2815515655446004) < 1e-12);
  CHECK(std::fabs(inverse_normal_cdf(0.75) - 0.6744897501960817) < 1e-12);
  CHECK(std::fabs(inverse_normal_cdf(0.999) - 3.090232306167813) < 1e-12);
  CHECK(std::fabs(inverse_normal_cdf(1e-10) + 6.361340902404056) < 1e-11);
}

TEST_CASE("inverse normal CDF inverts Phi across (0, 1), tails included") {
  // Phi(x) = erfc(-x / sqrt 2) / 2 is an independent oracle. Compare relative to the tail mass,
  // allowing for the conditioning d(log tail)/dx ~ |x| of the tails.
  for (double p : {1e-300, 1e-20, 1e-8, 0.001, 0.02425, 0.0243, 0.2, 0.3, 0.49, 0.51, 0.7, 0.97575,
                   0.98, 0.9999}) {
    CAPTURE(p);
    const double x = inverse_normal_cdf(p);
    const double tail =
        p < 0.5 ? 0.5 * std::erfc(-x / std::sqrt(2.0)) : 0.5 * std::erfc(x / std::sqrt(2.0));
    const double want = p < 0.5 ? p : 1.0 - p;
    CHECK(std::fabs(tail - want) <= 1e-14 * want * (1.0 + x * x));
    // Symmetry where 1 - q is exact (q >= 0.5).
    const double q = 1.0 - p;
    if (q >= 0.5 && q < 1.0)
      CHECK(inverse_normal_cdf(q) == doctest::Approx(-inverse_normal_cdf(1.0 - q)).epsilon(1e-14));
  }
  // Monotone on a fine grid.
  double prev = -INFINITY;
  for (int i = 1; i < 1000; ++i) {
    const double x = inverse_normal_cdf(i / 1000.0);
    CHECK(x > prev);
    prev = x;
  }
}

TEST_CASE("inverse normal CDF rejects probabilities outside (0, 1)") {
  for (double p : {0.0, 1.0, -0.5, 1.5, double(NAN)})
    CHECK_THROWS_WITH_AS(inverse_normal_cdf(p), doctest::Contains("inverse_normal_cdf"), Error);
}

TEST_CASE("uniform thresholds are min + i (max - min) / (b + 1) per feature") {
  // feature 0: {0, 4, 2, 1} -> 1, 2, 3; feature 1: {-2, 6, 6, 2} -> 0, 2, 4
  ThermometerEncoder e(ThermometerKind::uniform, 3);
  e.fit(mat({0, -2, 4, 6, 2, 6, 1, 2}, 4, 2));
  CHECK(thresholds_of(e) == std::vector<float>{1, 2, 3, 0, 2, 4});
  CHECK(e.thresholds().shape() == Shape{2, 3});
  CHECK(e.num_features() == 2);
  CHECK(e.output_features() == 6);
  CHECK(e.kind_name() == "uniform");
  CHECK(e.feature_wise());
}

TEST_CASE("encoding is strict x > t, bits of one feature contiguous, features in input order") {
  ThermometerEncoder e(ThermometerKind::uniform, 3);
  e.fit(mat({0, -2, 4, 6, 2, 6, 1, 2}, 4, 2));  // thresholds f0: 1 2 3, f1: 0 2 4
  // Row 0 sits exactly on thresholds (x = t encodes 0); rows differ per feature so a transposed
  // layout would give different bits.
  Tensor x = mat({1, 2, 1.5f, 4.5f, 3.5f, -3, 3, 4}, 4, 2);
  Tensor y = e.encode(x);
  CHECK(y.shape() == Shape{4, 6});
  CHECK(y.dtype() == DType::f32);
  CHECK(y.to_vector<float>() == std::vector<float>{0, 0, 0, 1, 0, 0,  //
                                                   1, 0, 0, 1, 1, 1,  //
                                                   1, 1, 1, 0, 0, 0,  //
                                                   1, 1, 0, 1, 1, 0});
}

TEST_CASE("global uniform pools every value and repeats one threshold row per feature") {
  ThermometerEncoder e(ThermometerKind::uniform, 3, /*feature_wise=*/false);
  e.fit(mat({0, -2, 4, 6, 2, 6, 1, 2}, 4, 2));  // pooled min -2, max 6 -> 0, 2, 4
  CHECK_FALSE(e.feature_wise());
  CHECK(thresholds_of(e) == std::vector<float>{0, 2, 4, 0, 2, 4});
  CHECK(bits_of(e, mat({1, 2}, 1, 2)) == std::vector<float>{1, 0, 0, 1, 0, 0});
}

TEST_CASE("a constant feature puts every threshold on its value") {
  for (ThermometerKind k :
       {ThermometerKind::uniform, ThermometerKind::gaussian, ThermometerKind::distributive}) {
    CAPTURE(thermometer_kind_name(k));
    ThermometerEncoder e(k, 2);
    e.fit(mat({5, 0, 5, 1, 5, 2}, 3, 2));
    const std::vector<float> t = thresholds_of(e);
    CHECK(t[0] == 5.f);
    CHECK(t[1] == 5.f);
    CHECK(bits_of(e, mat({5, 0, 5.5f, 0, 4.5f, 0}, 3, 2))[0] == 0.f);
    const std::vector<float> y = bits_of(e, mat({5, 0, 5.5f, 0, 4.5f, 0}, 3, 2));
    CHECK(std::vector<float>(y.begin(), y.begin() + 2) == std::vector<float>{0, 0});
    CHECK(std::vector<float>(y.begin() + 4, y.begin() + 6) == std::vector<float>{1, 1});
    CHECK(std::vector<float>(y.begin() + 8, y.begin() + 10) == std::vector<float>{0, 0});
  }
}

TEST_CASE("gaussian thresholds are mu + sigma Phi^-1(i / (b + 1)) with the N - 1 deviation") {
  // feature 0: {2, 4, 4, 4, 5, 5, 7, 9}: mu 5, sum of squared deviations 32 -> sigma sqrt(32 / 7)
  // (sqrt(32 / 8) = 2 would be the population deviation). feature 1: {0, 2} x 4: mu 1, ss 8.
  std::vector<float> v;
  const float f0[8] = {2, 4, 4, 4, 5, 5, 7, 9};
  for (int n = 0; n < 8; ++n) {
    v.push_back(f0[n]);
    v.push_back(n % 2 ? 2.f : 0.f);
  }
  ThermometerEncoder e(ThermometerKind::gaussian, 3);
  e.fit(mat(v, 8, 2));
  const double z = 0.6744897501960817;  // Phi^-1(0.75) = -Phi^-1(0.25); Phi^-1(0.5) = 0
  const double s0 = std::sqrt(32.0 / 7.0), s1 = std::sqrt(8.0 / 7.0);
  const std::vector<float> t = thresholds_of(e);
  const double want[6] = {5 - s0 * z, 5, 5 + s0 * z, 1 - s1 * z, 1, 1 + s1 * z};
  for (int i = 0; i < 6; ++i) CHECK(t[i] == doctest::Approx(want[i]).epsilon(1e-7));
  CHECK(t[1] == 5.f);  // a value equal to mu encodes 0 at the middle threshold
  CHECK(bits_of(e, mat({5, 1}, 1, 2)) == std::vector<float>{1, 0, 0, 1, 0, 0});
  CHECK(e.kind_name() == "gaussian");
}

TEST_CASE("global gaussian uses the mean and N - 1 deviation of all values pooled") {
  // pooled {0, 2, 2, 4}: mu 2, ss 8, sigma sqrt(8 / 3)
  ThermometerEncoder e(ThermometerKind::gaussian, 1, false);
  e.fit(mat({0, 2, 2, 4}, 2, 2));
  CHECK(thresholds_of(e) == std::vector<float>{2, 2});
  ThermometerEncoder e3(ThermometerKind::gaussian, 3, false);
  e3.fit(mat({0, 2, 2, 4}, 2, 2));
  const double d = std::sqrt(8.0 / 3.0) * 0.6744897501960817;
  const std::vector<float> t = thresholds_of(e3);
  for (int f = 0; f < 2; ++f) {
    CHECK(t[f * 3 + 0] == doctest::Approx(2 - d).epsilon(1e-7));
    CHECK(t[f * 3 + 1] == 2.f);
    CHECK(t[f * 3 + 2] == doctest::Approx(2 + d).epsilon(1e-7));
  }
}

TEST_CASE("distributive thresholds are sorted[floor(N i / (b + 1))] per feature") {
  // N = 5, b = 3: indices floor(5 i / 4) = 1, 2, 3.
  // feature 0: {5, 1, 4, 2, 3} -> sorted 1 2 3 4 5 -> 2, 3, 4
  // feature 1 (ties): {1, 7, 1, 2, 1} -> sorted 1 1 1 2 7 -> 1, 1, 2
  ThermometerEncoder e(ThermometerKind::distributive, 3);
  e.fit(mat({5, 1, 1, 7, 4, 1, 2, 2, 3, 1}, 5, 2));
  CHECK(thresholds_of(e) == std::vector<float>{2, 3, 4, 1, 1, 2});
  // Values equal to a threshold (tied ones included) encode 0 for that bit.
  CHECK(bits_of(e, mat({3, 1, 4.5f, 2, 1, 1.5f, 9, 7}, 4, 2)) ==
        std::vector<float>{1, 0, 0, 0, 0, 0,  //
                           1, 1, 1, 1, 1, 0,  //
                           0, 0, 0, 1, 1, 0,  //
                           1, 1, 1, 1, 1, 1});
  CHECK(e.kind_name() == "distributive");
}

TEST_CASE("distributive index rounds down: N = 4, b = 2 picks sorted[1] and sorted[2]") {
  ThermometerEncoder e(ThermometerKind::distributive, 2);
  e.fit(mat({40, 10, 30, 20}, 4, 1));  // floor(4/3) = 1, floor(8/3) = 2
  CHECK(thresholds_of(e) == std::vector<float>{20, 30});
  // N = 2, b = 3: floor(2 i / 4) = 0, 1, 1 (repeated indices give repeated thresholds)
  ThermometerEncoder e2(ThermometerKind::distributive, 3);
  e2.fit(mat({8, 6}, 2, 1));
  CHECK(thresholds_of(e2) == std::vector<float>{6, 8, 8});
}

TEST_CASE("global distributive sorts all N * F values pooled") {
  // pooled {6, 1, 3, 5, 2, 4} -> 1..6; N*F = 6, b = 2: indices 2, 4 -> 3, 5
  ThermometerEncoder g(ThermometerKind::distributive, 2, false);
  g.fit(mat({6, 1, 3, 5, 2, 4}, 3, 2));
  CHECK(thresholds_of(g) == std::vector<float>{3, 5, 3, 5});
  // feature-wise on the same data: f0 {6, 3, 2} -> 3, 6; f1 {1, 5, 4} -> 4, 5
  ThermometerEncoder f(ThermometerKind::distributive, 2, true);
  f.fit(mat({6, 1, 3, 5, 2, 4}, 3, 2));
  CHECK(thresholds_of(f) == std::vector<float>{3, 6, 4, 5});
}

TEST_CASE("random data: thresholds match a full-sort oracle and encoding matches a naive loop") {
  Generator gen(7);
  const int64_t N = 501, F = 37, B = 64;
  // Quantised values so there are many ties.
  std::vector<float> d = Tensor::rand({N, F}, gen).to_vector<float>();
  for (float& v : d) v = std::floor(v * 16.f) / 4.f;
  for (int nb : {1, 4, 7}) {
    CAPTURE(nb);
    ThermometerEncoder e(ThermometerKind::distributive, nb);
    e.fit(mat(d, N, F));
    const std::vector<float> t = thresholds_of(e);
    for (int64_t f = 0; f < F; ++f) {
      std::vector<float> col;
      for (int64_t n = 0; n < N; ++n) col.push_back(d[static_cast<size_t>(n * F + f)]);
      std::sort(col.begin(), col.end());
      for (int i = 1; i <= nb; ++i)
        CHECK(t[static_cast<size_t>(f * nb + i - 1)] ==
              col[static_cast<size_t>((N * i) / (nb + 1))]);
    }
    // Inputs drawn from the same quantised grid hit thresholds exactly.
    std::vector<float> x = Tensor::rand({B, F}, gen).to_vector<float>();
    for (float& v : x) v = std::floor(v * 16.f) / 4.f;
    CHECK(bits_of(e, mat(x, B, F)) == naive_encode(x, t, B, F, nb));
  }
}

TEST_CASE("f64 input gives the same bits as f32 and keeps its dtype") {
  ThermometerEncoder e(ThermometerKind::uniform, 3);
  e.fit(Tensor::from_vector<double>({0, -2, 4, 6, 2, 6, 1, 2}, {4, 2}));  // f64 fit works too
  CHECK(thresholds_of(e) == std::vector<float>{1, 2, 3, 0, 2, 4});
  Tensor x32 = mat({1, 2, 1.5f, 4.5f, 3.5f, -3}, 3, 2);
  Tensor y64 = e.encode(x32.to(DType::f64));
  CHECK(y64.dtype() == DType::f64);
  test::check_equal(y64.to(DType::f32), e.encode(x32));
}

TEST_CASE("encode in a graph records one thermometer node that needs no gradient") {
  ThermometerEncoder e(ThermometerKind::uniform, 2);
  e.fit(mat({0, 3}, 2, 1));  // thresholds 1, 2
  Graph g;
  Var x = g.input(mat({1.5f, 2.5f}, 2, 1), "x", /*requires_grad=*/true);
  Var y = e.encode(g, x);
  CHECK(g.node(y.id).op == thermometer_op());
  CHECK_FALSE(g.node(y.id).requires_grad);
  CHECK(y.value().to_vector<float>() == std::vector<float>{1, 0, 1, 1});
  // Encoding twice reuses the cached thresholds and gives the same bits.
  Var y2 = e.encode(g, x);
  CHECK(g.node(y2.id).attrs.tensors[0].storage() == g.node(y.id).attrs.tensors[0].storage());
  const Tensor a = y.value(), b = y2.value();
  test::check_equal(a, b);
}

TEST_CASE("state round trip keeps kind, bits, mode and thresholds") {
  Generator gen(3);
  Tensor data = Tensor::randn({40, 5}, gen);
  Tensor x = Tensor::randn({9, 5}, gen);
  for (ThermometerKind k :
       {ThermometerKind::uniform, ThermometerKind::gaussian, ThermometerKind::distributive}) {
    for (bool fw : {true, false}) {
      CAPTURE(thermometer_kind_name(k));
      CAPTURE(fw);
      ThermometerEncoder e(k, 3, fw);
      e.fit(data);
      EncoderState s = e.to_state();
      CHECK(s.metadata.at("encoder") == "thermometer");
      CHECK(s.metadata.at("kind") == thermometer_kind_name(k));
      CHECK(s.metadata.at("num_bits") == "3");
      CHECK(s.metadata.at("feature_wise") == (fw ? "true" : "false"));
      ThermometerEncoder r = ThermometerEncoder::from_state(s);
      CHECK(r.kind() == k);
      CHECK(r.num_bits() == 3);
      CHECK(r.feature_wise() == fw);
      test::check_equal(r.thresholds(), e.thresholds());
      test::check_equal(r.encode(x), e.encode(x));
    }
  }
}

TEST_CASE("kind names parse, and unknown ones list the known kinds") {
  CHECK(parse_thermometer_kind("thermometer") == ThermometerKind::uniform);
  CHECK(parse_thermometer_kind("uniform") == ThermometerKind::uniform);
  CHECK(parse_thermometer_kind("gaussian") == ThermometerKind::gaussian);
  CHECK(parse_thermometer_kind("distributive") == ThermometerKind::distributive);
  CHECK(ThermometerEncoder("distributive", 3).kind() == ThermometerKind::distributive);
  CHECK_THROWS_WITH_AS(
      parse_thermometer_kind("gausian"),
      doctest::Contains("known: thermometer (= uniform), uniform, gaussian, distributive"), Error);
}

TEST_CASE("bad input throws errors that name the encoder or op and the shapes") {
  ThermometerEncoder e(ThermometerKind::uniform, 2);
  CHECK_THROWS_WITH_AS(e.encode(mat({1}, 1, 1)), doctest::Contains("before fit"), Error);
  CHECK_THROWS_WITH_AS(e.thresholds(), doctest::Contains("before fit"), Error);
  CHECK_THROWS_WITH_AS(e.to_state(), doctest::Contains("before fit"), Error);
  CHECK_THROWS_WITH_AS(ThermometerEncoder(ThermometerKind::uniform, 0),
                       doctest::Contains("num_bits"), Error);
  CHECK_THROWS_WITH_AS(e.fit(Tensor::zeros({0, 3})), doctest::Contains("non-empty"), Error);
  CHECK_THROWS_WITH_AS(e.fit(Tensor::zeros({3, 0})), doctest::Contains("non-empty"), Error);
  CHECK_THROWS_WITH_AS(e.fit(Tensor::zeros({6})), doctest::Contains("[N, F]"), Error);
  CHECK_THROWS_WITH_AS(e.fit(mat({1, NAN, 3, 4}, 2, 2)), doctest::Contains("finite"), Error);
  CHECK_THROWS_WITH_AS(e.fit(mat({1, INFINITY}, 1, 2)), doctest::Contains("finite"), Error);
  CHECK_THROWS_WITH_AS(e.fit(Tensor::zeros({2, 2}, DType::i32)), doctest::Contains("f32 or f64"),
                       Error);
  CHECK_FALSE(e.fitted());  // failed fits leave the encoder unfitted
  CHECK_THROWS_WITH_AS(ThermometerEncoder(ThermometerKind::gaussian, 2).fit(mat({1, 2}, 1, 2)),
                       doctest::Contains("N - 1"), Error);

  e.fit(mat({0, 1, 3, 4}, 2, 2));
  // Feature count mismatch and wrong rank come from the op and name it with the shapes.
  CHECK_THROWS_WITH_AS(e.encode(mat({1, 2, 3}, 1, 3)), doctest::Contains("thermometer: x [1, 3]"),
                       Error);
  CHECK_THROWS_WITH_AS(e.encode(Tensor::zeros({2})),
                       doctest::Contains("thermometer: expected x of shape [B, F], found [2]"),
                       Error);
  CHECK_THROWS_WITH_AS(e.encode(Tensor::zeros({2, 2}, DType::i64)), doctest::Contains("f32 or f64"),
                       Error);
  Graph g;
  Var x = g.input(mat({1, 2}, 1, 2));
  // A raw op call with mismatched thresholds dtype.
  Attrs a;
  a.tensors = {Tensor::zeros({2, 2}, DType::f64)};
  CHECK_THROWS_WITH_AS(g.apply(thermometer_op(), {x}, a), doctest::Contains("thermometer"), Error);
  Attrs none;
  CHECK_THROWS_WITH_AS(g.apply(thermometer_op(), {x}, none), doctest::Contains("thermometer"),
                       Error);
}

TEST_CASE("from_state rejects missing or inconsistent entries") {
  ThermometerEncoder e(ThermometerKind::gaussian, 2);
  e.fit(mat({0, 1, 3, 4, 5, 7}, 3, 2));
  EncoderState good = e.to_state();
  {
    EncoderState s = good;
    s.metadata.erase("kind");
    CHECK_THROWS_WITH_AS(ThermometerEncoder::from_state(s), doctest::Contains("'kind'"), Error);
  }
  {
    EncoderState s = good;
    s.metadata["num_bits"] = "2x";
    CHECK_THROWS_WITH_AS(ThermometerEncoder::from_state(s), doctest::Contains("num_bits"), Error);
  }
  {
    EncoderState s = good;
    s.metadata["num_bits"] = "3";  // the tensor has 2 columns
    CHECK_THROWS_WITH_AS(ThermometerEncoder::from_state(s), doctest::Contains("[F, 3]"), Error);
  }
  {
    EncoderState s = good;
    s.metadata["kind"] = "linear";
    CHECK_THROWS_WITH_AS(ThermometerEncoder::from_state(s), doctest::Contains("known:"), Error);
  }
  {
    EncoderState s = good;
    s.tensors.clear();
    CHECK_THROWS_WITH_AS(ThermometerEncoder::from_state(s), doctest::Contains("'thresholds'"),
                         Error);
  }
  {
    EncoderState s = good;
    s.metadata["feature_wise"] = "yes";
    CHECK_THROWS_WITH_AS(ThermometerEncoder::from_state(s), doctest::Contains("feature_wise"),
                         Error);
  }
}
