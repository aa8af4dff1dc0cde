// The level-code encoders (binary, gray, onehot, sign_magnitude, logarithmic) against an
// independent reference: the published formulas (normalise with eps = 1e-8, clamp, floor, code
// the integer) evaluated in double on hand-picked values, the range ends, values outside it and
// values on and beside every level boundary, features with negative values among them. Values
// within two f32 steps of a boundary of the double formula are left out of that check (there the
// f32 thresholds decide, by design); exact cases are checked on the boundary itself: onehot edges,
// sign_magnitude's zero, constant features (x == min is level 0). Also: the bit layout, state and
// checkpoint round trips, and errors (unknown names, bit counts, corrupt checkpoint thresholds).
#include <cmath>
#include <string>
#include <vector>

#include "autograd/io/safetensors.h"
#include "encoders/level_code.h"
#include "encoders/thermometer.h"
#include "lut/lut_network.h"
#include "tensor/random.h"
#include "test_networks.h"
#include "test_util.h"

using namespace difflut;

namespace {

const char* const kCodes[] = {"binary", "gray", "onehot", "sign_magnitude", "logarithmic"};

struct Fit {
  double lo, hi, absmax;
};
Fit fit_of(const std::vector<float>& col) {
  Fit r{col[0], col[0], 0};
  for (float v : col) {
    r.lo = std::min<double>(r.lo, v);
    r.hi = std::max<double>(r.hi, v);
    r.absmax = std::max<double>(r.absmax, std::fabs(v));
  }
  return r;
}

std::string str(const std::vector<float>& v) {
  std::string s;
  for (float x : v) s += std::to_string(x) + " ";
  return s;
}

void push_bits(std::vector<float>& out, uint64_t w, int n) {
  for (int i = n - 1; i >= 0; --i) out.push_back(static_cast<float>((w >> i) & 1u));
}

// The published encoding of one value, in double (real arithmetic up to double rounding).
std::vector<float> published(const std::string& name, int nb, const Fit& fit, double x) {
  const double eps = 1e-8;
  std::vector<float> out;
  auto level = [&](double normalised, double max_int) {
    return static_cast<uint64_t>(std::floor(std::min(1.0, std::max(0.0, normalised)) * max_int));
  };
  if (name == "binary" || name == "gray") {
    const uint64_t q = level((x - fit.lo) / (fit.hi - fit.lo + eps), std::ldexp(1.0, nb) - 1);
    push_bits(out, name == "gray" ? q ^ (q >> 1) : q, nb);
  } else if (name == "logarithmic") {
    const double o = fit.lo < 0 ? 1 - fit.lo : 0;
    const double l = std::log2(x + o + eps), lmin = std::log2(fit.lo + o + eps),
                 lmax = std::log2(fit.hi + o + eps);
    push_bits(out, level((l - lmin) / (lmax - lmin + eps), std::ldexp(1.0, nb) - 1), nb);
  } else if (name == "sign_magnitude") {
    out.push_back(x < 0 ? 1.f : 0.f);
    push_bits(out, level(std::fabs(x) / (fit.absmax + eps), std::ldexp(1.0, nb - 1) - 1), nb - 1);
  } else {  // onehot: bucketize over the inner edges of linspace(lo, hi, nb + 1), strict
    int bin = 0;
    for (int i = 1; i < nb; ++i) bin += x > fit.lo + i * (fit.hi - fit.lo) / nb;
    for (int i = 0; i < nb; ++i) out.push_back(i == bin ? 1.f : 0.f);
  }
  return out;
}

// The published code of the f32 value x; *ambiguous is set when a level boundary lies within two
// f32 steps of x, where the f32 rounding of a threshold (and the published f32 arithmetic) may
// decide either way.
std::vector<float> reference(const std::string& name, int nb, const Fit& fit, float x,
                             bool* ambiguous) {
  const std::vector<float> want = published(name, nb, fit, x);
  float lo = x, hi = x;
  for (int i = 0; i < 2; ++i) {
    lo = std::nextafter(lo, -1e30f);
    hi = std::nextafter(hi, 1e30f);
  }
  *ambiguous = published(name, nb, fit, lo) != want || published(name, nb, fit, hi) != want;
  return want;
}

// Hand-picked probes for a feature fitted on [lo, hi]: the ends, outside, zero, a grid, and both
// sides of each of the encoder's own boundaries.
std::vector<double> probes(const Fit& f, const std::vector<float>& thresholds) {
  std::vector<double> p = {f.lo, f.hi, f.lo - 1, f.hi + 1, 0.0, -0.0, (f.lo + f.hi) / 2};
  for (int i = 0; i <= 40; ++i) p.push_back(f.lo + (f.hi - f.lo) * i / 40.0);
  for (float t : thresholds) {
    p.push_back(t);
    p.push_back(std::nextafter(t, -1e30f));
    p.push_back(std::nextafter(t, 1e30f));
    p.push_back(t - 1e-3);
    p.push_back(t + 1e-3);
  }
  return p;
}

}  // namespace

