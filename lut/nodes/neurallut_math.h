// Per-sample math of the neurallut node (NeuraLUT, Andronic & Constantinides 2024): a small MLP per
// node with ReLU between layers and a sigmoid output; eval 1[logit(bits) >= 0].
//
// Layers i = 0..depth-1: in_i = (i == 0 ? k : width), out_i = (i == depth-1 ? 1 : width);
// z_i = W_i h_i + b_i (+ S_i x + c_i when skip > 0, i > 0 and i % skip == 0: a skip connection
// from the node's inputs, as in the original DiffLUT), h_0 = x, h_{i+1} = relu(z_i).
// Params per node, layer after layer: W_i [out_i, in_i] row-major, b_i [out_i], then (skip layers)
// S_i [out_i, k], c_i [out_i]. The original's logistic noise and temperature annealing of the
// training output are not applied: the training output is σ(logit), deterministic.
#pragma once
#include "lut/nodes/node_init.h"
#include "lut/nodes/node_math_common.h"

namespace difflut::nodes {

struct NeuralLutMath {
  static constexpr bool kUsesOptions = true;
  static void check(const NodeConsts& c, const std::string& who) {
    DIFFLUT_CHECK(c.width >= 1 && c.width <= kNeuralMaxWidth, who,
                  ": expected hidden_width in [1, ", kNeuralMaxWidth, "], found ", c.width);
    DIFFLUT_CHECK(c.depth >= 1 && c.depth <= kNeuralMaxDepth, who,
                  ": expected depth (linear layers) in [1, ", kNeuralMaxDepth, "], found ",
                  c.depth);
    DIFFLUT_CHECK(c.skip >= 0, who, ": expected skip_interval >= 0 (0: none), found ", c.skip);
  }
  static constexpr int kZSize = kNeuralMaxDepth * kNeuralMaxWidth;
  static int prep_size(const NodeConsts&) { return 0; }
  static constexpr int scratch_size(int) { return kZSize + 2 * kNeuralMaxWidth; }

  DIFFLUT_HD static int in_dim(const NodeConsts& c, int i) { return i == 0 ? c.k : c.width; }
  DIFFLUT_HD static int out_dim(const NodeConsts& c, int i) {
    return i == c.depth - 1 ? 1 : c.width;
  }
  DIFFLUT_HD static bool has_skip(const NodeConsts& c, int i) {
    return c.skip > 0 && i > 0 && i % c.skip == 0;
  }
  // Parameters of layer i (weights, bias and its skip connection, if any).
  DIFFLUT_HD static int layer_params(const NodeConsts& c, int i) {
    const int o = out_dim(c, i);
    return o * in_dim(c, i) + o + (has_skip(c, i) ? o * c.k + o : 0);
  }
  static int num_params(const NodeConsts& c) {
    int n = 0;
    for (int i = 0; i < c.depth; ++i) n += layer_params(c, i);
    return n;
  }
  // PyTorch's nn.Linear default per layer: weights and biases ~ U(−1/√fan_in, 1/√fan_in).
  static void init(Tensor& p, const NodeConsts& c, Generator& gen) {
    std::vector<double> bound;
    auto fill = [&](int64_t n, int fan_in) {
      bound.insert(bound.end(), n, 1.0 / std::sqrt(fan_in));
    };
    for (int i = 0; i < c.depth; ++i) {
      const int in = in_dim(c, i), out = out_dim(c, i);
      fill(int64_t{out} * in + out, in);
      if (has_skip(c, i)) fill(int64_t{out} * c.k + out, c.k);
    }
    init_uniform(p, gen, bound);
  }

