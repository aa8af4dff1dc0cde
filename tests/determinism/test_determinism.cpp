// Same seed, same device -> bit-identical parameters after training steps (CPU, and CUDA when a
// GPU is present).
#include "autograd/nn/linear.h"
#include "autograd/ops.h"
#include "autograd/optim/adam.h"
#include "autograd/optim/sgd.h"
#include "lut/lut_network.h"
#include "tensor/parallel.h"
#include "tensor/random.h"
#include "test_networks.h"
#include "test_util.h"

using namespace difflut;

namespace {

// Parameters fed through relu (an op every build has) so gradients come from the graph engine.
struct ReluModel : Module {
  Parameter *w, *table;
  ReluModel(Generator& gen, Device dev) {
    w = &register_parameter("w", uniform_tensor({64, 33}, -1, 1, gen, DType::f32, dev));
    table = &register_parameter("table", uniform_tensor({16, 64}, -1, 1, gen, DType::f32, dev));
    table->clamp_min = -1.0;
    table->clamp_max = 1.0;
  }
};

template <class Opt, class Options>
std::vector<Tensor> train_relu_model(uint64_t seed, Device dev, const Options& o, int steps) {
  Generator gen(seed);
  ReluModel m(gen, dev);
  Opt opt(m, o);
  for (int s = 0; s < steps; ++s) {
    opt.zero_grad();
    Graph g;
    Var a = relu(g.param(*m.w));
    Var b = relu(g.param(*m.table));
    g.backward(a, Tensor::randn(a.shape(), gen, DType::f32, dev));
    g.backward(b, Tensor::randn(b.shape(), gen, DType::f32, dev));
    opt.step();
  }
  return {m.w->value.to(Device::cpu), m.table->value.to(Device::cpu)};
}

void check_runs(Device dev) {
  AdamOptions ao;
  ao.lr = 0.05;
  auto a1 = train_relu_model<Adam>(11, dev, ao, 20);
  auto a2 = train_relu_model<Adam>(11, dev, ao, 20);
  auto a3 = train_relu_model<Adam>(12, dev, ao, 20);
  for (size_t i = 0; i < a1.size(); ++i) test::check_equal(a1[i], a2[i]);
  CHECK(test::max_abs_diff(a1[0], a3[0]) > 0.0);
  SGDOptions so;
  so.lr = 0.1;
  so.momentum = 0.9;
  so.nesterov = true;
  auto s1 = train_relu_model<SGD>(5, dev, so, 20);
  auto s2 = train_relu_model<SGD>(5, dev, so, 20);
  for (size_t i = 0; i < s1.size(); ++i) test::check_equal(s1[i], s2[i]);
}

// A two-layer perceptron trained with cross-entropy on random data.
std::vector<Tensor> train_mlp(uint64_t seed, Device dev, int steps) {
  Generator gen(seed);
  Sequential net;
  net.push_back(std::make_shared<Linear>(20, 32, true, gen, DType::f32, dev));
  struct Relu : Module {
    Var forward(Graph&, Var x) override { return relu(x); }
  };
  net.push_back(std::make_shared<Relu>());
  net.push_back(std::make_shared<Linear>(32, 5, true, gen, DType::f32, dev));
  AdamW opt(net, AdamW::default_options());
  for (int s = 0; s < steps; ++s) {
    opt.zero_grad();
    Graph g;
    Var x = g.input(Tensor::randn({16, 20}, gen, DType::f32, dev));
    Var y = g.input(Tensor::randint({16}, 0, 5, gen, DType::i64, dev));
    Var loss = cross_entropy(net(g, x), y);
    g.backward(loss);
    opt.step();
  }
  std::vector<Tensor> out;
  for (Parameter* p : net.parameters()) out.push_back(p->value.to(Device::cpu));
  return out;
}

// A LUT network with sparse mappings in both layers, a few Adam steps on random data; returns
// every parameter (node tables and sparse W) and the mapping choices.
std::vector<Tensor> train_sparse_lut(uint64_t seed, Device dev, int steps) {
  Generator gen(seed);
  Tensor x = Tensor::rand({48, 10}, gen);
  Tensor y = Tensor::randint({48}, 0, 3, gen, DType::i64);
  ThermometerEncoder enc("distributive", 3);
  enc.fit(x);
  LUTNetworkConfig c = test::small_sparse_config(10, 3, {60, 24}, 4, 6);
  c.device = dev;
  LUTNetwork net(c, enc, gen);
  AdamOptions ao;
  ao.lr = 0.05;
  Adam opt(net, ao);
  for (int s = 0; s < steps; ++s) {
    opt.zero_grad();
    Graph g;
    Var loss = cross_entropy(net.forward(g, g.input(x.to(dev))), g.input(y.to(dev)));
    g.backward(loss);
    opt.step();
  }
  std::vector<Tensor> out;
  for (Parameter* p : net.parameters()) out.push_back(p->value.to(Device::cpu));
  for (size_t i = 0; i < net.num_layers(); ++i) {
    out.push_back(net.layer(i).mapping_candidates());
    out.push_back(net.layer(i).mapping_indices());
  }
  return out;
}

void check_sparse_lut(Device dev) {
  auto a = train_sparse_lut(21, dev, 8);
  auto b = train_sparse_lut(21, dev, 8);
  auto c = train_sparse_lut(22, dev, 8);
  REQUIRE(a.size() == 8);  // params + W per layer, candidates + choice per layer
  for (size_t i = 0; i < a.size(); ++i) test::check_equal(a[i], b[i]);
  CHECK(test::max_abs_diff(a[1], c[1]) > 0.0);  // another seed: other W
}

// A LUT network with two conv layers (padding, pooling, a depth-2 tree) under a few Adam steps;
// returns every parameter and the receptive fields.
std::vector<Tensor> train_conv_lut(uint64_t seed, Device dev, int steps) {
  Generator gen(seed);
  Tensor x = Tensor::rand({24, 2 * 6 * 5}, gen);
  Tensor y = Tensor::randint({24}, 0, 3, gen, DType::i64);
  ThermometerEncoder enc("distributive", 2);
  enc.fit(x);
  LUTNetworkConfig c;
  c.num_features = 60;
  c.num_classes = 3;
  c.image_shape = {2, 6, 5};
  c.conv = {ConvLayerSpec{4, 3, 1, 1, 2, 3, 2}, ConvLayerSpec{5, 2, 1, 0, 1, 0, 1}};
  c.hidden_sizes = {24, 12};
  c.k = 4;
  c.node_type = "probabilistic";
  c.first_mapping = MappingKind::random;
  c.device = dev;
  LUTNetwork net(c, enc, gen);
  AdamOptions ao;
  ao.lr = 0.05;
  Adam opt(net, ao);
  for (int s = 0; s < steps; ++s) {
    opt.zero_grad();
    Graph g;
    Var loss = cross_entropy(net.forward(g, g.input(x.to(dev))), g.input(y.to(dev)));
    g.backward(loss);
    opt.step();
  }
  std::vector<Tensor> out;
  for (Parameter* p : net.parameters()) out.push_back(p->value.to(Device::cpu));
  for (size_t i = 0; i < net.num_conv_layers(); ++i)
    out.push_back(net.conv_layer(i).receptive_field());
  return out;
}

}  // namespace

