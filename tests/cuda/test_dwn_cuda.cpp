// LUT node ops on the GPU against the CPU on the same inputs: dwn_lut (outputs and addresses
// exactly; table and EFD input gradients), group_sum, custom_lut; and run-to-run bit identity.
#include <algorithm>
#include <vector>

#include "autograd/graph.h"
#include "lut/examples/soft_majority_node.h"
#include "lut/node_ops.h"
#include "lut/node_registry.h"
#include "tensor/random.h"
#include "test_util.h"

using namespace difflut;
using difflut::test::uniform;

namespace {
struct DwnRun {
  Tensor out, addr, grad_x, grad_table;
};

DwnRun run_dwn(const Tensor& x, const Tensor& table, const Tensor& seed, int k, Device dev) {
  Graph g;
  Var vx = g.input(x.to(dev), "x", true);
  Var vt = g.input(table.to(dev), "table", true);
  Var y = dwn_lut(vx, vt, k);
  g.backward(y, seed.to(dev));
  return DwnRun{y.value().to(Device::cpu), g.node(y.id).saved.at(0).to(Device::cpu),
                g.grad(vx).to(Device::cpu), g.grad(vt).to(Device::cpu)};
}

// Inputs in [0, 1) with every 7th value exactly 0.5 (the binarisation edge).
Tensor lut_inputs(const Shape& shape, Generator& gen, DType dt) {
  std::vector<double> v = uniform(shape, gen, 0, 1, DType::f64).to_vector<double>();
  for (size_t i = 0; i < v.size(); i += 7) v[i] = 0.5;
  return Tensor::from_vector(v, shape).to(dt);
}
}  // namespace

TEST_CASE("dwn_lut on CUDA matches the CPU: outputs and addresses exactly, gradients, k = 1..8") {
  DIFFLUT_REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::f64}) {
    for (int k = 1; k <= 8; ++k) {
      CAPTURE(dtype_name(dt));
      CAPTURE(k);
      const int64_t B = 37, N = 13;
      Generator gen(200 + k);
      Tensor x = lut_inputs({B, N * k}, gen, dt);
      Tensor table = uniform({N, int64_t{1} << k}, gen, -1, 1, dt);
      Tensor seed = uniform({B, N}, gen, -1, 1, dt);
      DwnRun cpu = run_dwn(x, table, seed, k, Device::cpu);
      DwnRun gpu = run_dwn(x, table, seed, k, Device::cuda);
      test::check_equal(gpu.out, cpu.out);
      test::check_equal(gpu.addr, cpu.addr);
      test::check_close(gpu.grad_table, cpu.grad_table, 1e-6, 1e-6);
      test::check_close(gpu.grad_x, cpu.grad_x, 1e-6, 1e-6);
    }
  }
}

TEST_CASE("dwn_lut on CUDA matches the CPU for a large batch and many LUTs") {
  DIFFLUT_REQUIRE_GPU();
  const int k = 6;
  const int64_t B = 1031, N = 2003;
  Generator gen(9);
  Tensor x = lut_inputs({B, N * k}, gen, DType::f32);
  Tensor table = uniform({N, 64}, gen, -1, 1, DType::f32);
  Tensor seed = uniform({B, N}, gen, -1, 1, DType::f32);
  DwnRun cpu = run_dwn(x, table, seed, k, Device::cpu);
  DwnRun gpu = run_dwn(x, table, seed, k, Device::cuda);
  test::check_equal(gpu.out, cpu.out);
  test::check_equal(gpu.addr, cpu.addr);
  test::check_close(gpu.grad_table, cpu.grad_table, 1e-6, 1e-6);
  test::check_close(gpu.grad_x, cpu.grad_x, 1e-6, 1e-6);
}

TEST_CASE("dwn_lut on CUDA: two runs are bit-identical and backward twice doubles") {
  DIFFLUT_REQUIRE_GPU();
  const int k = 5;
  const int64_t B = 77, N = 45;
  Generator gen(4);
  Tensor x = lut_inputs({B, N * k}, gen, DType::f32);
  Tensor table = uniform({N, 32}, gen, -1, 1, DType::f32);
  Tensor seed = uniform({B, N}, gen, -1, 1, DType::f32);
  DwnRun a = run_dwn(x, table, seed, k, Device::cuda);
  DwnRun b = run_dwn(x, table, seed, k, Device::cuda);
  test::check_equal(a.out, b.out);
  test::check_equal(a.grad_x, b.grad_x);
  test::check_equal(a.grad_table, b.grad_table);

  Parameter pt;
  pt.name = "table";
  pt.value = table.to(Device::cuda);
  Graph g;
  Var y = dwn_lut(g.input(x.to(Device::cuda)), g.param(pt), k);
  g.backward(y, seed.to(Device::cuda));
  std::vector<float> once = pt.grad.to_vector<float>();
  g.backward(y, seed.to(Device::cuda));
  std::vector<float> twice = pt.grad.to_vector<float>();
  for (size_t i = 0; i < once.size(); ++i) CHECK(twice[i] == 2 * once[i]);
}

TEST_CASE("group_sum on CUDA matches the CPU, forward and backward, and repeats bit-identically") {
  DIFFLUT_REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::f64}) {
    for (int64_t C : {1, 3, 10, 17}) {
      CAPTURE(C);
      Generator gen(C);
      Tensor x = uniform({33, 1001}, gen, -1, 1, dt);
      Tensor seed = uniform({33, C}, gen, -1, 1, dt);
      auto run = [&](Device dev) {
        Graph g;
        Var vx = g.input(x.to(dev), "x", true);
        Var y = group_sum(vx, C, 1.0 / 0.3);
        g.backward(y, seed.to(dev));
        return std::pair<Tensor, Tensor>{y.value().to(Device::cpu), g.grad(vx).to(Device::cpu)};
      };
      auto [yc, gc] = run(Device::cpu);
      auto [y1, g1] = run(Device::cuda);
      auto [y2, g2] = run(Device::cuda);
      test::check_close(y1, yc, 1e-6, 1e-6);
      test::check_close(g1, gc, 1e-6, 1e-6);
      test::check_equal(y1, yc);  // same double arithmetic in the same order
      test::check_equal(y1, y2);
      test::check_equal(g1, g2);
    }
  }
}

TEST_CASE("custom_lut on CUDA (host round trip) matches the CPU") {
  DIFFLUT_REQUIRE_GPU();
  const auto names = registered_node_types();
  if (std::find(names.begin(), names.end(), "soft_majority") == names.end())
    register_node_type(std::make_shared<examples::SoftMajorityNode>(0.1));
  auto type = find_node_type("soft_majority");
  const int k = 4;
  Generator gen(12);
  Tensor x = uniform({9, 5 * k}, gen, 0, 1, DType::f32);
  Tensor p = uniform({5, k + 1}, gen, -1, 1, DType::f32);
  Tensor seed = uniform({9, 5}, gen, -1, 1, DType::f32);
  for (bool training : {true, false}) {
    auto run = [&](Device dev) {
      Graph g;
      Var vx = g.input(x.to(dev), "x", true), vp = g.input(p.to(dev), "p", true);
      Var y = custom_lut(vx, vp, type, k, training);
      g.backward(y, seed.to(dev));
      return std::vector<Tensor>{y.value().to(Device::cpu), g.grad(vx).to(Device::cpu),
                                 g.grad(vp).to(Device::cpu)};
    };
    std::vector<Tensor> c = run(Device::cpu), d = run(Device::cuda);
    for (size_t i = 0; i < c.size(); ++i) test::check_equal(d[i], c[i]);
  }
}
