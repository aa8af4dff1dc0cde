// Optimizers and LR schedules against hand-written scalar references of the published update rules.
#include <cmath>
#include <numbers>

#include "autograd/io/safetensors.h"
#include "autograd/optim/adam.h"
#include "autograd/optim/lr_scheduler.h"
#include "autograd/optim/sgd.h"
#include "test_util.h"

using namespace difflut;

namespace {

// Three parameters: unbounded, clamped to [-1, 1] with values near the bounds, and one large
// enough to span several kernel chunks, clamped to [-0.5, 0.5].
struct Model : Module {
  Parameter *a, *t, *big;
  explicit Model(DType dt) {
    a = &register_parameter(
        "a", Tensor::from_vector<double>({-0.3, -0.2, 0.0, 0.1, 0.4, 2.0, -3.0}, {7}).to(dt));
    t = &register_parameter("t",
                            Tensor::from_vector<double>({-0.95, -0.5, 0.0, 0.5, 0.97}, {5}).to(dt));
    t->clamp_min = -1.0;
    t->clamp_max = 1.0;
    std::vector<double> b(2 * kOptimChunkElems + 123);
    for (size_t i = 0; i < b.size(); ++i) b[i] = 0.45 * std::sin(0.01 * static_cast<double>(i));
    big = &register_parameter(
        "big", Tensor::from_vector<double>(b, {static_cast<int64_t>(b.size())}).to(dt));
    big->clamp_min = -0.5;
    big->clamp_max = 0.5;
  }
};

double grad_value(int step, int k, size_t i) {
  return std::sin(1.3 * step + 0.7 * static_cast<double>(i) + k) * (k == 2 ? 0.3 : 1.5);
}

// Host reference state of one parameter.
struct Ref {
  std::vector<double> p, m, v;
  double lo, hi;
};

std::vector<Ref> reference_of(Model& m) {
  std::vector<Ref> out;
  for (Parameter* p : {m.a, m.t, m.big}) {
    Ref r;
    r.p = p->value.to(DType::f64).to_vector<double>();
    r.m.assign(r.p.size(), 0.0);
    r.v.assign(r.p.size(), 0.0);
    r.lo = p->clamp_min;
    r.hi = p->clamp_max;
    out.push_back(std::move(r));
  }
  return out;
}

void set_grads(Model& m, int step) {
  int k = 0;
  for (Parameter* p : {m.a, m.t, m.big}) {
    std::vector<double> g(static_cast<size_t>(p->value.numel()));
    for (size_t i = 0; i < g.size(); ++i) g[i] = grad_value(step, k, i);
    p->grad.copy_(Tensor::from_vector(g, p->value.shape()).to(p->value.dtype()));
    ++k;
  }
}

// Adam as written in the paper / PyTorch docs: bias-corrected moments, then the clamp.
void adam_reference(std::vector<Ref>& refs, int step, const AdamOptions& o, bool decoupled) {
  for (size_t k = 0; k < refs.size(); ++k) {
    Ref& r = refs[k];
    for (size_t i = 0; i < r.p.size(); ++i) {
      double g = grad_value(step, static_cast<int>(k), i);
      double p = r.p[i];
      if (decoupled)
        p -= o.lr * o.weight_decay * p;
      else
        g += o.weight_decay * p;
      r.m[i] = o.beta1 * r.m[i] + (1 - o.beta1) * g;
      r.v[i] = o.beta2 * r.v[i] + (1 - o.beta2) * g * g;
      const double mhat = r.m[i] / (1 - std::pow(o.beta1, step));
      const double vhat = r.v[i] / (1 - std::pow(o.beta2, step));
      p -= o.lr * mhat / (std::sqrt(vhat) + o.eps);
      r.p[i] = std::min(std::max(p, r.lo), r.hi);
    }
  }
}

void sgd_reference(std::vector<Ref>& refs, int step, const SGDOptions& o) {
  for (size_t k = 0; k < refs.size(); ++k) {
    Ref& r = refs[k];
    for (size_t i = 0; i < r.p.size(); ++i) {
      double d = grad_value(step, static_cast<int>(k), i) + o.weight_decay * r.p[i];
      if (o.momentum != 0) {
        r.m[i] = step == 1 ? d : o.momentum * r.m[i] + (1 - o.dampening) * d;
        d = o.nesterov ? d + o.momentum * r.m[i] : r.m[i];
      }
      r.p[i] = std::min(std::max(r.p[i] - o.lr * d, r.lo), r.hi);
    }
  }
}

void check_against(Model& m, const std::vector<Ref>& refs, double atol, double rtol) {
  int k = 0;
  for (Parameter* p : {m.a, m.t, m.big}) {
    INFO("parameter ", p->name);
    test::check_close(p->value,
                      Tensor::from_vector(refs[static_cast<size_t>(k)].p, p->value.shape()), atol,
                      rtol);
    ++k;
  }
}

template <class Opt, class Options>
void run_and_compare(const Options& o, DType dt, int steps, double atol, double rtol,
                     bool decoupled = false) {
  Model m(dt);
  std::vector<Ref> refs = reference_of(m);
  Opt opt(m, o);
  for (int s = 1; s <= steps; ++s) {
    opt.zero_grad();
    set_grads(m, s);
    opt.step();
    if constexpr (std::is_same_v<Options, AdamOptions>) {
      adam_reference(refs, s, o, decoupled);
    } else {
      sgd_reference(refs, s, o);
    }
  }
  CHECK(opt.step_count() == steps);
  check_against(m, refs, atol, rtol);
}

}  // namespace

