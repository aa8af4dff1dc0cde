// Per-sample math of the fourier node (the public DiffLUT's FourierNode): a bounded sum of cosines
// over the 2^k half-integer frequency vectors ν_f = ½·bits(f) (bit l of f: input l),
//   y = clamp(b + A Σ_f â_f cos(π Σ_{l ∈ f} x_l + φ_f), 0, 1),  â_f = a_f / (Σ_g |a_g| + 1e-8),
// A = max_amplitude (option, default 8; published ½: the thresholded network of a ½-amplitude
// training answers in the middle of [0, 1], docs/NODES.md has the measurement).
// The published code normalises by Σ_g a_g (option signed_amplitudes): nothing keeps the a_g
// positive, and once training drives their sum near 0 the amplitudes blow up and the node
// saturates (docs/NODES.md has the measurement); Σ |a_g| keeps the bound Σ |â_f| <= 1 that the
// published code states. Checkpoints written before these options existed trained with A = 1 and
// the signed sum, and load as such. Half-integer frequencies make the cosines differ at binary
// corners (integer ones would all be cos(φ_f) there). Eval: 1[y(bits) >= 0.5], i.e. the corner logit is
// the unclamped sum minus ½ (the clamp never moves a value across ½).
// Training evaluates the 2^k cosines as complex products (k sincos per sample instead of 2^k cos +
// 2^k sin; 12x faster epochs, docs/PERFORMANCE.md); eval reads the truth table from corner_logit.
// Params per node: a_0..a_{F-1}, φ_0..φ_{F-1}, b (P = 2F + 1, F = 2^k). The published node uses all
// 2^k frequencies when use_all_frequencies is set and 32 random ones otherwise; we always use all
// (deterministic, and 2^k <= 64 for the k of LUT6 hardware).
#pragma once
#include "lut/nodes/node_init.h"
#include "lut/nodes/node_math_common.h"

namespace difflut::nodes {

struct FourierMath {
  static constexpr bool kUsesOptions = true;
  static constexpr double kPi = 3.14159265358979323846;
  static constexpr double kNormEps = 1e-8;  // the published normalisation's epsilon
  static int num_params(const NodeConsts& c) { return 2 * (1 << c.k) + 1; }
  static void check(const NodeConsts& c, const std::string& who) {
    DIFFLUT_CHECK(std::isfinite(c.max_amplitude) && c.max_amplitude > 0, who,
                  ": expected max_amplitude > 0, found ", c.max_amplitude);
  }
  // The normaliser Σ_g a_g (signed) or Σ_g |a_g|, plus the published epsilon.
  template <class T>
  DIFFLUT_HD static T norm(const T* a, int F, const NodeConsts& c) {
    T sum = T(0);
    for (int f = 0; f < F; ++f) sum += c.signed_amplitudes ? a[f] : (a[f] < T(0) ? -a[f] : a[f]);
    return sum + T(kNormEps);
  }
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
  // q = [A·â_f, cos φ_f, sin φ_f] (F each): the scaled normalised amplitudes and the phases'
  // rotations.
  static int prep_size(const NodeConsts& c) { return 3 << c.k; }
  // Per sample: the 2^k unit complex numbers Z_f = e^{iπ Σ_{l ∈ f} x_l} (re, im planes of F each),
  // then F backward terms dL/d(angle_f).
  static constexpr int scratch_size(int k) { return 3 << k; }