TEST_CASE("level-code encoders equal the published formulas on hand-picked values and boundaries") {
  // Two features: one in [0, 1] (pixels), one with negatives, [-2.5, 1.5].
  const std::vector<float> c0 = {0.0f, 0.25f, 0.5f, 1.0f, 0.75f},
                           c1 = {-2.5f, 0.0f, 1.5f, -1.0f, 0.5f};
  std::vector<float> data;
  for (size_t i = 0; i < c0.size(); ++i) data.insert(data.end(), {c0[i], c1[i]});
  const Tensor train = Tensor::from_vector(data, {static_cast<int64_t>(c0.size()), 2});
  const Fit fits[2] = {fit_of(c0), fit_of(c1)};
  for (const std::string name : kCodes) {
    for (int nb : {2, 3, 5}) {
      CAPTURE(name);
      CAPTURE(nb);
      ThermometerEncoder e(name, nb);
      e.fit(train);
      CHECK(e.output_features() == 2 * nb);
      const std::vector<float> thr = e.thresholds().to_vector<float>();
      const int64_t T = e.num_thresholds();
      int64_t checked = 0;
      for (int f = 0; f < 2; ++f) {
        const std::vector<float> own(thr.begin() + f * T, thr.begin() + (f + 1) * T);
        for (double x : probes(fits[f], own)) {
          const float xf = static_cast<float>(x);
          bool ambiguous = false;
          const std::vector<float> want = reference(name, nb, fits[f], xf, &ambiguous);
          if (ambiguous) continue;
          std::vector<float> row = {0.f, 0.f};
          row[static_cast<size_t>(f)] = xf;
          const std::vector<float> got =
              e.encode(Tensor::from_vector(row, {1, 2})).to_vector<float>();
          CAPTURE(x);
          INFO("thresholds ", str(own), " got ", str(got), " want ", str(want));
          CHECK(std::vector<float>(got.begin() + f * nb, got.begin() + (f + 1) * nb) == want);
          ++checked;
        }
      }
      CHECK(checked > 80);
    }
  }
}

TEST_CASE("onehot edges are strict and sign_magnitude's zero is positive, on the boundary itself") {
  const Tensor train = Tensor::from_vector(std::vector<float>{0, -3, 4, 2}, {2, 2});
  ThermometerEncoder oh("onehot", 4);
  oh.fit(train);  // feature 0: edges 1, 2, 3 exactly
  const Tensor x = Tensor::from_vector(std::vector<float>{1, 0, 1.0000001f, 0, 3, 0, 4, 0}, {4, 2});
  const std::vector<float> y = oh.encode(x).to_vector<float>();
  CHECK(std::vector<float>(y.begin(), y.begin() + 4) == std::vector<float>{1, 0, 0, 0});
  CHECK(std::vector<float>(y.begin() + 8, y.begin() + 12) == std::vector<float>{0, 1, 0, 0});
  CHECK(std::vector<float>(y.begin() + 16, y.begin() + 20) == std::vector<float>{0, 0, 1, 0});
  CHECK(std::vector<float>(y.begin() + 24, y.begin() + 28) == std::vector<float>{0, 0, 0, 1});

  ThermometerEncoder sm("sign_magnitude", 3);
  sm.fit(train);  // feature 1: max |x| = 3, magnitude levels 0..3
  const Tensor z =
      Tensor::from_vector(std::vector<float>{0, 0.0f, 0, -0.0f, 0, -1e-30f, 0, -3, 0, 3}, {5, 2});
  const std::vector<float> s = sm.encode(z).to_vector<float>();
  auto feat1 = [&](int b) {
    return std::vector<float>(s.begin() + b * 6 + 3, s.begin() + b * 6 + 6);
  };
  CHECK(feat1(0) == std::vector<float>{0, 0, 0});
  CHECK(feat1(1) == std::vector<float>{0, 0, 0});  // -0.0 is not < 0
  CHECK(feat1(2) == std::vector<float>{1, 0, 0});
  // At the range ends eps vanishes in f32 (3 + 1e-8 == 3), as in the published f32 arithmetic.
  CHECK(feat1(3) == std::vector<float>{1, 1, 1});
  CHECK(feat1(4) == std::vector<float>{0, 1, 1});
}

