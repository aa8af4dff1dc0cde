// LUT networks on CUDA against the CPU: the same seed builds the same network on both devices, whose
// forward (bits and logits) must match exactly, and whose one Adam step must give the same
// parameters (within 1e-6) and the same mappings.
#include <doctest/doctest.h>

#include <vector>

#include "autograd/ops.h"
#include "autograd/optim/adam.h"
#include "lut/lut_network.h"
#include "lut/sparse_refresh.h"
#include "test_networks.h"
#include "test_util.h"

using namespace difflut;
using test::toy_data;


namespace {


std::shared_ptr<LUTNetwork> make_net(MappingKind first, const Tensor& x, Device dev,
                                     MappingKind later = MappingKind::random) {
  ThermometerEncoder enc("distributive", 3);
  enc.fit(x);
  LUTNetworkConfig c = test::small_config(x.size(1), 4, {96, 40}, 6);
  c.first_mapping = first;
  c.later_mapping = later;
  c.device = dev;
  Generator gen(123);
  return std::make_shared<LUTNetwork>(c, enc, gen);
}

// Builds the network on both devices, checks the forward, takes one Adam step on each and
// compares everything that changed.
void compare_devices(MappingKind first, MappingKind later = MappingKind::random) {
  Tensor x, y;
  toy_data(48, 20, 4, 9, x, y);
  auto cpu = make_net(first, x, Device::cpu, later);
  auto gpu = make_net(first, x, Device::cuda, later);
  for (size_t i = 0; i < cpu->num_layers(); ++i) {
    test::check_equal(gpu->layer(i).node_params().value.to(Device::cpu),
                      cpu->layer(i).node_params().value);
    test::check_equal(gpu->layer(i).mapping_indices(), cpu->layer(i).mapping_indices());
  }

  Graph gc, gg;
  Var lc = cross_entropy(cpu->forward(gc, gc.input(x, "x")), gc.input(y, "y"));
  Var lg = cross_entropy(gpu->forward(gg, gg.input(x.to(Device::cuda), "x")),
                         gg.input(y.to(Device::cuda), "y"));
  // Every node value: the bit layers exactly, the logits and loss to float rounding.
  REQUIRE(gc.size() == gg.size());
  for (size_t id = 0; id < gc.size(); ++id) {
    const Node& a = gc.node(static_cast<int>(id));
    const Node& b = gg.node(static_cast<int>(id));
    CHECK(a.name == b.name);
    if (a.name.find(".nodes") != std::string::npos ||
        a.name.find(".mapping") != std::string::npos || a.name == "encoder") {
      test::check_equal(b.value.to(Device::cpu), a.value);
    }
  }
  test::check_close(lg.value().to(Device::cpu), lc.value(), 1e-6, 1e-6);

  AdamOptions ao;
  ao.lr = 1e-2;
  Adam oc(*cpu, ao), og(*gpu, ao);
  oc.zero_grad();
  og.zero_grad();
  gc.backward(lc);
  gg.backward(lg);
  oc.step();
  og.step();
  // Adam's first step moves each weight by about lr·g/(|g| + eps): where a gradient cancels to
  // nearly zero, f32 summation-order differences between the devices change that step visibly (an
  // H200 run showed 2 of 34560 mapping weights 1.6e-5 apart), so parameters are compared at 1e-4
  // (1 % of lr); the mapping indices, which decide the forward pass, must still agree exactly.
  for (size_t i = 0; i < cpu->num_layers(); ++i) {
    test::check_close(gpu->layer(i).node_params().value.to(Device::cpu),
                      cpu->layer(i).node_params().value, 1e-4, 1e-6);
    if (cpu->layer(i).mapping_weights())
      test::check_close(gpu->layer(i).mapping_weights()->value.to(Device::cpu),
                        cpu->layer(i).mapping_weights()->value, 1e-4, 1e-6);
    test::check_equal(gpu->layer(i).mapping_indices(), cpu->layer(i).mapping_indices());
  }
  // Predictions after the step (eval mode, large batches) agree too.
  cpu->eval();
  gpu->eval();
  test::check_equal(gpu->predict(x, 32), cpu->predict(x, 32));
}

// The same network with sparse mappings in every layer on both devices, and its toy data.
struct SparsePair {
  Tensor x, y;
  std::shared_ptr<LUTNetwork> cpu, gpu;
};
SparsePair sparse_pair() {
  SparsePair p;
  toy_data(48, 20, 4, 9, p.x, p.y);
  p.cpu = make_net(MappingKind::sparse, p.x, Device::cpu, MappingKind::sparse);
  p.gpu = make_net(MappingKind::sparse, p.x, Device::cuda, MappingKind::sparse);
  return p;
}

}  // namespace