  template <class T>
  DIFFLUT_HD static void prep(const T* p, T* q, const NodeConsts& c) {
    const int F = 1 << c.k;
    const T scale = static_cast<T>(c.max_amplitude) / norm(p, F, c);
    for (int f = 0; f < F; ++f) {
      q[f] = p[f] * scale;
      q[F + f] = node_cos(p[F + f]);
      q[2 * F + f] = node_sin(p[F + f]);
    }
  }
  // Z_f into z (re plane z[0, F), im plane z[F, 2F)): k sincos per sample, then one complex
  // product per frequency, Z_{2^l + i} = Z_i · e^{iπ x_l} for i < 2^l, instead of a cos and a sin per
  // frequency. cos(angle_f) and sin(angle_f) follow from Z_f and the prepared rotation e^{iφ_f}.
  template <class T>
  DIFFLUT_HD static void phasors(const T* x, int k, T* z) {
    const int F = 1 << k;
    z[0] = T(1);
    z[F] = T(0);
    for (int l = 0; l < k; ++l) {
      const T c = node_cos(T(kPi) * x[l]), s = node_sin(T(kPi) * x[l]);
      const int h = 1 << l;
      for (int i = 0; i < h; ++i) {
        const T re = z[i], im = z[F + i];
        z[h + i] = re * c - im * s;
        z[F + h + i] = re * s + im * c;
      }
    }
  }
  // The unclamped output b + A Σ_f â_f cos(angle_f), with the phasors already in z.
  template <class T>
  DIFFLUT_HD static T raw(const T* p, const T* q, int k, const T* z) {
    const int F = 1 << k;
    T y = p[2 * F];
    for (int f = 0; f < F; ++f) y += q[f] * (q[F + f] * z[f] - q[2 * F + f] * z[F + f]);
    return y;
  }
  template <class T>
  DIFFLUT_HD static T forward(const T* x, const T* p, const T* q, const NodeConsts& c, T* s) {
    phasors(x, c.k, s);
    const T y = raw(p, q, c.k, s);
    return y < T(0) ? T(0) : (y > T(1) ? T(1) : y);
  }
  // The clamp passes the gradient where 0 <= y <= 1 (as torch.clamp does, boundaries included).
  template <class T>
  DIFFLUT_HD static void backward(const T* x, const T* p, const T* q, const NodeConsts& c, T g,
                                  T* dx, double* acc, T* s) {
    const int F = 1 << c.k;
    phasors(x, c.k, s);
    const T y = raw(p, q, c.k, s);
    if (y < T(0) || y > T(1)) return;
    T* d_ang = s + 2 * F;  // dL/d(angle_f)
    for (int f = 0; f < F; ++f) {
      const T re = s[f], im = s[F + f], cp = q[F + f], sp = q[2 * F + f];
      d_ang[f] = -g * q[f] * (sp * re + cp * im);  // sin(angle_f) = Im(e^{iφ_f} Z_f)
    }
    // dL/dx_l = π Σ_{f ∋ l} dL/d(angle_f): the frequencies with bit l set come in runs of 2^l.
    for (int l = 0; l < c.k; ++l) {
      const int h = 1 << l;
      T sum = T(0);
      for (int base = h; base < F; base += 2 * h)
        for (int i = 0; i < h; ++i) sum += d_ang[base + i];
      dx[l] += T(kPi) * sum;
    }
    if (acc)
      for (int f = 0; f < F; ++f) {
        const T cs = q[F + f] * s[f] - q[2 * F + f] * s[F + f];  // cos(angle_f)
        acc[f] += static_cast<double>(g * cs);  // dL/d(Aâ_f), turned into dL/da_f by post
        acc[F + f] += static_cast<double>(d_ang[f]);
      }
    if (acc) acc[2 * F] += static_cast<double>(g);
  }
  // dL/da_g = A (dL/dq_g − s_g Σ_f dL/dq_f â_f) / S, q_f = Aâ_f, S the normaliser, s_g = 1
  // (signed) or sign(a_g) (0 at a_g = 0, a subgradient).
  template <class T>
  DIFFLUT_HD static void post(const T* p, const T*, const NodeConsts& c, double* acc) {
    const int F = 1 << c.k;
    double sum = 0;
    for (int f = 0; f < F; ++f) {
      const double a = static_cast<double>(p[f]);
      sum += c.signed_amplitudes ? a : (a < 0 ? -a : a);
    }
    const double inv = 1.0 / (sum + kNormEps);
    double dot = 0;
    for (int f = 0; f < F; ++f) dot += acc[f] * static_cast<double>(p[f]) * inv;
    for (int f = 0; f < F; ++f) {
      const double a = static_cast<double>(p[f]);
      const double sg = c.signed_amplitudes ? 1.0 : (a > 0 ? 1.0 : (a < 0 ? -1.0 : 0.0));
      acc[f] = (acc[f] - sg * dot) * inv * c.max_amplitude;
    }
  }
  template <class T>
  DIFFLUT_HD static T corner_logit(unsigned a, const T* p, const NodeConsts& c, T*) {
    const int F = 1 << c.k;
    const T scale = static_cast<T>(c.max_amplitude) / norm(p, F, c);
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