TEST_CASE("Adam matches the scalar reference over 6 steps (f64 tight, f32 to 1e-6)") {
  AdamOptions o;
  o.lr = 0.05;
  run_and_compare<Adam>(o, DType::f64, 6, 1e-13, 1e-12);
  run_and_compare<Adam>(o, DType::f32, 6, 2e-6, 1e-6);
  o.weight_decay = 0.1;  // coupled (L2) weight decay
  o.beta1 = 0.8;
  o.eps = 1e-6;
  run_and_compare<Adam>(o, DType::f64, 6, 1e-13, 1e-12);
}

TEST_CASE("AdamW applies decoupled weight decay and matches the reference") {
  AdamOptions o = AdamW::default_options();
  o.lr = 0.05;
  o.weight_decay = 0.2;
  run_and_compare<AdamW>(o, DType::f64, 6, 1e-13, 1e-12, true);
  run_and_compare<AdamW>(o, DType::f32, 6, 2e-6, 1e-6, true);
  // Decoupled decay really differs from L2 decay.
  Model m1(DType::f64), m2(DType::f64);
  Adam a1(m1, o);
  AdamW a2(m2, o);
  set_grads(m1, 1);
  set_grads(m2, 1);
  a1.step();
  a2.step();
  CHECK(test::max_abs_diff(m1.a->value, m2.a->value) > 1e-6);
  CHECK(a2.name() == "adamw");
}

TEST_CASE("SGD matches the reference: plain, momentum with dampening, nesterov, weight decay") {
  SGDOptions plain;
  plain.lr = 0.1;
  run_and_compare<SGD>(plain, DType::f64, 5, 1e-14, 1e-13);
  SGDOptions mom;
  mom.lr = 0.05;
  mom.momentum = 0.9;
  mom.dampening = 0.1;
  mom.weight_decay = 0.01;
  run_and_compare<SGD>(mom, DType::f64, 5, 1e-14, 1e-13);
  run_and_compare<SGD>(mom, DType::f32, 5, 2e-6, 1e-6);
  SGDOptions nest;
  nest.lr = 0.05;
  nest.momentum = 0.8;
  nest.nesterov = true;
  run_and_compare<SGD>(nest, DType::f64, 5, 1e-14, 1e-13);
}

TEST_CASE("clamped parameters stay in range and reach the bound exactly") {
  Model m(DType::f32);
  SGDOptions o;
  o.lr = 10.0;  // large steps push every entry against a bound
  SGD opt(m, o);
  set_grads(m, 1);
  opt.step();
  for (float x : m.t->value.to_vector<float>()) CHECK((x == -1.f || x == 1.f));
  for (float x : m.big->value.to_vector<float>()) CHECK((x >= -0.5f && x <= 0.5f));
  bool exceeded = false;  // the unclamped parameter does leave [-1, 1]
  for (float x : m.a->value.to_vector<float>()) exceeded = exceeded || std::fabs(x) > 1.f;
  CHECK(exceeded);
}

TEST_CASE("bad optimizer options are rejected with a message") {
  Model m(DType::f32);
  SGDOptions o;
  o.nesterov = true;
  CHECK_THROWS_WITH_AS(SGD(m, o), doctest::Contains("nesterov"), Error);
  AdamOptions a;
  a.beta2 = 1.0;
  CHECK_THROWS_WITH_AS(Adam(m, a), doctest::Contains("beta2"), Error);
  Adam ok(m, {});
  CHECK_THROWS_AS(ok.set_lr(-1.0), Error);
}

