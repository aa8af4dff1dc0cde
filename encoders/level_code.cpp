// Level-code encoders: tables, strictness and threshold fitting (see level_code.h). The thresholds
// are the level boundaries of the published floor rule solved for x: with s = range + eps and
// m = M - 1, floor(clamp((x - min) / s) m) >= k  <=>  x >= min + k s / m  (k = 1..m).
#include "encoders/level_code.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "tensor/error.h"

namespace difflut {

namespace {
constexpr double kEps = 1e-8;  // the published encoders' normalisation epsilon

struct Range {
  double lo, hi, absmax;
};
Range range_of(const std::vector<double>& v) {
  Range r{v[0], v[0], 0.0};
  for (double x : v) {
    r.lo = std::min(r.lo, x);
    r.hi = std::max(r.hi, x);
    r.absmax = std::max(r.absmax, std::fabs(x));
  }
  return r;
}

// Boundaries k = 1..m of floor(clamp((x - lo) / s) m), written to out[0..m-1].
void floor_boundaries(double lo, double s, int64_t m, double* out) {
  for (int64_t k = 1; k <= m; ++k)
    out[k - 1] = lo + static_cast<double>(k) * s / static_cast<double>(m);
}

// The published rule maps x == min to level 0 exactly ((x - min) / s = 0), but a boundary
// min + k s / m with a tiny s (a constant feature: s = eps) rounds onto min in f32. So each
// boundary is rounded to f32 here and, where it lands on or below min, raised to the next f32
// above min: min keeps level 0 and anything above it passes, as in the published f32 arithmetic.
void above_min(double lo, int64_t m, double* out) {
  auto f = static_cast<float>(lo);
  if (static_cast<double>(f) <= lo) f = std::nextafter(f, std::numeric_limits<float>::infinity());
  for (int64_t k = 0; k < m; ++k) out[k] = std::max<double>(static_cast<float>(out[k]), f);
}
}  // namespace

const char* level_code_name(LevelCode code) {
  switch (code) {
    case LevelCode::binary: return "binary";
    case LevelCode::gray: return "gray";
    case LevelCode::onehot: return "onehot";
    case LevelCode::sign_magnitude: return "sign_magnitude";
    case LevelCode::logarithmic: return "logarithmic";
  }
  return "?";
}

bool find_level_code(const std::string& name, LevelCode* code) {
  for (LevelCode c : {LevelCode::binary, LevelCode::gray, LevelCode::onehot,
                      LevelCode::sign_magnitude, LevelCode::logarithmic})
    if (name == level_code_name(c)) {
      *code = c;
      return true;
    }
  return false;
}

void check_level_code_bits(LevelCode code, int num_bits) {
  const int lo = code == LevelCode::onehot || code == LevelCode::sign_magnitude ? 2 : 1;
  const int hi = code == LevelCode::onehot ? 64 : 12;
  DIFFLUT_CHECK(num_bits >= lo && num_bits <= hi, level_code_name(code),
                " encoder: expected num_bits in [", lo, ", ", hi, "], found ", num_bits);
}

int64_t level_count(LevelCode code, int num_bits) {
  return code == LevelCode::onehot ? num_bits : int64_t{1} << num_bits;
}

std::vector<uint8_t> level_table(LevelCode code, int nb) {
  const int64_t M = level_count(code, nb);
  std::vector<uint8_t> t(static_cast<size_t>(M * nb), 0);
  auto put_bits = [&](int64_t q, uint64_t word, int first, int count) {  // MSB first
    for (int j = 0; j < count; ++j)
      t[static_cast<size_t>(q * nb + first + j)] =
          static_cast<uint8_t>((word >> (count - 1 - j)) & 1u);
  };
  const int64_t half = M / 2;
  for (int64_t q = 0; q < M; ++q) {
    const auto uq = static_cast<uint64_t>(q);
    switch (code) {
      case LevelCode::binary:
      case LevelCode::logarithmic: put_bits(q, uq, 0, nb); break;
      case LevelCode::gray: put_bits(q, uq ^ (uq >> 1), 0, nb); break;
      case LevelCode::onehot: t[static_cast<size_t>(q * nb + q)] = 1; break;
      case LevelCode::sign_magnitude:
        // Levels ascend with x: q < half are negative x with magnitude half - 1 - q, then x >= 0
        // with magnitude q - half.
        t[static_cast<size_t>(q * nb)] = q < half ? 1 : 0;
        put_bits(q, static_cast<uint64_t>(q < half ? half - 1 - q : q - half), 1, nb - 1);
        break;
    }
  }
  return t;
}

std::vector<uint8_t> level_strict(LevelCode code, int nb) {
  const int64_t T = level_count(code, nb) - 1;
  std::vector<uint8_t> s(static_cast<size_t>(T), 0);
  // onehot: torch.bucketize(x, edges) counts edges strictly below x. sign_magnitude: a negative x
  // leaves magnitude level j when -x < boundary_j, i.e. x > -boundary_j; x >= 0 clears the sign.
  if (code == LevelCode::onehot) std::fill(s.begin(), s.end(), 1);
  if (code == LevelCode::sign_magnitude) std::fill(s.begin(), s.begin() + T / 2, 1);
  return s;
}

void fit_level_thresholds(LevelCode code, int nb, const std::vector<double>& values, double* out) {
  const Range r = range_of(values);
  const int64_t M = level_count(code, nb);
  switch (code) {
    case LevelCode::binary:
    case LevelCode::gray:
      floor_boundaries(r.lo, r.hi - r.lo + kEps, M - 1, out);
      above_min(r.lo, M - 1, out);
      return;
    case LevelCode::onehot:
      // linspace(min, max, b + 1)'s inner edges.
      for (int64_t i = 1; i < M; ++i)
        out[i - 1] = r.lo + static_cast<double>(i) * (r.hi - r.lo) / static_cast<double>(M);
      return;
    case LevelCode::sign_magnitude: {
      const int64_t half = M / 2, m = half - 1;
      std::vector<double> mag(static_cast<size_t>(m));
      if (m > 0) floor_boundaries(0.0, r.absmax + kEps, m, mag.data());
      // Ascending: -mag[m-1] .. -mag[0] (strict), 0 (sign), mag[0] .. mag[m-1].
      for (int64_t j = 0; j < m; ++j) out[j] = -mag[static_cast<size_t>(m - 1 - j)];
      out[m] = 0.0;
      for (int64_t j = 0; j < m; ++j) out[m + 1 + j] = mag[static_cast<size_t>(j)];
      return;
    }
    case LevelCode::logarithmic: {
      // l(x) = log2(x + o + eps) is increasing, so l(x) >= lambda_k <=> x >= 2^lambda_k - o - eps.
      const double o = r.lo < 0 ? 1.0 - r.lo : 0.0;
      const double lmin = std::log2(r.lo + o + kEps), lmax = std::log2(r.hi + o + kEps);
      floor_boundaries(lmin, lmax - lmin + kEps, M - 1, out);
      for (int64_t k = 0; k < M - 1; ++k) out[k] = std::exp2(out[k]) - o - kEps;
      above_min(r.lo, M - 1, out);
      return;
    }
  }
}

}  // namespace difflut
