// The standard normal quantile function (inverse CDF), used for Gaussian thermometer thresholds.
#pragma once

namespace difflut {

// Phi^{-1}(p) for p in (0, 1), accurate to about 1e-15 relative (a rational first guess refined
// with Newton steps on erfc). Throws difflut::Error for p outside (0, 1) or NaN.
double inverse_normal_cdf(double p);

}  // namespace difflut