TEST_CASE("custom_update hooks are called instead of the generic update, with their state") {
  Module m;
  Parameter& plain = m.register_parameter("plain", Tensor::full({3}, 1.0));
  Parameter& custom = m.register_parameter("custom", Tensor::full({2, 2}, 1.0));
  Parameter& frozen = m.register_parameter("frozen", Tensor::full({2}, 1.0), false);
  int calls = 0;
  std::vector<int64_t> steps_seen;
  custom.custom_update = [&](Parameter& p, const OptimizerStep& s) {
    ++calls;
    steps_seen.push_back(s.step);
    CHECK(&p == &custom);
    CHECK(s.kind == OptimizerStep::Kind::adam);
    CHECK(s.lr == doctest::Approx(0.01));
    REQUIRE(s.state[0] != nullptr);
    REQUIRE(s.state[1] != nullptr);
    CHECK(s.state[0]->shape() == p.value.shape());
    // State persists between calls: the first moment counts the calls so far.
    CHECK(s.state[0]->to_vector<float>()[0] == static_cast<float>(calls - 1));
    s.state[0]->fill_(static_cast<double>(calls));
    p.value.fill_(-5.0);  // the hook's own update
  };
  AdamOptions o;
  o.lr = 0.01;
  Adam opt(m, o);
  for (int s = 0; s < 3; ++s) {
    opt.zero_grad();
    plain.grad.fill_(1.0);
    // Custom-update and frozen parameters get no gradient storage in the flat buffer.
    CHECK_FALSE(custom.grad.defined());
    CHECK_FALSE(frozen.grad.defined());
    opt.step();
  }
  CHECK(calls == 3);
  CHECK(steps_seen == std::vector<int64_t>{1, 2, 3});
  CHECK(custom.value.to_vector<float>() == std::vector<float>(4, -5.f));
  CHECK(frozen.value.to_vector<float>() == std::vector<float>(2, 1.f));  // frozen: untouched
  for (float x : plain.value.to_vector<float>()) CHECK(x < 1.f);         // generic: updated
}

TEST_CASE("integer parameters may sit in a module if frozen; trainable ones are rejected") {
  Module m;
  Parameter& w = m.register_parameter("w", Tensor::full({2}, 1.0));
  Parameter& idx = m.register_parameter("idx", Tensor::from_vector<int32_t>({4, 5}, {2}), false);
  Adam opt(m, {});
  w.grad.fill_(1.0);
  opt.step();
  CHECK(idx.value.to_vector<int32_t>() == std::vector<int32_t>{4, 5});
  CHECK(w.value.to_vector<float>()[0] < 1.f);
  CHECK(find_tensor(opt.state_dict(), "idx.exp_avg") == nullptr);
  Module bad;
  bad.register_parameter("idx", Tensor::from_vector<int32_t>({1}, {1}));
  CHECK_THROWS_WITH_AS(SGD(bad, SGDOptions{}), doctest::Contains("'idx' is i32 and trainable"),
                       Error);
}

TEST_CASE("SGD tells custom hooks its kind and momentum, and gives them a velocity slot") {
  Module m;
  Parameter& c = m.register_parameter("c", Tensor::zeros({2}));
  bool seen = false;
  c.custom_update = [&](Parameter&, const OptimizerStep& s) {
    seen = true;
    CHECK(s.kind == OptimizerStep::Kind::sgd);
    CHECK(s.momentum == 0.5);
    CHECK(s.state[0] != nullptr);
    CHECK(s.state[1] == nullptr);
  };
  SGDOptions o;
  o.momentum = 0.5;
  SGD opt(m, o);
  opt.step();
  CHECK(seen);
}

TEST_CASE("resuming from a saved optimizer state continues bit-identically") {
  const std::string dir = test::temp_dir("optim-resume");
  AdamOptions o;
  o.lr = 0.03;
  o.weight_decay = 0.01;
  // Reference run: 5 uninterrupted steps.
  Model ref(DType::f32);
  Adam ref_opt(ref, o);
  for (int s = 1; s <= 5; ++s) {
    set_grads(ref, s);
    ref_opt.step();
  }
  // Interrupted run: 3 steps, save parameters and optimizer state to files.
  {
    Model m(DType::f32);
    Adam opt(m, o);
    for (int s = 1; s <= 3; ++s) {
      set_grads(m, s);
      opt.step();
    }
    save_parameters(m, dir + "/model.safetensors");
    save_safetensors(dir + "/optim.safetensors", opt.state_dict());
  }
  // Fresh objects, restored from the files, then the last 2 steps.
  Model m(DType::f32);
  AdamOptions other = o;
  other.lr = 1.0;  // overwritten by the loaded state
  Adam opt(m, other);
  load_parameters(m, dir + "/model.safetensors");
  opt.load_state_dict(load_safetensors(dir + "/optim.safetensors").tensors);
  CHECK(opt.step_count() == 3);
  CHECK(opt.lr() == 0.03);
  for (int s = 4; s <= 5; ++s) {
    set_grads(m, s);
    opt.step();
  }
  test::check_equal(m.a->value, ref.a->value);
  test::check_equal(m.t->value, ref.t->value);
  test::check_equal(m.big->value, ref.big->value);
}

