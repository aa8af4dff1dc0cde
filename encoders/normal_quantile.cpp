// Inverse normal CDF: Acklam's piecewise rational approximation (about 1e-9 relative error) as a
// first guess, then Newton steps on the tail probability written with erfc, which has full relative
// precision in the tails where 1 - Phi(x) would cancel.
#include "encoders/normal_quantile.h"

#include <cmath>

#include "tensor/error.h"

namespace difflut {

namespace {

// Coefficients of the published approximation (P. J. Acklam, "An algorithm for computing the
// inverse normal cumulative distribution function").
constexpr double kA[6] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                          1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
constexpr double kB[5] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                          6.680131188771972e+01, -1.328068155288572e+01};
constexpr double kC[6] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                          -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
constexpr double kD[4] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                          3.754408661907416e+00};
constexpr double kPLow = 0.02425;

// First guess for the lower half, p in (0, 0.5].
double acklam_lower(double p) {
  if (p < kPLow) {
    const double q = std::sqrt(-2.0 * std::log(p));
    return (((((kC[0] * q + kC[1]) * q + kC[2]) * q + kC[3]) * q + kC[4]) * q + kC[5]) /
           ((((kD[0] * q + kD[1]) * q + kD[2]) * q + kD[3]) * q + 1.0);
  }
  const double q = p - 0.5;
  const double r = q * q;
  return (((((kA[0] * r + kA[1]) * r + kA[2]) * r + kA[3]) * r + kA[4]) * r + kA[5]) * q /
         (((((kB[0] * r + kB[1]) * r + kB[2]) * r + kB[3]) * r + kB[4]) * r + 1.0);
}

}  // namespace

double inverse_normal_cdf(double p) {
  DIFFLUT_CHECK(p > 0.0 && p < 1.0, "inverse_normal_cdf: expected a probability in (0, 1), found ",
                p);
  if (p == 0.5) return 0.0;
  // Work in the lower half and mirror: Phi^{-1}(p) = -Phi^{-1}(1 - p). 1 - p is exact for p >= 0.5.
  const bool upper = p > 0.5;
  const double tail = upper ? 1.0 - p : p;
  double x = acklam_lower(tail);
  // Newton on f(x) = Phi(x) - tail with Phi(x) = erfc(-x / sqrt 2) / 2 and f'(x) = phi(x). The guess
  // is good to ~1e-9, so two steps reach double precision; a third only confirms convergence.
  const double kInvSqrt2 = 0.70710678118654752440;
  const double kInvSqrt2Pi = 0.39894228040143267794;
  for (int step = 0; step < 3; ++step) {
    const double err = 0.5 * std::erfc(-x * kInvSqrt2) - tail;
    const double dens = kInvSqrt2Pi * std::exp(-0.5 * x * x);
    if (dens == 0.0) break;
    const double dx = err / dens;
    x -= dx;
    if (std::fabs(dx) <= 1e-16 * std::fabs(x)) break;
  }
  return upper ? -x : x;
}

}  // namespace difflut
