// The built-in node types on the GPU against the CPU on the same inputs: soft forward, eval bits
// (exactly), input and parameter gradients, for every type, both dtypes and several k; batches
// spanning several gradient chunks; run-to-run bit identity; the regularisers.
#include <vector>

#include "autograd/graph.h"
#include "autograd/ops.h"
#include "lut/node_ops.h"
#include "lut/node_registry.h"
#include "lut/nodes/node_types.h"
#include "tensor/random.h"
#include "test_util.h"

using namespace difflut;
using difflut::test::uniform;

namespace {

// Soft inputs in [0, 1) with every 5th value exactly binary and every 7th exactly 0.5.
Tensor node_inputs(const Shape& shape, Generator& gen, DType dt) {
  std::vector<double> v = Tensor::rand(shape, gen, DType::f64).to_vector<double>();
  for (size_t i = 0; i < v.size(); i += 5) v[i] = double(i % 2);
  for (size_t i = 0; i < v.size(); i += 7) v[i] = 0.5;
  return Tensor::from_vector(v, shape).to(dt);
}

struct Run {
  Tensor soft, bits, grad_x, grad_p;
};

Run run(const NodeType& t, const Tensor& x, const Tensor& p, const Tensor& seed, int k,
        Device dev) {
  Run r;
  {
    Graph g;
    Var vx = g.input(x.to(dev), "x", true);
    Var vp = g.input(p.to(dev), "p", true);
    Var y = t.apply(vx, vp, k, true);
    r.soft = y.value().to(Device::cpu);
    g.backward(y, seed.to(dev));
    r.grad_x = g.grad(vx).to(Device::cpu);
    r.grad_p = g.grad(vp).to(Device::cpu);
  }
  Graph g;
  r.bits = t.apply(g.input(x.to(dev)), g.input(p.to(dev)), k, false).value().to(Device::cpu);
  return r;
}

struct Case {
  std::string name;
  NodeOptions opts;
  std::vector<int> ks;
};

std::vector<Case> cases() {
  NodeOptions d3;
  d3.degree = 3;
  NodeOptions deep;
  deep.depth = 4;
  deep.hidden_width = 12;
  deep.skip_interval = 1;
  NodeOptions cold;
  cold.temperature = 0.3;
  NodeOptions loud;
  loud.max_amplitude = 1.0;
  loud.signed_amplitudes = true;
  // Every built-in type of the registry with default options, then the options that change the math.
  std::vector<Case> cases;
  for (const auto& t : builtin_node_types())
    cases.push_back({t->name(),
                     {},
                     t->name() == "difflogic" ? std::vector<int>{2} : std::vector<int>{1, 6, 8}});
  cases.push_back({"polylut", d3, {6}});
  cases.push_back({"neurallut", deep, {6}});
  cases.push_back({"probabilistic", {}, {4, 7}});
  cases.push_back({"probabilistic", cold, {6}});
  cases.push_back({"fourier", loud, {6}});
  return cases;
}

}  // namespace

TEST_CASE("node types on CUDA match the CPU: soft forward, eval bits exactly, gradients") {
  DIFFLUT_REQUIRE_GPU();
  for (const Case& cs : cases()) {
    auto t = make_node_type(cs.name, cs.opts);
    for (int k : cs.ks) {
      for (DType dt : {DType::f32, DType::f64}) {
        CAPTURE(cs.name);
        CAPTURE(k);
        CAPTURE(dtype_name(dt));
        const int64_t B = 37, N = 29;  // B spans three gradient chunks of 16 samples
        Generator gen(300 + k);
        const Tensor x = node_inputs({B, N * k}, gen, dt);
        Tensor p = Tensor::empty({N, t->num_params(k)}, DType::f64);
        t->init(p, k, gen);
        p = p.to(dt);
        const Tensor seed = uniform({B, N}, gen, -1, 1, dt);
        const Run cpu = run(*t, x, p, seed, k, Device::cpu);
        const Run gpu = run(*t, x, p, seed, k, Device::cuda);
        const double tol = dt == DType::f32 ? 2e-5 : 1e-12;
        test::check_close(gpu.soft, cpu.soft, tol, tol);
        test::check_equal(gpu.bits, cpu.bits);
        test::check_close(gpu.grad_x, cpu.grad_x, tol, tol);
        test::check_close(gpu.grad_p, cpu.grad_p, dt == DType::f32 ? 1e-4 : 1e-12, tol);
        // The exported truth table is the GPU's eval function too.
        const Tensor tt = t->truth_table(p, k);
        const auto ttv = tt.to_vector<uint8_t>();
        const auto xb = x.to(DType::f64).to_vector<double>();
        const auto bits = gpu.bits.to(DType::f64).to_vector<double>();
        bool same = true;
        for (int64_t b = 0; b < B; ++b)
          for (int64_t j = 0; j < N; ++j) {
            unsigned a = 0;
            for (int l = 0; l < k; ++l)
              a |= (xb[static_cast<size_t>((b * N + j) * k + l)] >= 0.5 ? 1u : 0u) << l;
            same &= bits[static_cast<size_t>(b * N + j)] == ttv[static_cast<size_t>((j << k) + a)];
          }
        CHECK(same);
      }
    }
  }
}