TEST_CASE("a conv LUT network trained from one seed ends bit-identical, 1 or 2 CPU threads") {
  const int threads = num_threads();
  set_num_threads(1);
  const auto a = train_conv_lut(31, Device::cpu, 6);
  set_num_threads(2);
  const auto b = train_conv_lut(31, Device::cpu, 6);
  set_num_threads(threads);
  const auto c = train_conv_lut(32, Device::cpu, 6);
  REQUIRE(a.size() == 2 + 1 + 2 + 2);  // conv levels, dense tables, receptive fields
  for (size_t i = 0; i < a.size(); ++i) test::check_equal(a[i], b[i]);
  CHECK(test::max_abs_diff(a[0], c[0]) > 0.0);
}

TEST_CASE("a conv LUT network trained twice from one seed ends bit-identical (CUDA)") {
  DIFFLUT_REQUIRE_GPU();
  const auto a = train_conv_lut(31, Device::cuda, 6);
  const auto b = train_conv_lut(31, Device::cuda, 6);
  for (size_t i = 0; i < a.size(); ++i) test::check_equal(a[i], b[i]);
}

TEST_CASE("a sparse-mapping LUT network trained twice from one seed ends bit-identical (CPU)") {
  check_sparse_lut(Device::cpu);
}

TEST_CASE("a sparse-mapping LUT network trained twice from one seed ends bit-identical (CUDA)") {
  DIFFLUT_REQUIRE_GPU();
  check_sparse_lut(Device::cuda);
}

TEST_CASE("same seed gives bit-identical parameters after 20 optimizer steps on the CPU") {
  check_runs(Device::cpu);
}

TEST_CASE("same seed gives bit-identical parameters after 20 optimizer steps on CUDA") {
  DIFFLUT_REQUIRE_GPU();
  check_runs(Device::cuda);
}

TEST_CASE("an MLP trained twice from one seed ends bit-identical (CPU)") {
  auto a = train_mlp(3, Device::cpu, 10);
  auto b = train_mlp(3, Device::cpu, 10);
  REQUIRE(a.size() == 4);
  for (size_t i = 0; i < a.size(); ++i) test::check_equal(a[i], b[i]);
}

TEST_CASE("an MLP trained twice from one seed ends bit-identical (CUDA)") {
  DIFFLUT_REQUIRE_GPU();
  auto a = train_mlp(3, Device::cuda, 10);
  auto b = train_mlp(3, Device::cuda, 10);
  for (size_t i = 0; i < a.size(); ++i) test::check_equal(a[i], b[i]);
}
