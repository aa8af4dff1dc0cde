// The built-in "dwn" node as a NodeType: the generic host formulation of the DWN node (same math as
// the dwn_lut op, default EFD constants). Layers use the dwn_lut op; this object makes "dwn" a
// registered name, gives export a truth table, and is a second implementation tests compare with.
#include <vector>

#include "autograd/ops.h"
#include "lut/node_ops.h"
#include "lut/node_registry.h"
#include "lut/nodes/dwn_kernels.h"

namespace difflut {

namespace {
class DwnNodeType final : public NodeType {
 public:
  std::string name() const override { return "dwn"; }
  int64_t num_params(int k) const override { return int64_t{1} << k; }

  void init(Tensor& params, int, Generator& gen) const override {
    // Uniform in [-1, 1), like torch_dwn.
    Tensor u = Tensor::rand(params.shape(), gen, params.dtype());
    DIFFLUT_DISPATCH_FLOAT(params.dtype(), "dwn.init", [&] {
      const scalar_t* up = u.data<scalar_t>();
      scalar_t* p = params.data<scalar_t>();
      for (int64_t i = 0; i < params.numel(); ++i) p[i] = scalar_t(2) * up[i] - scalar_t(1);
    });
  }

  void forward_train(const Tensor& x, const Tensor& params, int k, Tensor& out) const override {
    forward_eval(x, params, k, out);  // bits in training and eval
  }

  void forward_eval(const Tensor& x, const Tensor& params, int k, Tensor& out) const override {
    const int64_t B = x.size(0), N = params.size(0), K = int64_t{1} << k;
    DIFFLUT_DISPATCH_FLOAT(x.dtype(), "dwn", [&] {
      const scalar_t* xp = x.data<scalar_t>();
      const scalar_t* t = params.data<scalar_t>();
      scalar_t* o = out.data<scalar_t>();
      for (int64_t b = 0; b < B; ++b)
        for (int64_t j = 0; j < N; ++j)
          o[b * N + j] =
              t[j * K + address(xp + (b * N + j) * k, k)] > 0 ? scalar_t(1) : scalar_t(0);
    });
  }

  void backward(const Tensor& x, const Tensor& params, int k, const Tensor& grad_out,
                Tensor* grad_x, Tensor* grad_params) const override {
    const int64_t B = x.size(0), N = params.size(0), K = int64_t{1} << k;
    const double alpha = dwn_default_alpha(k), beta = kDwnDefaultBeta;
    DIFFLUT_DISPATCH_FLOAT(x.dtype(), "dwn", [&] {
      const scalar_t* xp = x.data<scalar_t>();
      const scalar_t* t = params.data<scalar_t>();
      const scalar_t* g = grad_out.data<scalar_t>();
      std::vector<double> h(static_cast<size_t>(K * kEfdLanes)), tmp(h.size());
      for (int64_t j = 0; j < N; ++j) {
        if (grad_x) dwn_efd_gradient_table(t + j * K, k, alpha, beta, h.data(), tmp.data());
        for (int64_t b = 0; b < B; ++b) {
          const unsigned a = address(xp + (b * N + j) * k, k);
          const scalar_t gv = g[b * N + j];
          if (grad_params) grad_params->data<scalar_t>()[j * K + a] += gv;
          if (grad_x)
            for (int l = 0; l < k; ++l)
              grad_x->data<scalar_t>()[(b * N + j) * k + l] +=
                  gv * static_cast<scalar_t>(h[static_cast<size_t>(a * kEfdLanes + l)]);
        }
      }
    });
  }

  // Layers run DWN through the fast batched op, not the generic host path.
  Var apply(Var x, Var params, int k, bool) const override { return dwn_lut(x, params, k); }
  std::pair<double, double> param_clamp() const override { return {-1.0, 1.0}; }
  // The regularisers see the soft tables themselves (the forward is their sign).
  Var corner_values(Var params, int) const override { return transpose(params); }

  Tensor truth_table(const Tensor& params, int) const override {
    Tensor tt = Tensor::empty(params.shape(), DType::u8);
    DIFFLUT_DISPATCH_FLOAT(params.dtype(), "dwn.truth_table", [&] {
      const scalar_t* t = params.data<scalar_t>();
      uint8_t* o = tt.data<uint8_t>();
      for (int64_t i = 0; i < params.numel(); ++i) o[i] = t[i] > 0 ? 1 : 0;
    });
    return tt;
  }

 private:
  template <class T>
  static unsigned address(const T* xs, int k) {
    unsigned a = 0;
    for (int l = 0; l < k; ++l) a |= static_cast<unsigned>(xs[l] >= T(0.5)) << l;
    return a;
  }
};
}  // namespace

std::shared_ptr<NodeType> dwn_node_type() {
  static const std::shared_ptr<NodeType> t = std::make_shared<DwnNodeType>();
  return t;
}

}  // namespace difflut
