// Example of a user-defined LUT node type (header-only): a weighted, soft majority vote, written
// as per-node scalar functions on the ScalarNodeType base (lut/scalar_node_type.h), which does the
// dtype dispatch, loops, threads and the truth table.
//
//   training: y = σ(Σ_l w_l (2x_l − 1) + b)          params per node: w_0..w_{k-1}, b   (P = k + 1)
//   eval:     y = 1[Σ_l w_l (2·bit_l − 1) + b ≥ 0]
//
// Initialised to w = 1, b = 0 it is the plain majority vote (ties -> 1); training can re-weight and
// flip inputs. Regularisation: ½·λ·Σ w² over all weights (LUTLayer::node_regularization adds it).
// Register it once, then use it by name (LUTLayerOptions::node_type_name = "soft_majority"):
//
//   difflut::register_node_type(std::make_shared<difflut::examples::SoftMajorityNode>());
#pragma once
#include <cmath>
#include <string>

#include "lut/scalar_node_type.h"

namespace difflut::examples {

class SoftMajorityNode : public ScalarNodeType<SoftMajorityNode> {
 public:
  explicit SoftMajorityNode(double weight_decay = 1e-3) : lambda_(weight_decay) {}
  std::string name() const override { return "soft_majority"; }
  int64_t num_params(int k) const override { return k + 1; }

  template <class T>
  void node_init(T* p, int k) const {
    for (int l = 0; l <= k; ++l) p[l] = l < k ? T(1) : T(0);
  }
  template <class T>
  T node_forward(const T* x, const T* p, int k) const {
    return static_cast<T>(1.0 / (1.0 + std::exp(-logit(x, p, k))));
  }
  template <class T>
  void node_backward(const T* x, const T* p, int k, T g, T* dx, T* dp) const {
    const double y = 1.0 / (1.0 + std::exp(-logit(x, p, k)));
    const double d = static_cast<double>(g) * y * (1.0 - y);  // dL/dz
    for (int l = 0; l < k; ++l) {
      dx[l] += static_cast<T>(d * 2.0 * p[l]);
      dp[l] += static_cast<T>(d * (2.0 * x[l] - 1.0));
    }
    dp[k] += static_cast<T>(d);
  }
  template <class T>
  bool node_eval(const T* bits, const T* p, int k) const {
    return logit(bits, p, k) >= 0.0;
  }
  template <class T>
  double node_regularization(const T* p, int k) const {
    double s = 0.0;
    for (int l = 0; l < k; ++l) s += double(p[l]) * double(p[l]);
    return 0.5 * lambda_ * s;
  }
  template <class T>
  void node_regularization_backward(const T* p, int k, double scale, T* dp) const {
    for (int l = 0; l < k; ++l) dp[l] += static_cast<T>(scale * lambda_ * p[l]);
  }

 private:
  template <class T>
  static double logit(const T* x, const T* p, int k) {
    double z = static_cast<double>(p[k]);
    for (int l = 0; l < k; ++l) z += static_cast<double>(p[l]) * (2.0 * x[l] - 1.0);
    return z;
  }

  double lambda_;
};

}  // namespace difflut::examples
