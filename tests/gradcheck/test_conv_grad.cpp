// Gradients of convolutional LUT layers in float64: conv_patches -> the node type's tree levels ->
// reshape -> bit_pool, as ConvLUTLayer builds it (its own tables), checked by central differences
// in the input bits and every level's parameters, for every smooth built-in node type.
#include <algorithm>
#include <string>
#include <vector>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "lut/conv_layer.h"
#include "lut/node_registry.h"
#include "lut/nodes/node_types.h"
#include "test_util.h"

using namespace difflut;

TEST_CASE("conv LUT layer: f64 gradients of input and tree parameters by finite differences") {
  // Node types whose backward is a surrogate, not the gradient of the forward (their own tests
  // cover it): excluded as in the node-type gradchecks.
  const std::vector<std::string> surrogate = {"dwn", "hybrid", "dwn_stable", "gradient_stabilized",
                                              "probabilistic_stable"};
  int checked = 0;
  for (const auto& type : builtin_node_types()) {
    if (std::find(surrogate.begin(), surrogate.end(), type->name()) != surrogate.end()) continue;
    CAPTURE(type->name());
    const int k = type->name() == "difflogic" ? 2 : 3;
    ConvLUTOptions o;
    o.input = BitImage::thermometer(1, 5, 4, 2);
    o.out_channels = 2;
    o.kernel = 3;
    o.stride = 1;
    o.padding = 1;
    o.tree_depth = 2;
    o.k = k;
    o.pool = 2;
    o.node_type = type;
    o.dtype = DType::f64;
    Generator gen(3);
    ConvLUTLayer layer(o, gen);
    const int64_t B = 2, F = o.input.size();
    const ConvTable patches = make_conv_table(layer.patch_table(), F, Device::cpu, true, "test");
    const ConvTable pool = make_conv_table(layer.pool_table(), layer.positions() * o.out_channels,
                                           Device::cpu, false, "test");
    std::vector<Tensor> inputs = {test::uniform({B, F}, gen, 0.1, 0.9, DType::f64)};
    for (int l = 0; l < layer.levels(); ++l) inputs.push_back(layer.level_params(l).value.clone());
    const GradcheckResult r = gradcheck(
        [&](Graph&, const std::vector<Var>& v) {
          Var h = conv_patches(v[0], patches);
          for (int l = 0; l < layer.levels(); ++l)
            h = type->apply(h, v[static_cast<size_t>(l) + 1], k, true);
          h = reshape(h, {B, layer.positions() * o.out_channels});
          return bit_pool(h, pool);
        },
        inputs);
    CHECK_MESSAGE(r.ok, r.report);
    ++checked;
  }
  CHECK(checked >= 5);
}
