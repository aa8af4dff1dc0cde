// Per-sample math of the fourier node (the public DiffLUT's FourierNode): a bounded sum of cosines
// over the 2^k half-integer frequency vectors ν_f = ½·bits(f) (bit l of f: input l),
//   y = clamp(b + A Σ_f â_f cos(π Σ_{l ∈ f} x_l + φ_f), 0, 1),  â_f = a_f / (Σ_g a_g + 1e-8),
// A = 1 (max_amplitude). Half-integer frequencies make the cosines differ at binary corners
// (integer ones would all be cos(φ_f) there). Eval: 1[y(bits) >= 0.5], i.e. the corner logit is
// the unclamped sum minus ½ (the clamp never moves a value across ½).
// Params per node: a_0..a_{F-1}, φ_0..φ_{F-1}, b (P = 2F + 1, F = 2^k). The published node uses all
// 2^k frequencies when use_all_frequencies is set and 32 random ones otherwise; we always use all
// (deterministic, and 2^k <= 64 for the k of LUT6 hardware).
#pragma once
#include "lut/nodes/node_init.h"
#include "lut/nodes/node_math_common.h"

namespace difflut::nodes {

struct FourierMath {
  static constexpr double kPi = 3.14159265358979323846;
  static constexpr double kNormEps = 1e-8;  // the published normalisation's epsilon
  static int num_params(const NodeConsts& c) { return 2 * (1 << c.k) + 1; }
  // a ~ U(0, 0.1), φ ~ U(−π, π), b = ½ (the published initialisation).
  static void init(Tensor& p, const NodeConsts& c, Generator& gen) {
    const int F = 1 << c.k;
    Tensor u = Tensor::rand(p.shape(), gen, DType::f64);
    DIFFLUT_DISPATCH_FLOAT(p.dtype(), "fourier.init", [&] {
      const double* up = u.data<double>();
      scalar_t* d = p.data<scalar_t>();
      const int64_t P = p.size(1);
      for (int64_t j = 0; j < p.size(0); ++j)
        for (int64_t i = 0; i < P; ++i) {
          const double v = up[j * P + i];
          d[j * P + i] = static_cast<scalar_t>(i < F       ? 0.1 * v
                                               : i < 2 * F ? kPi * (2 * v - 1)
                                                           : 0.5);
        }
    });
  }
  // q_f = â_f (the normalised amplitudes).
  static int prep_size(const NodeConsts& c) { return 1 << c.k; }
  static constexpr int scratch_size(int) { return 1; }

  template <class T>
  DIFFLUT_HD static void prep(const T* p, T* q, const NodeConsts& c) {
    const int F = 1 << c.k;
    T sum = T(0);
    for (int f = 0; f < F; ++f) sum += p[f];
    const T scale = T(1) / (sum + T(kNormEps));
    for (int f = 0; f < F; ++f) q[f] = p[f] * scale;
  }
  // The angle of frequency f at inputs x: π Σ_{l ∈ f} x_l + φ_f.
  template <class T>
  DIFFLUT_HD static T angle(const T* x, const T* p, int k, int f) {
    T dot = T(0);
    for (int l = 0; l < k; ++l)
      if ((f >> l) & 1) dot += x[l];
    return T(kPi) * dot + p[(1 << k) + f];
  }
  // The unclamped output b + Σ_f â_f cos(angle_f).
  template <class T>
  DIFFLUT_HD static T raw(const T* x, const T* p, const T* q, int k) {
    const int F = 1 << k;
    T y = p[2 * F];
    for (int f = 0; f < F; ++f) y += q[f] * node_cos(angle(x, p, k, f));
    return y;
  }
  template <class T>
  DIFFLUT_HD static T forward(const T* x, const T* p, const T* q, const NodeConsts& c, T*) {
    const T y = raw(x, p, q, c.k);
    return y < T(0) ? T(0) : (y > T(1) ? T(1) : y);
  }
  // The clamp passes the gradient where 0 <= y <= 1 (as torch.clamp does, boundaries included).
  template <class T>
  DIFFLUT_HD static void backward(const T* x, const T* p, const T* q, const NodeConsts& c, T g,
                                  T* dx, double* acc, T*) {
    const int F = 1 << c.k;
    const T y = raw(x, p, q, c.k);
    if (y < T(0) || y > T(1)) return;
    for (int f = 0; f < F; ++f) {
      const T ang = angle(x, p, c.k, f);
      const T cs = node_cos(ang), sn = node_sin(ang);
      const T d_ang = -g * q[f] * sn;  // dL/d(angle_f)
      for (int l = 0; l < c.k; ++l)
        if ((f >> l) & 1) dx[l] += T(kPi) * d_ang;
      if (acc) {
        acc[f] += static_cast<double>(g * cs);  // dL/dâ_f, turned into dL/da_f by post
        acc[F + f] += static_cast<double>(d_ang);
      }
    }
    if (acc) acc[2 * F] += static_cast<double>(g);
  }
  // dL/da_g = (dL/dâ_g − Σ_f dL/dâ_f â_f) / (S + ε), S = Σ_f a_f.
  template <class T>
  DIFFLUT_HD static void post(const T* p, const T*, const NodeConsts& c, double* acc) {
    const int F = 1 << c.k;
    double sum = 0;
    for (int f = 0; f < F; ++f) sum += static_cast<double>(p[f]);
    const double inv = 1.0 / (sum + kNormEps);
    double dot = 0;
    for (int f = 0; f < F; ++f) dot += acc[f] * static_cast<double>(p[f]) * inv;
    for (int f = 0; f < F; ++f) acc[f] = (acc[f] - dot) * inv;
  }
  template <class T>
  DIFFLUT_HD static T corner_logit(unsigned a, const T* p, const NodeConsts& c, T*) {
    const int F = 1 << c.k;
    T sum = T(0);
    for (int f = 0; f < F; ++f) sum += p[f];
    const T scale = T(1) / (sum + T(kNormEps));
    T y = p[2 * F];
    for (int f = 0; f < F; ++f) {
      T ones = T(0);  // |f ∩ a|, summed as the forward sums binary inputs
      for (int l = 0; l < c.k; ++l)
        if (((static_cast<unsigned>(f) & a) >> l) & 1u) ones += T(1);
      y += p[f] * scale * node_cos(T(kPi) * ones + p[F + f]);
    }
    return y - T(0.5);
  }
};

}  // namespace difflut::nodes
