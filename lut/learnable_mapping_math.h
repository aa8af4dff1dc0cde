// Per-element math of the learnable mapping shared by the CPU and CUDA kernels: the optimizer step of
// the fused update (PyTorch's Adam / AdamW / SGD formulation, the same operations in the same order
// as the generic optimizer) and the sparse-softmax cutoff.
#pragma once
#include <cmath>
#include <cstdint>

#include "autograd/parameter.h"
#include "tensor/host_device.h"


namespace difflut {

// softmax(W / tau) over F inputs keeps only the rows with (max - W[i, s]) / tau <= cutoff. A dropped
// row weighs at most e^-cutoff relative to the column's largest term (which is 1 before
// normalising), so all dropped rows together change the column's mass by at most F e^-cutoff.
// With F < 2^31 that stays below half an ulp of 1: f32 needs cutoff >= ln(2^31) + 25 ln 2 = 38.8,
// f64 needs ln(2^31) + 54 ln 2 = 58.9. Kept rows get their exact weights. (With the default
// tau = 1e-3 the cutoff is 0.04 / 0.06 in W units.)
template <class T>
struct SoftmaxCutoff;
template <>
struct SoftmaxCutoff<float> {
  static constexpr float value = 40.0f;
};
template <>
struct SoftmaxCutoff<double> {
  static constexpr double value = 60.0;
};

// Step-invariant coefficients of one optimizer step, computed on the host in f64 and rounded once.
// Adam's step lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps) is evaluated as the algebraically identical
// (lr sqrt(bc2)/bc1) * m / (sqrt(v) + eps sqrt(bc2)): one square root and one division per weight
// instead of one and two. The divider is the fused pass's bottleneck on the CPU (it streams 28M
// weights per step), and the result differs from PyTorch's formulation only in the last bits.
// Weight decay and clamping are applied unconditionally with neutral values (factor 1, l2 0,
// bounds +-inf) when unused, which leaves finite values bit-identical to skipping them.
template <class T>
struct MappingOptCoeffs {
  bool adam = true;
  // Adam / AdamW
  T beta1, one_minus_beta1, beta2, one_minus_beta2;
  T step_size;     // lr sqrt(1 - beta2^t) / (1 - beta1^t)
  T eps;           // eps sqrt(1 - beta2^t)
  T l2;            // Adam: g += l2 * w (coupled weight decay); SGD: weight decay
  T decay_factor;  // AdamW: w *= 1 - lr * wd before the step
  // SGD
  T lr, momentum;
  bool has_momentum;
  T lo, hi;  // clamp range
};

template <class T>
MappingOptCoeffs<T> make_mapping_opt_coeffs(const OptimizerStep& st, double lo, double hi) {
  MappingOptCoeffs<T> c{};
  c.adam = st.kind == OptimizerStep::Kind::adam;
  const double t = static_cast<double>(st.step < 1 ? 1 : st.step);
  const double bc1 = 1.0 - std::pow(st.beta1, t);
  const double bc2 = 1.0 - std::pow(st.beta2, t);
  c.beta1 = static_cast<T>(st.beta1);
  c.one_minus_beta1 = static_cast<T>(1.0 - st.beta1);
  c.beta2 = static_cast<T>(st.beta2);
  c.one_minus_beta2 = static_cast<T>(1.0 - st.beta2);
  c.step_size = static_cast<T>(st.lr * std::sqrt(bc2) / bc1);
  c.eps = static_cast<T>(st.eps * std::sqrt(bc2));
  const bool decoupled = c.adam && st.decoupled_weight_decay;
  c.l2 = static_cast<T>(decoupled ? 0.0 : st.weight_decay);
  c.decay_factor = static_cast<T>(decoupled ? 1.0 - st.lr * st.weight_decay : 1.0);
  c.lr = static_cast<T>(st.lr);
  c.momentum = static_cast<T>(st.momentum);
  c.has_momentum = st.momentum != 0.0;
  c.lo = static_cast<T>(lo);
  c.hi = static_cast<T>(hi);
  return c;
}

template <class T>
DIFFLUT_HD T lm_sqrt(T x) {
#if defined(__CUDA_ARCH__)
  return sqrt(x);
#else
  return std::sqrt(x);
#endif
}

template <class T>
DIFFLUT_HD T lm_clamp(T x, T lo, T hi) {
  return x < lo ? lo : (x > hi ? hi : x);
}

// One Adam / AdamW element: returns the new weight and updates the moments.
template <class T>
DIFFLUT_HD T lm_adam(T w, T g, T& m, T& v, const MappingOptCoeffs<T>& c) {
  T x = w * c.decay_factor;
  g = g + c.l2 * x;
  const T mi = c.beta1 * m + c.one_minus_beta1 * g;
  const T vi = c.beta2 * v + c.one_minus_beta2 * g * g;
  const T denom = lm_sqrt(vi) + c.eps;
  x = x - c.step_size * (mi / denom);
  m = mi;
  v = vi;
  return lm_clamp(x, c.lo, c.hi);
}

// One SGD element; `buf` is the velocity (PyTorch's rule without dampening: a zero buffer makes the
// first step's velocity the gradient itself).
template <class T>
DIFFLUT_HD T lm_sgd(T w, T g, T& buf, const MappingOptCoeffs<T>& c) {
  T d = g + c.l2 * w;
  if (c.has_momentum) {
    buf = c.momentum * buf + d;
    d = buf;
  }
  return lm_clamp(w - c.lr * d, c.lo, c.hi);
}

}  // namespace difflut
