// Per-element optimizer math shared by the CPU and CUDA kernels, so both devices run the same
// operations in the same order (results agree to rounding; FMA contraction on the GPU is the only
// difference). Step-invariant coefficients are computed once per step on the host in f64.
#pragma once
#include <cmath>

#include "autograd/optim/optim_kernels.h"
#include "tensor/host_device.h"


namespace difflut {

template <class T>
DIFFLUT_HD T optim_sqrt(T x) {
#if defined(__CUDA_ARCH__)
  return sqrt(x);  // CUDA's float/double overloads (IEEE-rounded unless -use_fast_math)
#else
  return std::sqrt(x);
#endif
}

// Clamp that keeps NaN visible (a NaN parameter is a bug to surface, not to hide at a bound).
template <class T>
DIFFLUT_HD T optim_clamp(T x, T lo, T hi) {
  return x < lo ? lo : (x > hi ? hi : x);
}

template <class T>
struct AdamCoeffs {
  T beta1, one_minus_beta1, beta2, one_minus_beta2;
  T step_size;  // lr / (1 - beta1^t)
  T sqrt_bc2;   // sqrt(1 - beta2^t)
  T eps;
  T l2;            // Adam: g += l2 * p (0 unless coupled weight decay)
  T decay_factor;  // AdamW: p *= decay_factor (1 unless decoupled weight decay)
  bool has_l2, has_decay;
};

template <class T>
AdamCoeffs<T> make_adam_coeffs(const AdamHyper& h) {
  const double bc1 = 1.0 - std::pow(h.beta1, static_cast<double>(h.step));
  const double bc2 = 1.0 - std::pow(h.beta2, static_cast<double>(h.step));
  AdamCoeffs<T> c;
  c.beta1 = static_cast<T>(h.beta1);
  c.one_minus_beta1 = static_cast<T>(1.0 - h.beta1);
  c.beta2 = static_cast<T>(h.beta2);
  c.one_minus_beta2 = static_cast<T>(1.0 - h.beta2);
  c.step_size = static_cast<T>(h.lr / bc1);
  c.sqrt_bc2 = static_cast<T>(std::sqrt(bc2));
  c.eps = static_cast<T>(h.eps);
  c.has_l2 = !h.decoupled && h.weight_decay != 0.0;
  c.l2 = static_cast<T>(c.has_l2 ? h.weight_decay : 0.0);
  c.has_decay = h.decoupled && h.weight_decay != 0.0;
  c.decay_factor = static_cast<T>(c.has_decay ? 1.0 - h.lr * h.weight_decay : 1.0);
  return c;
}

// One Adam/AdamW element update (PyTorch's formulation), then the clamp.
template <class T>
DIFFLUT_HD void adam_element(T& p, T g, T& m, T& v, const AdamCoeffs<T>& c, T lo, T hi) {
  T x = p;
  if (c.has_decay) x = x * c.decay_factor;
  if (c.has_l2) g = g + c.l2 * x;
  const T mi = c.beta1 * m + c.one_minus_beta1 * g;
  const T vi = c.beta2 * v + c.one_minus_beta2 * g * g;
  const T denom = optim_sqrt(vi) / c.sqrt_bc2 + c.eps;
  x = x - c.step_size * (mi / denom);
  m = mi;
  v = vi;
  p = optim_clamp(x, lo, hi);
}

template <class T>
struct SgdCoeffs {
  T lr, momentum, one_minus_dampening, weight_decay;
  bool has_momentum, has_weight_decay, nesterov, first_step;
};

template <class T>
SgdCoeffs<T> make_sgd_coeffs(const SgdHyper& h) {
  SgdCoeffs<T> c;
  c.lr = static_cast<T>(h.lr);
  c.momentum = static_cast<T>(h.momentum);
  c.one_minus_dampening = static_cast<T>(1.0 - h.dampening);
  c.weight_decay = static_cast<T>(h.weight_decay);
  c.has_momentum = h.momentum != 0.0;
  c.has_weight_decay = h.weight_decay != 0.0;
  c.nesterov = h.nesterov;
  c.first_step = h.first_step;
  return c;
}

// One SGD element update (PyTorch's formulation: the velocity starts as the first gradient).
// `buf` is ignored without momentum.
template <class T>
DIFFLUT_HD void sgd_element(T& p, T g, T* buf, const SgdCoeffs<T>& c, T lo, T hi) {
  T x = p;
  T d = c.has_weight_decay ? g + c.weight_decay * x : g;
  if (c.has_momentum) {
    const T b = c.first_step ? d : c.momentum * *buf + c.one_minus_dampening * d;
    *buf = b;
    d = c.nesterov ? d + c.momentum * b : b;
  }
  x = x - c.lr * d;
  p = optim_clamp(x, lo, hi);
}

}  // namespace difflut
