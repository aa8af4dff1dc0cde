// Example of a user-defined LUT node type (header-only): a weighted, soft majority vote.
//
//   training: y = σ(Σ_l w_l (2x_l − 1) + b)          params per node: w_0..w_{k-1}, b   (P = k + 1)
//   eval:     y = 1[Σ_l w_l (2·bit_l − 1) + b ≥ 0]   with bit_l = 1[x_l ≥ 0.5]
//
// Initialised to w = 1, b = 0 it is the plain majority vote (ties -> 1); training can re-weight and
// flip inputs. Regularisation: ½·λ·Σ w² over all weights. Register it once, then use it by name:
//
//   difflut::register_node_type(std::make_shared<difflut::examples::SoftMajorityNode>());
//   auto type = difflut::find_node_type("soft_majority");
//   Var y = difflut::custom_lut(x, params, type, k, /*training=*/true);
#pragma once
#include <cmath>
#include <string>
#include <vector>

#include "lut/node_registry.h"

namespace difflut::examples {

class SoftMajorityNode : public NodeType {
 public:
  explicit SoftMajorityNode(double weight_decay = 1e-3) : lambda_(weight_decay) {}

  std::string name() const override { return "soft_majority"; }
  int64_t num_params(int k) const override { return k + 1; }

  void init(Tensor& params, int k, Generator&) const override {
    DIFFLUT_DISPATCH_FLOAT(params.dtype(), "soft_majority.init", [&] {
      scalar_t* p = params.data<scalar_t>();
      for (int64_t j = 0; j < params.size(0); ++j)
        for (int l = 0; l <= k; ++l) p[j * (k + 1) + l] = l < k ? scalar_t(1) : scalar_t(0);
    });
  }

  void forward_train(const Tensor& x, const Tensor& params, int k, Tensor& out) const override {
    DIFFLUT_DISPATCH_FLOAT(x.dtype(), "soft_majority", [&] {
      each<scalar_t>(x, params, k, [&](int64_t i, const scalar_t* xs, const scalar_t* w) {
        out.data<scalar_t>()[i] = static_cast<scalar_t>(sigmoid(preact(xs, w, k)));
      });
    });
  }

  void forward_eval(const Tensor& x, const Tensor& params, int k, Tensor& out) const override {
    DIFFLUT_DISPATCH_FLOAT(x.dtype(), "soft_majority", [&] {
      each<scalar_t>(x, params, k, [&](int64_t i, const scalar_t* xs, const scalar_t* w) {
        out.data<scalar_t>()[i] = eval_bits(xs, w, k) ? scalar_t(1) : scalar_t(0);
      });
    });
  }

  void backward(const Tensor& x, const Tensor& params, int k, const Tensor& grad_out,
                Tensor* grad_x, Tensor* grad_params) const override {
    DIFFLUT_DISPATCH_FLOAT(x.dtype(), "soft_majority", [&] {
      const scalar_t* g = grad_out.data<scalar_t>();
      const int64_t N = params.size(0);
      each<scalar_t>(x, params, k, [&](int64_t i, const scalar_t* xs, const scalar_t* w) {
        const double y = sigmoid(preact(xs, w, k));
        const double d = static_cast<double>(g[i]) * y * (1.0 - y);  // dL/dz
        const int64_t j = i % N;
        for (int l = 0; l < k; ++l) {
          if (grad_x) grad_x->data<scalar_t>()[i * k + l] += static_cast<scalar_t>(d * 2.0 * w[l]);
          if (grad_params)
            grad_params->data<scalar_t>()[j * (k + 1) + l] +=
                static_cast<scalar_t>(d * (2.0 * xs[l] - 1.0));
        }
        if (grad_params) grad_params->data<scalar_t>()[j * (k + 1) + k] += static_cast<scalar_t>(d);
      });
    });
  }

  double regularization(const Tensor& params, int k) const override {
    double s = 0.0;
    DIFFLUT_DISPATCH_FLOAT(params.dtype(), "soft_majority", [&] {
      const scalar_t* p = params.data<scalar_t>();
      for (int64_t j = 0; j < params.size(0); ++j)
        for (int l = 0; l < k; ++l) s += double(p[j * (k + 1) + l]) * double(p[j * (k + 1) + l]);
    });
    return 0.5 * lambda_ * s;
  }

  void regularization_backward(const Tensor& params, int k, double scale,
                               Tensor& grad_params) const override {
    DIFFLUT_DISPATCH_FLOAT(params.dtype(), "soft_majority", [&] {
      const scalar_t* p = params.data<scalar_t>();
      scalar_t* gp = grad_params.data<scalar_t>();
      for (int64_t j = 0; j < params.size(0); ++j)
        for (int l = 0; l < k; ++l)
          gp[j * (k + 1) + l] += static_cast<scalar_t>(scale * lambda_ * p[j * (k + 1) + l]);
    });
  }

  Tensor truth_table(const Tensor& params, int k) const override {
    const int64_t N = params.size(0), K = int64_t{1} << k;
    Tensor tt = Tensor::empty({N, K}, DType::u8);
    DIFFLUT_DISPATCH_FLOAT(params.dtype(), "soft_majority", [&] {
      const scalar_t* p = params.data<scalar_t>();
      std::vector<scalar_t> bits(static_cast<size_t>(k));
      for (int64_t j = 0; j < N; ++j)
        for (int64_t a = 0; a < K; ++a) {
          for (int l = 0; l < k; ++l) bits[static_cast<size_t>(l)] = scalar_t((a >> l) & 1);
          tt.data<uint8_t>()[j * K + a] = eval_bits(bits.data(), p + j * (k + 1), k) ? 1 : 0;
        }
    });
    return tt;
  }

 private:
  static double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

  template <class T>
  static double preact(const T* xs, const T* w, int k) {
    double z = static_cast<double>(w[k]);
    for (int l = 0; l < k; ++l) z += static_cast<double>(w[l]) * (2.0 * xs[l] - 1.0);
    return z;
  }

  template <class T>
  static bool eval_bits(const T* xs, const T* w, int k) {
    double z = static_cast<double>(w[k]);
    for (int l = 0; l < k; ++l) z += static_cast<double>(w[l]) * (xs[l] >= T(0.5) ? 1.0 : -1.0);
    return z >= 0.0;
  }

  // Calls fn(i = b*N + j, node j's inputs in row b, node j's params) for every (b, j).
  template <class T, class Fn>
  static void each(const Tensor& x, const Tensor& params, int k, Fn&& fn) {
    const int64_t B = x.size(0), N = params.size(0);
    const T* xp = x.data<T>();
    const T* p = params.data<T>();
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < N; ++j) fn(b * N + j, xp + (b * N + j) * k, p + j * (k + 1));
  }

  double lambda_;
};

}  // namespace difflut::examples