TEST_CASE("level-code tables: binary, gray, onehot, sign_magnitude codes of every level") {
  CHECK(level_table(LevelCode::binary, 2) == std::vector<uint8_t>{0, 0, 0, 1, 1, 0, 1, 1});
  CHECK(level_table(LevelCode::gray, 2) == std::vector<uint8_t>{0, 0, 0, 1, 1, 1, 1, 0});
  CHECK(level_table(LevelCode::onehot, 3) == std::vector<uint8_t>{1, 0, 0, 0, 1, 0, 0, 0, 1});
  // Levels ascend with x: -1, -0 (sign set, magnitude 1, 0), +0, +1.
  CHECK(level_table(LevelCode::sign_magnitude, 2) == std::vector<uint8_t>{1, 1, 1, 0, 0, 0, 0, 1});
  CHECK(level_strict(LevelCode::sign_magnitude, 2) == std::vector<uint8_t>{1, 0, 0});
  CHECK(level_strict(LevelCode::onehot, 3) == std::vector<uint8_t>{1, 1});
}

TEST_CASE("level-code encoders round-trip through their state and a LUTNetwork checkpoint") {
  Generator gen(4);
  const Tensor data = Tensor::rand({200, 12}, gen);
  const std::string dir = test::temp_dir("level_codes");
  for (const std::string name : kCodes) {
    CAPTURE(name);
    ThermometerEncoder e(name, 3, /*feature_wise=*/std::string(name) != "gray");
    e.fit(data);
    const ThermometerEncoder back = ThermometerEncoder::from_state(e.to_state());
    CHECK(back.kind_name() == name);
    test::check_equal(back.encode(data), e.encode(data));

    LUTNetworkConfig c = test::small_config(12, 3, {24, 9}, 4);
    Generator g2(9);
    LUTNetwork net(c, e, g2);
    net.eval();
    const std::string path = dir + "/" + name + ".safetensors";
    save_lut_network(net, path);
    auto loaded = load_lut_network(path);
    CHECK(loaded->encoder().kind_name() == name);
    test::check_equal(loaded->encoder().thresholds(), e.thresholds());
    test::check_equal(loaded->predict(data), net.predict(data));
  }
}

TEST_CASE("level-code errors: unknown names list the known ones, bit counts are checked") {
  CHECK_THROWS_WITH_AS(ThermometerEncoder("octal", 3),
                       doctest::Contains("binary, gray, onehot, sign_magnitude, logarithmic"),
                       Error);
  CHECK_THROWS_WITH_AS(ThermometerEncoder("sign_magnitude", 1),
                       doctest::Contains("expected num_bits in [2, 12], found 1"), Error);
  CHECK_THROWS_WITH_AS(ThermometerEncoder("binary", 13),
                       doctest::Contains("expected num_bits in [1, 12], found 13"), Error);
  CHECK_THROWS_WITH_AS(ThermometerEncoder("onehot", 1),
                       doctest::Contains("expected num_bits in [2, 64], found 1"), Error);
  ThermometerEncoder e("gray", 2);
  CHECK_THROWS_WITH_AS(e.encode(Tensor::zeros({1, 2})), doctest::Contains("before fit()"), Error);
  // A state whose thresholds do not have M - 1 columns is refused.
  Generator gen(1);
  e.fit(Tensor::rand({10, 2}, gen));
  EncoderState s = e.to_state();
  s.tensors["thresholds"] = Tensor::zeros({2, 2});
  CHECK_THROWS_WITH_AS(ThermometerEncoder::from_state(s),
                       doctest::Contains("expected thresholds f32 [F, 3]"), Error);
}

