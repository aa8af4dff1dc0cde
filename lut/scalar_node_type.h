// ScalarNodeType<Derived>: a base for custom node types written as per-node scalar functions. The
// user writes what one node does for one sample, templated on the value type T (float or double);
// the base does the rest of the NodeType interface: dtype dispatch, the loops over samples and
// nodes, threads, the truth table, and the sums of the regularisation term. Example:
// lut/examples/soft_majority_node.h.
//
// Derived provides (besides NodeType's name() and num_params(k)):
//   template <class T> T node_forward(const T* x, const T* p, int k) const
//       soft (training) output of one node: its k inputs x, its parameters p [P]
//   template <class T> void node_backward(const T* x, const T* p, int k, T g, T* dx, T* dp) const
//       ADD g·dy/dx_l into dx[l] and g·dy/dp_i into dp[i]
// and optionally:
//   template <class T> bool node_eval(const T* bits, const T* p, int k) const
//       eval output at the address whose input l is bits[l] (0 or 1); default node_forward >= 0.5
//   template <class T> void node_init(T* p, int k) const
//       initial parameters of one node; default: every parameter N(0, 0.1²)
//   template <class T> double node_regularization(const T* p, int k) const
//   template <class T> void node_regularization_backward(const T* p, int k, double scale, T* dp) const
//       one node's term of NodeType::regularization (summed over nodes) and ADD scale·dR/dp into dp
//
// Work is split so results do not depend on the thread count: the forward over samples, the
// backward over nodes (each node's parameter gradient is summed over the batch in ascending order).
#pragma once
#include <algorithm>
#include <vector>

#include "lut/node_registry.h"
#include "lut/nodes/node_init.h"
#include "tensor/parallel.h"

namespace difflut {

template <class Derived>
class ScalarNodeType : public NodeType {
 public:
  void init(Tensor& params, int k, Generator& gen) const override {
    if constexpr (requires(const Derived& d, double* p) { d.node_init(p, 0); }) {
      DIFFLUT_DISPATCH_FLOAT(params.dtype(), name(), [&] {
        for (int64_t j = 0; j < params.size(0); ++j)
          self().node_init(params.data<scalar_t>() + j * params.size(1), k);
      });
    } else {
      nodes::init_normal(params, gen, 0.1);
    }
  }

  void forward_train(const Tensor& x, const Tensor& params, int k, Tensor& out) const override {
    const int64_t B = x.size(0), N = params.size(0), P = params.size(1);
    DIFFLUT_DISPATCH_FLOAT(x.dtype(), name(), [&] {
      const scalar_t* xp = x.data<scalar_t>();
      const scalar_t* p = params.data<scalar_t>();
      scalar_t* y = out.data<scalar_t>();
      parallel_for(0, B, grain(N), [&](int64_t lo, int64_t hi) {
        for (int64_t b = lo; b < hi; ++b)
          for (int64_t j = 0; j < N; ++j)
            y[b * N + j] = self().node_forward(xp + (b * N + j) * k, p + j * P, k);
      });
    });
  }

  void backward(const Tensor& x, const Tensor& params, int k, const Tensor& grad_out,
                Tensor* grad_x, Tensor* grad_params) const override {
    if (!grad_x && !grad_params) return;
    const int64_t B = x.size(0), N = params.size(0), P = params.size(1);
    DIFFLUT_DISPATCH_FLOAT(x.dtype(), name(), [&] {
      const scalar_t* xp = x.data<scalar_t>();
      const scalar_t* p = params.data<scalar_t>();
      const scalar_t* g = grad_out.data<scalar_t>();
      scalar_t* gx = grad_x ? grad_x->data<scalar_t>() : nullptr;
      scalar_t* gp = grad_params ? grad_params->data<scalar_t>() : nullptr;
      parallel_for(0, N, 1, [&](int64_t lo, int64_t hi) {
        std::vector<scalar_t> dx(static_cast<size_t>(k)), dp(static_cast<size_t>(P));
        for (int64_t j = lo; j < hi; ++j)
          for (int64_t b = 0; b < B; ++b) {
            const int64_t i = b * N + j;
            std::fill(dx.begin(), dx.end(), scalar_t(0));
            // Straight into the node's own gradient row when there is one (ascending b).
            scalar_t* dpj = gp ? gp + j * P : dp.data();
            self().node_backward(xp + i * k, p + j * P, k, g[i], dx.data(), dpj);
            if (gx)
              for (int l = 0; l < k; ++l) gx[i * k + l] += dx[static_cast<size_t>(l)];
          }
      });
    });
  }

  bool has_regularization() const override {
    return requires(const Derived& d, const double* p) { d.node_regularization(p, 0); };
  }

  double regularization(const Tensor& params, int k) const override {
    double s = 0.0;
    if constexpr (requires(const Derived& d, const double* p) { d.node_regularization(p, 0); }) {
      DIFFLUT_DISPATCH_FLOAT(params.dtype(), name(), [&] {
        for (int64_t j = 0; j < params.size(0); ++j)
          s += self().node_regularization(params.data<scalar_t>() + j * params.size(1), k);
      });
    }
    return s;
  }

  void regularization_backward(const Tensor& params, int k, double scale,
                               Tensor& grad_params) const override {
    if constexpr (requires(const Derived& d, const double* p, double* dp) {
                    d.node_regularization_backward(p, 0, 1.0, dp);
                  }) {
      const int64_t P = params.size(1);
      DIFFLUT_DISPATCH_FLOAT(params.dtype(), name(), [&] {
        for (int64_t j = 0; j < params.size(0); ++j)
          self().node_regularization_backward(params.data<scalar_t>() + j * P, k, scale,
                                              grad_params.data<scalar_t>() + j * P);
      });
    }
  }

  Tensor truth_table(const Tensor& params, int k) const override {
    const Tensor hp = params.to(Device::cpu);
    const int64_t N = hp.size(0), P = hp.size(1), K = int64_t{1} << k;
    Tensor tt = Tensor::empty({N, K}, DType::u8);
    DIFFLUT_DISPATCH_FLOAT(hp.dtype(), name(), [&] {
      const scalar_t* p = hp.data<scalar_t>();
      uint8_t* t = tt.data<uint8_t>();
      parallel_for(0, N, grain(K), [&](int64_t lo, int64_t hi) {
        std::vector<scalar_t> bits(static_cast<size_t>(k));
        for (int64_t j = lo; j < hi; ++j)
          for (int64_t a = 0; a < K; ++a) {
            for (int l = 0; l < k; ++l) bits[static_cast<size_t>(l)] = scalar_t((a >> l) & 1);
            t[j * K + a] = eval(bits.data(), p + j * P, k) ? 1 : 0;
          }
      });
    });
    return tt;
  }

 private:
  const Derived& self() const { return static_cast<const Derived&>(*this); }

  template <class T>
  bool eval(const T* bits, const T* p, int k) const {
    if constexpr (requires(const Derived& d) { d.node_eval(bits, p, k); })
      return self().node_eval(bits, p, k);
    else
      return self().node_forward(bits, p, k) >= T(0.5);
  }

  // Rows (or nodes) per task so a task holds a few thousand node evaluations.
  static int64_t grain(int64_t per_row) {
    return std::max<int64_t>(1, 4096 / std::max<int64_t>(1, per_row));
  }
};

}  // namespace difflut