TEST_CASE("LUT network on CUDA matches the CPU: cyclic + random mappings, forward and one step") {
  DIFFLUT_REQUIRE_GPU();
  compare_devices(MappingKind::cyclic);
}

TEST_CASE(
    "LUT network on CUDA matches the CPU: learnable + random mappings, forward and one step") {
  DIFFLUT_REQUIRE_GPU();
  compare_devices(MappingKind::learnable);
}

TEST_CASE(
    "LUT network on CUDA matches the CPU: sparse mappings in every layer, forward and one step") {
  DIFFLUT_REQUIRE_GPU();
  compare_devices(MappingKind::sparse, MappingKind::sparse);
}

TEST_CASE("sparse candidate refresh on CUDA: W rewritten on the device, as on the CPU") {
  DIFFLUT_REQUIRE_GPU();
  SparsePair n = sparse_pair();
  const Tensor& x = n.x;
  auto &cpu = n.cpu, &gpu = n.gpu;
  for (size_t i = 0; i < cpu->num_layers(); ++i) {
    Generator gc(5 + i), gg(5 + i);
    CHECK(refresh_sparse_layer(gpu->layer(i), 3, gg) == refresh_sparse_layer(cpu->layer(i), 3, gc));
    CHECK(gpu->layer(i).mapping_weights()->value.device() == Device::cuda);
    test::check_equal(gpu->layer(i).mapping_weights()->value.to(Device::cpu),
                      cpu->layer(i).mapping_weights()->value);
    test::check_equal(gpu->layer(i).mapping_candidates(), cpu->layer(i).mapping_candidates());
  }
  cpu->eval();
  gpu->eval();
  test::check_equal(gpu->predict(x, 32), cpu->predict(x, 32));
}

TEST_CASE("gradient probe on CUDA: the same sums and the same guided refresh as on the CPU") {
  DIFFLUT_REQUIRE_GPU();
  SparsePair n = sparse_pair();
  const Tensor &x = n.x, &y = n.y;
  auto &cpu = n.cpu, &gpu = n.gpu;
  std::vector<SparseProbe> pc, pg;
  for (size_t i = 0; i < cpu->num_layers(); ++i) {
    Generator gc(7 + i), gg(7 + i);
    pc.push_back(
        draw_sparse_probe(cpu->layer(i).mapping_candidates(), cpu->layer(i).input_size(), 16, gc));
    pg.push_back(
        draw_sparse_probe(gpu->layer(i).mapping_candidates(), gpu->layer(i).input_size(), 16, gg));
  }
  for (size_t i = 0; i < cpu->num_layers(); ++i) {
    cpu->layer(i).set_probe(&pc[i]);
    gpu->layer(i).set_probe(&pg[i]);
  }
  Graph gc, gg;
  gc.backward(cross_entropy(cpu->forward(gc, gc.input(x, "x")), gc.input(y, "y")));
  gg.backward(cross_entropy(gpu->forward(gg, gg.input(x.to(Device::cuda), "x")),
                            gg.input(y.to(Device::cuda), "y")));
  for (size_t i = 0; i < cpu->num_layers(); ++i) {
    cpu->layer(i).collect_probe(gc);
    gpu->layer(i).collect_probe(gg);
    cpu->layer(i).set_probe(nullptr);
    gpu->layer(i).set_probe(nullptr);
    REQUIRE(pg[i].steps == 1);
    for (size_t e = 0; e < pc[i].sum.size(); ++e)
      CHECK(pg[i].sum[e] == doctest::Approx(pc[i].sum[e]).epsilon(1e-4).scale(1e-6));
    // Both refreshed from the CPU's sums (float rounding could reorder near-equal t values).
    const int64_t replaced = refresh_sparse_layer_guided(cpu->layer(i), pc[i], 3, 0.0);
    CHECK(replaced > 0);
    CHECK(refresh_sparse_layer_guided(gpu->layer(i), pc[i], 3, 0.0) == replaced);
    CHECK(gpu->layer(i).mapping_weights()->value.device() == Device::cuda);
    test::check_equal(gpu->layer(i).mapping_weights()->value.to(Device::cpu),
                      cpu->layer(i).mapping_weights()->value);
    test::check_equal(gpu->layer(i).mapping_candidates(), cpu->layer(i).mapping_candidates());
  }
}

