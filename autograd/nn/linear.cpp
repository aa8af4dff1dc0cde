// Linear layer: matmul with a [in, out] weight plus a row-broadcast bias.
#include "autograd/nn/linear.h"

#include <cmath>

#include "autograd/ops.h"
#include "tensor/random.h"

namespace difflut {

Tensor uniform_tensor(const Shape& shape, double lo, double hi, Generator& gen, DType dtype,
                      Device device) {
  // Drawn in f64 on the host and scaled there, so the values do not depend on `device`.
  Tensor u = Tensor::rand(shape, gen, DType::f64, Device::cpu);
  double* p = u.data<double>();
  for (int64_t i = 0; i < u.numel(); ++i) p[i] = lo + (hi - lo) * p[i];
  return u.to(dtype).to(device);
}

Linear::Linear(int64_t in_features, int64_t out_features, bool bias, Generator& gen, DType dtype,
               Device device)
    : in_(in_features), out_(out_features) {
  DIFFLUT_CHECK(in_features > 0 && out_features > 0,
                "Linear: expected positive in/out features, found in=", in_features,
                " out=", out_features);
  DIFFLUT_CHECK(is_floating(dtype), "Linear: expected a floating dtype, found ", dtype_name(dtype));
  const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
  weight_ = &register_parameter(
      "weight", uniform_tensor({in_features, out_features}, -bound, bound, gen, dtype, device));
  if (bias)
    bias_ = &register_parameter("bias",
                                uniform_tensor({out_features}, -bound, bound, gen, dtype, device));
}

Var Linear::forward(Graph& g, Var x) {
  DIFFLUT_CHECK(x.value().dim() == 2 && x.size(1) == in_, "Linear: expected input [B, ", in_,
                "], found ", x.value().describe());
  Var y = matmul(x, g.param(*weight_));
  if (bias_) y = add(y, g.param(*bias_));
  return y;
}

}  // namespace difflut
