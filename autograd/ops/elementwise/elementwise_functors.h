// The per-element math of the elementwise family, written once and compiled for the CPU and the GPU.
// Binary functors take (g, a, b): g is the output gradient in backward functors (kGrad) and unused
// (0) in forward ones. Unary functors carry the op's scalar attributes (p0, p1) and give fwd(x)
// and the gradient contribution bwd(x, y, g) with y = fwd(x).
#pragma once
#include <cmath>

#include "autograd/ops/broadcast.h"

namespace difflut {

// Which binary function a map evaluates: the four forward ops and the local gradient of each operand.
enum class BinaryFn : int {
  add,
  sub,
  mul,
  div,
  add_grad_a,
  add_grad_b,
  sub_grad_a,
  sub_grad_b,
  mul_grad_a,
  mul_grad_b,
  div_grad_a,
  div_grad_b,
};

// Unary ops with optional scalar attributes (relu has its own kernels).
enum class UnaryFn : int {
  add_scalar,
  mul_scalar,
  pow_scalar,
  neg,
  exp,
  log,
  sigmoid,
  tanh,
  clamp,
  threshold_ste,
};

DIFFLUT_HD float dl_exp(float x) { return ::expf(x); }
DIFFLUT_HD double dl_exp(double x) { return ::exp(x); }
DIFFLUT_HD float dl_log(float x) { return ::logf(x); }
DIFFLUT_HD double dl_log(double x) { return ::log(x); }
DIFFLUT_HD float dl_tanh(float x) { return ::tanhf(x); }
DIFFLUT_HD double dl_tanh(double x) { return ::tanh(x); }
DIFFLUT_HD float dl_pow(float x, float p) { return ::powf(x, p); }
DIFFLUT_HD double dl_pow(double x, double p) { return ::pow(x, p); }

struct AddF {
  static constexpr bool kGrad = false;
  template <class T>
  DIFFLUT_HD T operator()(T, T a, T b) const {
    return a + b;
  }
};
struct SubF {
  static constexpr bool kGrad = false;
  template <class T>
  DIFFLUT_HD T operator()(T, T a, T b) const {
    return a - b;
  }
};
struct MulF {
  static constexpr bool kGrad = false;
  template <class T>
  DIFFLUT_HD T operator()(T, T a, T b) const {
    return a * b;
  }
};
struct DivF {
  static constexpr bool kGrad = false;
  template <class T>
  DIFFLUT_HD T operator()(T, T a, T b) const {
    return a / b;
  }
};
struct PassGradF {
  static constexpr bool kGrad = true;
  template <class T>
  DIFFLUT_HD T operator()(T g, T, T) const {
    return g;
  }
};
struct NegGradF {
  static constexpr bool kGrad = true;
  template <class T>
  DIFFLUT_HD T operator()(T g, T, T) const {
    return -g;
  }
};
struct MulGradAF {
  static constexpr bool kGrad = true;
  template <class T>
  DIFFLUT_HD T operator()(T g, T, T b) const {
    return g * b;
  }
};
struct MulGradBF {
  static constexpr bool kGrad = true;
  template <class T>
  DIFFLUT_HD T operator()(T g, T a, T) const {
    return g * a;
  }
};
struct DivGradAF {
  static constexpr bool kGrad = true;
  template <class T>
  DIFFLUT_HD T operator()(T g, T, T b) const {
    return g / b;
  }
};
// d(a/b)/db = -a / b^2
struct DivGradBF {
  static constexpr bool kGrad = true;
  template <class T>
  DIFFLUT_HD T operator()(T g, T a, T b) const {
    return -g * a / (b * b);
  }
};

// Calls fn(functor) with the functor of `op`; used by both backends to instantiate their templates.
template <class Fn>
inline void dispatch_binary_fn(BinaryFn op, Fn&& fn) {
  switch (op) {
    case BinaryFn::add: return fn(AddF{});
    case BinaryFn::sub: return fn(SubF{});
    case BinaryFn::mul: return fn(MulF{});
    case BinaryFn::div: return fn(DivF{});
    case BinaryFn::add_grad_a:
    case BinaryFn::add_grad_b:
    case BinaryFn::sub_grad_a: return fn(PassGradF{});
    case BinaryFn::sub_grad_b: return fn(NegGradF{});
    case BinaryFn::mul_grad_a: return fn(MulGradAF{});
    case BinaryFn::mul_grad_b: return fn(MulGradBF{});
    case BinaryFn::div_grad_a: return fn(DivGradAF{});
    case BinaryFn::div_grad_b: return fn(DivGradBF{});
  }
}

template <class T>
struct AddScalarF {
  T p0, p1;
  DIFFLUT_HD T fwd(T x) const { return x + p0; }
  DIFFLUT_HD T bwd(T, T, T g) const { return g; }
};
template <class T>
struct MulScalarF {
  T p0, p1;
  DIFFLUT_HD T fwd(T x) const { return x * p0; }
  DIFFLUT_HD T bwd(T, T, T g) const { return g * p0; }
};
template <class T>
struct PowScalarF {  // x^p, d/dx = p x^(p-1)
  T p0, p1;
  DIFFLUT_HD T fwd(T x) const { return p0 == T(2) ? x * x : dl_pow(x, p0); }
  DIFFLUT_HD T bwd(T x, T, T g) const {
    if (p0 == T(0)) return T(0);
    if (p0 == T(1)) return g;
    if (p0 == T(2)) return g * T(2) * x;
    return g * p0 * dl_pow(x, p0 - T(1));
  }
};
template <class T>
struct NegF {
  T p0, p1;
  DIFFLUT_HD T fwd(T x) const { return -x; }
  DIFFLUT_HD T bwd(T, T, T g) const { return -g; }
};
template <class T>
struct ExpF {
  T p0, p1;
  DIFFLUT_HD T fwd(T x) const { return dl_exp(x); }
  DIFFLUT_HD T bwd(T, T y, T g) const { return g * y; }
};
template <class T>
struct LogF {
  T p0, p1;
  DIFFLUT_HD T fwd(T x) const { return dl_log(x); }
  DIFFLUT_HD T bwd(T x, T, T g) const { return g / x; }
};
template <class T>
struct SigmoidF {
  T p0, p1;
  DIFFLUT_HD T fwd(T x) const { return T(1) / (T(1) + dl_exp(-x)); }
  DIFFLUT_HD T bwd(T, T y, T g) const { return g * y * (T(1) - y); }
};
template <class T>
struct TanhF {
  T p0, p1;
  DIFFLUT_HD T fwd(T x) const { return dl_tanh(x); }
  DIFFLUT_HD T bwd(T, T y, T g) const { return g * (T(1) - y * y); }
};
template <class T>
struct ClampF {  // [p0, p1]; the gradient passes where lo <= x <= hi
  T p0, p1;
  DIFFLUT_HD T fwd(T x) const { return x < p0 ? p0 : (x > p1 ? p1 : x); }
  DIFFLUT_HD T bwd(T x, T, T g) const { return (x >= p0 && x <= p1) ? g : T(0); }
};
template <class T>
struct ThresholdSteF {  // 1[x >= t]; straight-through gradient
  T p0, p1;
  DIFFLUT_HD T fwd(T x) const { return x >= p0 ? T(1) : T(0); }
  DIFFLUT_HD T bwd(T, T, T g) const { return g; }
};

// Calls fn(functor) with the functor of `op` for element type T, attributes cast to T.
template <class T, class Fn>
inline void dispatch_unary_fn(UnaryFn op, double p0, double p1, Fn&& fn) {
  const T a = static_cast<T>(p0), b = static_cast<T>(p1);
  switch (op) {
    case UnaryFn::add_scalar: return fn(AddScalarF<T>{a, b});
    case UnaryFn::mul_scalar: return fn(MulScalarF<T>{a, b});
    case UnaryFn::pow_scalar: return fn(PowScalarF<T>{a, b});
    case UnaryFn::neg: return fn(NegF<T>{a, b});
    case UnaryFn::exp: return fn(ExpF<T>{a, b});
    case UnaryFn::log: return fn(LogF<T>{a, b});
    case UnaryFn::sigmoid: return fn(SigmoidF<T>{a, b});
    case UnaryFn::tanh: return fn(TanhF<T>{a, b});
    case UnaryFn::clamp: return fn(ClampF<T>{a, b});
    case UnaryFn::threshold_ste: return fn(ThresholdSteF<T>{a, b});
  }
}

}  // namespace difflut