TEST_CASE("optimizer state load rejects missing, mismatched and unknown entries") {
  Model m(DType::f32);
  Adam opt(m, {});
  NamedTensors st = opt.state_dict();
  CHECK(find_tensor(st, "a.exp_avg") != nullptr);
  CHECK(find_tensor(st, "big.exp_avg_sq") != nullptr);
  NamedTensors missing(st.begin() + 1, st.end());
  CHECK_THROWS_WITH_AS(opt.load_state_dict(missing), doctest::Contains("a.exp_avg"), Error);
  NamedTensors bad = st;
  bad[0].second = Tensor::zeros({3});
  CHECK_THROWS_WITH_AS(opt.load_state_dict(bad), doctest::Contains("f32[7]"), Error);
  NamedTensors extra = st;
  extra.emplace_back("nope.exp_avg", Tensor::zeros({1}));
  CHECK_THROWS_WITH_AS(opt.load_state_dict(extra), doctest::Contains("nope.exp_avg"), Error);
}

TEST_CASE("optimizer state follows a re-pack when a parameter is re-assigned mid-training") {
  AdamOptions o;
  o.lr = 0.05;
  Model m(DType::f64);
  std::vector<Ref> refs = reference_of(m);
  Adam opt(m, o);
  for (int s = 1; s <= 4; ++s) {
    if (s == 3) {
      // Replace a value with an equal copy: the buffer re-packs, the moments must survive.
      m.a->value = m.a->value.clone();
    }
    set_grads(m, s);
    opt.step();
    adam_reference(refs, s, o, false);
  }
  check_against(m, refs, 1e-13, 1e-12);
}

TEST_CASE("StepLR decays by gamma every step_size epochs") {
  Model m(DType::f32);
  SGDOptions o;
  o.lr = 0.1;
  SGD opt(m, o);
  StepLR sched(opt, 3, 0.5);
  const double expected[] = {0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025};
  CHECK(opt.lr() == 0.1);
  for (int e = 1; e < 8; ++e) {
    sched.step();
    CHECK(sched.last_epoch() == e);
    CHECK(opt.lr() == doctest::Approx(expected[e]).epsilon(1e-15));
  }
  CHECK_THROWS_AS(StepLR(opt, 0, 0.5), Error);
}

TEST_CASE("CosineAnnealingLR follows the half cosine from base lr to eta_min") {
  Model m(DType::f32);
  SGDOptions o;
  o.lr = 0.1;
  SGD opt(m, o);
  CosineAnnealingLR sched(opt, 10, 0.01);
  std::vector<double> lrs = {opt.lr()};
  for (int e = 1; e <= 10; ++e) {
    sched.step();
    lrs.push_back(opt.lr());
  }
  CHECK(lrs[0] == doctest::Approx(0.1));
  CHECK(lrs[5] == doctest::Approx(0.055));  // cos(pi/2) = 0
  CHECK(lrs[10] == doctest::Approx(0.01));  // cos(pi) = -1
  CHECK(lrs[2] == doctest::Approx(0.01 + 0.09 * (1 + std::cos(0.2 * std::numbers::pi)) / 2));
  for (int e = 1; e <= 10; ++e)
    CHECK(lrs[static_cast<size_t>(e)] < lrs[static_cast<size_t>(e - 1)]);
}

TEST_CASE("LR scheduler state restores the epoch and the lr") {
  Model m(DType::f32);
  SGDOptions o;
  o.lr = 0.2;
  SGD opt(m, o);
  CosineAnnealingLR sched(opt, 8, 0.0);
  for (int e = 0; e < 3; ++e) sched.step();
  NamedTensors st = sched.state_dict();
  const double lr3 = opt.lr();

  Model m2(DType::f32);
  SGDOptions o2;
  o2.lr = 5.0;
  SGD opt2(m2, o2);
  CosineAnnealingLR sched2(opt2, 8, 0.0);
  sched2.load_state_dict(st);
  CHECK(sched2.last_epoch() == 3);
  CHECK(opt2.lr() == lr3);
  sched.step();
  sched2.step();
  CHECK(opt2.lr() == opt.lr());
  CHECK_THROWS_AS(sched2.load_state_dict({}), Error);
}