TEST_CASE("node types on CUDA are bit-identical run to run, for a large layer") {
  DIFFLUT_REQUIRE_GPU();
  for (const auto& t : builtin_node_types()) {
    const std::string name = t->name();
    CAPTURE(name);
    const int k = std::string(name) == "difflogic" ? 2 : 6;
    const int64_t B = 257, N = 1501;
    Generator gen(7);
    const Tensor x = node_inputs({B, N * k}, gen, DType::f32);
    Tensor p = Tensor::empty({N, t->num_params(k)}, DType::f32);
    t->init(p, k, gen);
    const Tensor seed = uniform({B, N}, gen, -1, 1, DType::f32);
    const Run a = run(*t, x, p, seed, k, Device::cuda);
    const Run b = run(*t, x, p, seed, k, Device::cuda);
    test::check_equal(a.soft, b.soft);
    test::check_equal(a.bits, b.bits);
    test::check_equal(a.grad_x, b.grad_x);
    test::check_equal(a.grad_p, b.grad_p);
    const Run cpu = run(*t, x, p, seed, k, Device::cpu);
    // Linear and polylut corner logits are sums of parameters (exact products by 0/1), and the
    // probabilistic family and difflogic read signs and argmaxes, so their bits match exactly. A
    // neurallut logit is a float MLP and a fourier logit a sum of cosines: the devices may contract
    // multiply-adds and round cosf differently, so a logit within rounding of 0 may flip; allow a
    // vanishing fraction.
    if (std::string(name) == "neurallut" || std::string(name) == "fourier") {
      const auto ga = a.bits.to_vector<float>(), gc = cpu.bits.to_vector<float>();
      size_t diff = 0;
      for (size_t i = 0; i < ga.size(); ++i) diff += ga[i] != gc[i];
      CHECK(diff <= ga.size() / 10000);
    } else {
      test::check_equal(a.bits, cpu.bits);
    }
    test::check_close(a.soft, cpu.soft, 2e-5, 2e-5);
    test::check_close(a.grad_x, cpu.grad_x, 2e-5, 2e-5);
    test::check_close(a.grad_p, cpu.grad_p, 1e-3, 1e-4);
  }
}

TEST_CASE("regularisers on CUDA match the CPU: value and gradient, both kinds") {
  DIFFLUT_REQUIRE_GPU();
  for (const char* name : {"dwn", "linear_lut", "probabilistic", "neurallut", "difflogic"}) {
    for (LutRegularizer kind : {LutRegularizer::functional, LutRegularizer::spectral}) {
      for (DType dt : {DType::f32, DType::f64}) {
        CAPTURE(name);
        CAPTURE(static_cast<int>(kind));
        CAPTURE(dtype_name(dt));
        auto t = find_node_type(name);
        const int k = std::string(name) == "difflogic" ? 2 : 6;
        Generator gen(5);
        Tensor p = Tensor::empty({301, t->num_params(k)}, DType::f64);
        t->init(p, k, gen);
        p = p.to(dt);
        Tensor value[2], grad[2];
        for (Device dev : {Device::cpu, Device::cuda}) {
          const int d = dev == Device::cuda ? 1 : 0;
          Graph g;
          Var vp = g.input(p.to(dev), "p", true);
          Var r = node_regularizer(vp, *t, k, kind, 0.5);
          value[d] = r.value().to(Device::cpu);
          g.backward(r);
          grad[d] = g.grad(vp).to(Device::cpu);
        }
        const double tol = dt == DType::f32 ? 1e-5 : 1e-12;
        test::check_close(value[1], value[0], tol, tol);
        test::check_close(grad[1], grad[0], tol, tol);
      }
    }
  }
}

TEST_CASE("a graph mixing node types trains the same on CUDA as on the CPU") {
  DIFFLUT_REQUIRE_GPU();
  const int k = 4;
  const int64_t B = 20, N1 = 24, N2 = 12;
  Generator gen(3);
  const Tensor x = node_inputs({B, N1 * k}, gen, DType::f32);
  auto t1 = find_node_type("polylut");
  auto t2 = find_node_type("unbound_probabilistic");
  Tensor p1 = Tensor::empty({N1, t1->num_params(k)}, DType::f32);
  Tensor p2 = Tensor::empty({N2, t2->num_params(k)}, DType::f32);
  t1->init(p1, k, gen);
  t2->init(p2, k, gen);
  std::vector<int64_t> idx(static_cast<size_t>(N2 * k));
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<int64_t>((i * 7) % N1);
  Tensor g1[2], g2[2], out[2];
  for (Device dev : {Device::cpu, Device::cuda}) {
    const int d = dev == Device::cuda ? 1 : 0;
    Graph g;
    Var v1 = g.input(p1.to(dev), "p1", true);
    Var v2 = g.input(p2.to(dev), "p2", true);
    Var h = t1->apply(g.input(x.to(dev)), v1, k, true);
    Var y = t2->apply(gather(h, Tensor::from_vector(idx, {N2 * k}).to(dev)), v2, k, true);
    Var loss = sum_all(group_sum(y, 3, 2.0));
    out[d] = loss.value().to(Device::cpu);
    g.backward(loss);
    g1[d] = g.grad(v1).to(Device::cpu);
    g2[d] = g.grad(v2).to(Device::cpu);
  }
  test::check_close(out[1], out[0], 1e-5, 1e-5);
  test::check_close(g1[1], g1[0], 1e-4, 1e-4);
  test::check_close(g2[1], g2[0], 1e-4, 1e-4);
}