  // Forward through every layer; pre-activations of layer i go to z + i*kNeuralMaxWidth.
  template <class T>
  DIFFLUT_HD static T logit(const T* x, const T* p, const NodeConsts& c, T* z) {
    int off = 0;
    for (int i = 0; i < c.depth; ++i) {
      const int in = in_dim(c, i), out = out_dim(c, i);
      const T* W = p + off;
      const T* b = W + out * in;
      const T* hin = i == 0 ? x : z + (i - 1) * kNeuralMaxWidth;  // pre-activations of layer i-1
      T* zi = z + i * kNeuralMaxWidth;
      for (int o = 0; o < out; ++o) {
        T s = b[o];
        for (int u = 0; u < in; ++u) {
          const T h = i == 0 ? hin[u] : (hin[u] > T(0) ? hin[u] : T(0));
          s += W[o * in + u] * h;
        }
        zi[o] = s;
      }
      if (has_skip(c, i)) {
        const T* S = b + out;
        const T* cs = S + out * c.k;
        for (int o = 0; o < out; ++o) {
          T s = cs[o];
          for (int l = 0; l < c.k; ++l) s += S[o * c.k + l] * x[l];
          zi[o] += s;
        }
      }
      off += layer_params(c, i);
    }
    return z[(c.depth - 1) * kNeuralMaxWidth];
  }
  template <class T>
  DIFFLUT_HD static void prep(const T*, T*, const NodeConsts&) {}
  template <class T>
  DIFFLUT_HD static T forward(const T* x, const T* p, const T*, const NodeConsts& c, T* s) {
    return node_sigmoid(logit(x, p, c, s));
  }
  template <class T>
  DIFFLUT_HD static void backward(const T* x, const T* p, const T*, const NodeConsts& c, T g, T* dx,
                                  double* acc, T* s) {
    T* z = s;
    T* dcur = s + kZSize;               // dL/dz_i
    T* dnext = dcur + kNeuralMaxWidth;  // dL/dz_{i-1}
    const T y = node_sigmoid(logit(x, p, c, z));
    dcur[0] = g * y * (T(1) - y);
    int off = 0;
    for (int i = 0; i < c.depth; ++i) off += layer_params(c, i);
    for (int i = c.depth - 1; i >= 0; --i) {
      off -= layer_params(c, i);
      const int in = in_dim(c, i), out = out_dim(c, i);
      const T* W = p + off;
      const T* zin = z + (i - 1) * kNeuralMaxWidth;  // valid for i > 0
      if (acc) {
        double* dW = acc + off;
        double* db = dW + out * in;
        for (int o = 0; o < out; ++o) {
          for (int u = 0; u < in; ++u) {
            const T h = i == 0 ? x[u] : (zin[u] > T(0) ? zin[u] : T(0));
            dW[o * in + u] += static_cast<double>(dcur[o] * h);
          }
          db[o] += static_cast<double>(dcur[o]);
        }
      }
      if (has_skip(c, i)) {
        const T* S = W + out * in + out;
        for (int o = 0; o < out; ++o)
          for (int l = 0; l < c.k; ++l) dx[l] += S[o * c.k + l] * dcur[o];
        if (acc) {
          double* dS = acc + off + out * in + out;
          double* dc = dS + out * c.k;
          for (int o = 0; o < out; ++o) {
            for (int l = 0; l < c.k; ++l) dS[o * c.k + l] += static_cast<double>(dcur[o] * x[l]);
            dc[o] += static_cast<double>(dcur[o]);
          }
        }
      }
      for (int u = 0; u < in; ++u) {
        T d = T(0);
        for (int o = 0; o < out; ++o) d += W[o * in + u] * dcur[o];
        if (i == 0)
          dx[u] += d;
        else
          dnext[u] = zin[u] > T(0) ? d : T(0);  // ReLU'(0) = 0, as in PyTorch
      }
      T* t = dcur;
      dcur = dnext;
      dnext = t;
    }
  }
  template <class T>
  DIFFLUT_HD static void post(const T*, const T*, const NodeConsts&, double*) {}
  template <class T>
  DIFFLUT_HD static T corner_logit(unsigned a, const T* p, const NodeConsts& c, T* s) {
    return logit_at_corner<NeuralLutMath>(a, p, c, s);
  }
};

}  // namespace difflut::nodes