TEST_CASE("a constant feature: x == min keeps level 0, anything above it the levels of s = eps") {
  // Hand-computed from the published rules with min = max = 0.5 (feature 0) and 0 (feature 1):
  // (x - min) / (0 + 1e-8) is 0 at x = min and clamps to 1 a few f32 steps above 0.5; around 0 the
  // levels of s = 1e-8 are still reachable (binary, 3 bits: x = 5e-9 -> floor(0.5 * 7) = 3).
  const Tensor train = Tensor::from_vector(std::vector<float>{0.5f, 0.f, 0.5f, 0.f}, {2, 2});
  const float above = std::nextafter(0.5f, 1.f);
  auto code = [&](const char* name, int nb, float x0, float x1) {
    ThermometerEncoder e(name, nb);
    e.fit(train);
    return e.encode(Tensor::from_vector(std::vector<float>{x0, x1}, {1, 2})).to_vector<float>();
  };
  using V = std::vector<float>;
  CHECK(code("binary", 3, 0.5f, 0.f) == V{0, 0, 0, 0, 0, 0});
  CHECK(code("binary", 3, above, 5e-9f) == V{1, 1, 1, 0, 1, 1});
  CHECK(code("binary", 3, 0.25f, -1.f) == V{0, 0, 0, 0, 0, 0});
  CHECK(code("gray", 3, above, 5e-9f) == V{1, 0, 0, 0, 1, 0});  // gray(7) = 100, gray(3) = 010
  CHECK(code("logarithmic", 3, 0.5f, 0.f) == V{0, 0, 0, 0, 0, 0});
  CHECK(code("logarithmic", 3, above, 1.f) == V{1, 1, 1, 1, 1, 1});
  // onehot: every edge is min, strict: min is bin 0, above it bin b - 1.
  CHECK(code("onehot", 3, 0.5f, 0.f) == V{1, 0, 0, 1, 0, 0});
  CHECK(code("onehot", 3, above, 1e-30f) == V{0, 0, 1, 0, 0, 1});
  // sign_magnitude, 3 bits: max|x| = 0.5 (feature 0), 0 (feature 1, s = 1e-8, 3 magnitude levels).
  CHECK(code("sign_magnitude", 3, 0.25f, 5e-9f) == V{0, 0, 1, 0, 0, 1});  // floor(0.5 * 3) = 1
  CHECK(code("sign_magnitude", 3, -0.5f, -1.f) == V{1, 1, 1, 1, 1, 1});  // 0.5 + 1e-8 == 0.5 in f32
  CHECK(code("sign_magnitude", 3, 0.5f, 0.f) == V{0, 1, 1, 0, 0, 0});
}

TEST_CASE("level-code checkpoints: unknown kinds and corrupt thresholds fail with clear errors") {
  Generator gen(5);
  const Tensor data = Tensor::rand({50, 6}, gen);
  ThermometerEncoder e("binary", 2);
  e.fit(data);
  LUTNetworkConfig c = test::small_config(6, 2, {8, 4}, 3);
  Generator g2(2);
  LUTNetwork net(c, e, g2);
  const std::string dir = test::temp_dir("level_code_bad");
  save_lut_network(net, dir + "/m.safetensors");
  const SafetensorsContents saved = load_safetensors(dir + "/m.safetensors");

  Metadata meta = saved.metadata;
  std::string& model = meta["difflut.model"];
  const size_t at = model.find("\"binary\"");
  REQUIRE(at != std::string::npos);
  model.replace(at, 8, "\"binarx\"");
  save_safetensors(dir + "/kind.safetensors", saved.tensors, meta);
  CHECK_THROWS_WITH_AS(load_lut_network(dir + "/kind.safetensors"),
                       doctest::Contains("kind.safetensors: thermometer encoder: 'binarx' is not a "
                                         "thermometer kind (known: "),
                       Error);

  // Feature 1's boundary 1 (of 3) set to 0, below boundary 0 (not ascending), then to NaN.
  const std::pair<float, const char*> bad[] = {
      {0.f,
       "thr.safetensors: thermometer encoder state (binary): expected finite ascending "
       "thresholds per feature, found feature 1 threshold 1 = 0 after "},
      {std::nanf(""),
       "thr.safetensors: tensor 'encoder.thresholds': expected finite values, found NaN at [1, 1]"}};
  for (const auto& [value, message] : bad) {
    NamedTensors t = saved.tensors;
    for (auto& [name, tensor] : t)
      if (name == "encoder.thresholds") {
        std::vector<float> v = tensor.to_vector<float>();
        v[4] = value;
        tensor = Tensor::from_vector(v, tensor.shape());
      }
    save_safetensors(dir + "/thr.safetensors", t, saved.metadata);
    CHECK_THROWS_WITH_AS(load_lut_network(dir + "/thr.safetensors"), doctest::Contains(message),
                         Error);
  }
}
