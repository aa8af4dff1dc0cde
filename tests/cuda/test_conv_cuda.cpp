// Convolutional LUT networks on CUDA against the CPU (skipped without a GPU): the same seed builds
// the same network on both devices; every conv node value (patches, tree levels, pooled bits) must
// match exactly, the conv parameters' gradients to float rounding, and eval predictions exactly.
#include <doctest/doctest.h>

#include "autograd/ops.h"
#include "lut/lut_network.h"
#include "test_util.h"

using namespace difflut;

namespace {

std::shared_ptr<LUTNetwork> make_conv_net(const Tensor& x, Device dev, const std::string& type,
                                          int64_t field_candidates = 0) {
  ThermometerEncoder enc("distributive", 3);
  enc.fit(x);
  LUTNetworkConfig c;
  c.num_features = x.size(1);
  c.num_classes = 4;
  c.image_shape = {1, 4, 5};
  c.conv = {ConvLayerSpec{6, 3, 1, 1, 2, 3, 2}};
  c.conv[0].field_candidates = field_candidates;
  c.hidden_sizes = {40};
  c.k = 4;
  c.node_type = type;
  c.first_mapping = MappingKind::random;
  c.device = dev;
  Generator gen(77);
  return std::make_shared<LUTNetwork>(c, enc, gen);
}

}  // namespace

TEST_CASE("conv LUT network on CUDA matches the CPU: node values, gradients, predictions") {
  DIFFLUT_REQUIRE_GPU();
  for (const char* type : {"dwn", "probabilistic", "linear_lut"}) {
    CAPTURE(type);
    Tensor x, y;
    test::toy_data(48, 20, 4, 9, x, y);
    auto cpu = make_conv_net(x, Device::cpu, type);
    auto gpu = make_conv_net(x, Device::cuda, type);
    Graph gc, gg;
    Var lc = cross_entropy(cpu->forward(gc, gc.input(x, "x")), gc.input(y, "y"));
    Var lg = cross_entropy(gpu->forward(gg, gg.input(x.to(Device::cuda), "x")),
                           gg.input(y.to(Device::cuda), "y"));
    REQUIRE(gc.size() == gg.size());
    int conv_nodes = 0;
    for (size_t id = 0; id < gc.size(); ++id) {
      const Node& a = gc.node(static_cast<int>(id));
      const Node& b = gg.node(static_cast<int>(id));
      CHECK(a.name == b.name);
      if (a.name.rfind("conv", 0) == 0 && a.name.find("params") == std::string::npos) {
        CAPTURE(a.name);
        test::check_close(b.value.to(Device::cpu), a.value, 1e-6, 1e-6);
        ++conv_nodes;
      }
    }
    CHECK(conv_nodes >= 4);  // patches, two levels, out, pool
    gc.backward(lc);
    gg.backward(lg);
    for (int l = 0; l < cpu->conv_layer(0).levels(); ++l)
      test::check_close(gpu->conv_layer(0).level_params(l).grad.to(Device::cpu),
                        cpu->conv_layer(0).level_params(l).grad, 1e-5, 1e-5);
    cpu->eval();
    gpu->eval();
    test::check_equal(gpu->predict(x, 16), cpu->predict(x, 16));
  }
}

TEST_CASE("conv LUT network with a learnable field on CUDA matches the CPU") {
  DIFFLUT_REQUIRE_GPU();
  Tensor x, y;
  test::toy_data(48, 20, 4, 9, x, y);
  // 27 window bits (3 thermometer bits x 3 x 3), 7 candidates per leaf slot.
  auto cpu = make_conv_net(x, Device::cpu, "probabilistic", 7);
  auto gpu = make_conv_net(x, Device::cuda, "probabilistic", 7);
  REQUIRE(cpu->conv_layer(0).learnable_field());
  Graph gc, gg;
  Var lc = cross_entropy(cpu->forward(gc, gc.input(x, "x")), gc.input(y, "y"));
  Var lg = cross_entropy(gpu->forward(gg, gg.input(x.to(Device::cuda), "x")),
                         gg.input(y.to(Device::cuda), "y"));
  REQUIRE(gc.size() == gg.size());
  for (size_t id = 0; id < gc.size(); ++id) {
    const Node& a = gc.node(static_cast<int>(id));
    if (a.name.rfind("conv0.", 0) == 0 && a.name.find("params") == std::string::npos) {
      CAPTURE(a.name);
      test::check_close(gg.node(static_cast<int>(id)).value.to(Device::cpu), a.value, 1e-6, 1e-6);
    }
  }
  gc.backward(lc);
  gg.backward(lg);
  test::check_close(gpu->conv_layer(0).field_weights().grad.to(Device::cpu),
                    cpu->conv_layer(0).field_weights().grad, 1e-5, 1e-5);
  cpu->eval();
  gpu->eval();
  test::check_equal(gpu->predict(x, 16), cpu->predict(x, 16));
}