TEST_CASE("LUT network moved to CUDA with to_device predicts like the CPU original") {
  DIFFLUT_REQUIRE_GPU();
  Tensor x, y;
  toy_data(40, 20, 4, 3, x, y);
  auto net = make_net(MappingKind::random, x, Device::cpu);
  net->eval();
  const Tensor want = net->logits(x, 16);
  net->to_device(Device::cuda);
  test::check_equal(net->logits(x, 16), want);
  net->to_device(Device::cpu);
  test::check_equal(net->logits(x, 16), want);
}

TEST_CASE("a CPU-built sparse network moved to CUDA trains on the generic path, and back") {
  DIFFLUT_REQUIRE_GPU();
  Tensor x, y;
  toy_data(48, 20, 4, 9, x, y);
  auto moved = make_net(MappingKind::sparse, x, Device::cpu, MappingKind::sparse);
  auto built = make_net(MappingKind::sparse, x, Device::cuda, MappingKind::sparse);
  REQUIRE(moved->layer(0).sparse_fused_update_active());
  CHECK_FALSE(built->layer(0).sparse_fused_update_active());
  moved->to_device(Device::cuda);
  CHECK_FALSE(moved->layer(0).sparse_fused_update_active());
  // One Adam step each on the GPU: the same generic kernels on the same values, the same bits.
  const auto step = [&](LUTNetwork& net, Device dev) {
    AdamOptions ao;
    ao.lr = 1e-2;
    Adam opt(net, ao);
    Graph g;
    Var loss = cross_entropy(net.forward(g, g.input(x.to(dev), "x")), g.input(y.to(dev), "y"));
    opt.zero_grad();
    g.backward(loss);
    opt.step();
  };
  step(*moved, Device::cuda);
  step(*built, Device::cuda);
  for (size_t i = 0; i < moved->num_layers(); ++i)
    test::check_equal(moved->layer(i).mapping_weights()->value.to(Device::cpu),
                      built->layer(i).mapping_weights()->value.to(Device::cpu));
  // Back on the CPU the fused update is installed again and trains.
  moved->to_device(Device::cpu);
  CHECK(moved->layer(0).sparse_fused_update_active());
  step(*moved, Device::cpu);
  // A backward waiting in the fused update cannot follow a move: refused before anything moves.
  Graph g;
  g.backward(cross_entropy(moved->forward(g, g.input(x, "x")), g.input(y, "y")));
  CHECK_THROWS_WITH_AS(moved->to_device(Device::cuda),
                       doctest::Contains("a backward is waiting for the fused sparse update"),
                       Error);
  CHECK_FALSE(moved->layer(0).mapping_weights()->value.is_cuda());
}
