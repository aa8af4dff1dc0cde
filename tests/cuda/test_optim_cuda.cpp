// Optimizers on CUDA vs the CPU on identical inputs: parameters agree to 1e-6 relative after
// several steps (clamps, multi-chunk parameters, device moves mid-training, custom hooks).
#include <cmath>

#include "autograd/io/safetensors.h"
#include "autograd/nn/linear.h"
#include "autograd/optim/adam.h"
#include "autograd/optim/sgd.h"
#include "tensor/random.h"
#include "test_util.h"

using namespace difflut;

namespace {

struct Model : Module {
  Parameter *a, *t, *big;
  Model(DType dt, Device dev) {
    Generator gen(21);
    a = &register_parameter("a", uniform_tensor({7, 3}, -2, 2, gen, dt, dev));
    t = &register_parameter("t", uniform_tensor({33}, -1, 1, gen, dt, dev));
    t->clamp_min = -1.0;
    t->clamp_max = 1.0;
    big = &register_parameter("big",
                              uniform_tensor({3 * kOptimChunkElems + 77}, -0.5, 0.5, gen, dt, dev));
    big->clamp_min = -0.5;
    big->clamp_max = 0.5;
  }
  std::vector<Parameter*> list() { return {a, t, big}; }
};

// Gradients drawn on the host from (step, parameter) and copied to the parameter's device.
void set_grads(Model& m, int step) {
  int k = 0;
  for (Parameter* p : m.list()) {
    Generator gen(1000 * static_cast<uint64_t>(step) + static_cast<uint64_t>(k++));
    Tensor g = Tensor::randn(p->value.shape(), gen, DType::f64, Device::cpu).to(p->value.dtype());
    p->grad.copy_(g);
  }
}

void compare(Model& cpu, Model& gpu, double rtol) {
  for (size_t i = 0; i < 3; ++i) {
    INFO("parameter ", cpu.list()[i]->name);
    test::check_close(gpu.list()[i]->value.to(Device::cpu), cpu.list()[i]->value, rtol, rtol);
  }
}

template <class Opt, class Options>
void cpu_vs_cuda(const Options& o, DType dt, int steps, double rtol) {
  Model cpu(dt, Device::cpu), gpu(dt, Device::cuda);
  test::check_equal(cpu.a->value, gpu.a->value.to(Device::cpu));  // same init on both devices
  Opt oc(cpu, o), og(gpu, o);
  for (int s = 1; s <= steps; ++s) {
    oc.zero_grad();
    og.zero_grad();
    set_grads(cpu, s);
    set_grads(gpu, s);
    oc.step();
    og.step();
  }
  compare(cpu, gpu, rtol);
  // Optimizer state agrees too.
  NamedTensors sc = oc.state_dict(), sg = og.state_dict();
  REQUIRE(sc.size() == sg.size());
  for (size_t i = 0; i < sc.size(); ++i) {
    INFO(sc[i].first);
    CHECK(sc[i].first == sg[i].first);
    test::check_close(sg[i].second, sc[i].second, rtol, rtol);
  }
}

}  // namespace

TEST_CASE("Adam and AdamW on CUDA match the CPU within 1e-6 relative (f32, f64)") {
  DIFFLUT_REQUIRE_GPU();
  AdamOptions o;
  o.lr = 0.05;
  o.weight_decay = 0.01;
  cpu_vs_cuda<Adam>(o, DType::f32, 10, 1e-6);
  cpu_vs_cuda<Adam>(o, DType::f64, 10, 1e-12);
  cpu_vs_cuda<AdamW>(o, DType::f32, 10, 1e-6);
}

TEST_CASE("SGD (momentum, nesterov, weight decay) on CUDA matches the CPU within 1e-6") {
  DIFFLUT_REQUIRE_GPU();
  SGDOptions o;
  o.lr = 0.1;
  o.momentum = 0.9;
  o.nesterov = true;
  o.weight_decay = 1e-3;
  cpu_vs_cuda<SGD>(o, DType::f32, 10, 1e-6);
  cpu_vs_cuda<SGD>(o, DType::f64, 10, 1e-12);
  SGDOptions plain;
  plain.lr = 0.3;
  cpu_vs_cuda<SGD>(plain, DType::f32, 5, 1e-6);
}

TEST_CASE("clamps hold on CUDA") {
  DIFFLUT_REQUIRE_GPU();
  Model m(DType::f32, Device::cuda);
  SGDOptions o;
  o.lr = 100.0;
  SGD opt(m, o);
  set_grads(m, 1);
  opt.step();
  for (float x : m.t->value.to_vector<float>()) CHECK((x == -1.f || x == 1.f));
  for (float x : m.big->value.to_vector<float>()) CHECK((x >= -0.5f && x <= 0.5f));
}

TEST_CASE("moving a module to CUDA mid-training carries the optimizer state along") {
  DIFFLUT_REQUIRE_GPU();
  AdamOptions o;
  o.lr = 0.05;
  Model ref(DType::f32, Device::cpu), moved(DType::f32, Device::cpu);
  Adam oref(ref, o), omoved(moved, o);
  for (int s = 1; s <= 6; ++s) {
    if (s == 4) {
      moved.to(Device::cuda);
      CHECK(moved.a->value.is_cuda());
      CHECK(moved.a->grad.is_cuda());
      CHECK(moved.flat_buffer()->groups()[0].device == Device::cuda);
    }
    oref.zero_grad();
    omoved.zero_grad();
    set_grads(ref, s);
    set_grads(moved, s);
    oref.step();
    omoved.step();
  }
  compare(ref, moved, 1e-6);
}

TEST_CASE("custom_update hooks on CUDA receive CUDA state shaped like the parameter") {
  DIFFLUT_REQUIRE_GPU();
  Module m;
  Parameter& c = m.register_parameter("c", Tensor::zeros({4, 2}, DType::f32, Device::cuda));
  int calls = 0;
  c.custom_update = [&](Parameter& p, const OptimizerStep& s) {
    ++calls;
    REQUIRE(s.state[0] != nullptr);
    CHECK(s.state[0]->is_cuda());
    CHECK(s.state[0]->shape() == p.value.shape());
    p.value.fill_(3.0);
  };
  Adam opt(m, {});
  opt.step();
  CHECK(calls == 1);
  CHECK(c.value.to_vector<float>() == std::vector<float>(8, 3.f));
}

TEST_CASE("parameters of a CUDA module round trip through a safetensors file") {
  DIFFLUT_REQUIRE_GPU();
  const std::string dir = test::temp_dir("optim-cuda-st");
  Generator g1(4), g2(5);
  Linear a(6, 3, true, g1, DType::f32, Device::cuda), b(6, 3, true, g2, DType::f32, Device::cuda);
  b.flatten();
  save_parameters(a, dir + "/l.safetensors");
  load_parameters(b, dir + "/l.safetensors");
  test::check_equal(b.weight().value, a.weight().value);
  test::check_equal(b.bias()->value, a.bias()->value);
  CHECK(b.weight().value.is_cuda());
}
