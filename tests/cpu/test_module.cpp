// Module layer: names, registration rules, modes, flat parameter buffers, Linear.
#include <cmath>

#include "autograd/nn/linear.h"
#include "autograd/nn/module.h"
#include "autograd/ops.h"
#include "tensor/random.h"
#include "test_util.h"

using namespace difflut;

namespace {

// A leaf module with two parameters of given sizes.
struct Leaf : Module {
  Leaf(int64_t a, int64_t b) {
    register_parameter("w", Tensor::full({a}, 1.0));
    register_parameter("b", Tensor::full({b}, 2.0));
  }
};

// Own parameter first, then two children, one of them nested.
struct Tree : Module {
  std::shared_ptr<Leaf> left, right;
  Tree() {
    register_parameter("scale", Tensor::full({1}, 3.0));
    left = register_module("left", std::make_shared<Leaf>(2, 3));
    auto inner = std::make_shared<Sequential>();
    inner->push_back(std::make_shared<Leaf>(4, 1));
    inner->push_back(std::make_shared<Leaf>(5, 6));
    register_module("inner", inner);
    right = register_module("right", std::make_shared<Leaf>(1, 1));
  }
};

std::vector<std::string> names_of(Module& m) {
  std::vector<std::string> out;
  for (auto& [n, p] : m.named_parameters()) out.push_back(n);
  return out;
}

}  // namespace

TEST_CASE("named_parameters lists dotted names depth first in registration order") {
  Tree t;
  const std::vector<std::string> expected = {"scale",     "left.w",    "left.b",
                                             "inner.0.w", "inner.0.b", "inner.1.w",
                                             "inner.1.b", "right.w",   "right.b"};
  CHECK(names_of(t) == expected);
  // Parameter::name carries the same dotted path (used for graph node names and errors).
  for (auto& [n, p] : t.named_parameters()) CHECK(p->name == n);
  CHECK(t.parameters().size() == expected.size());
  CHECK(t.num_parameters() == 1 + 2 + 3 + 4 + 1 + 5 + 6 + 1 + 1);
  CHECK(&t.parameter("inner.1.b") == t.named_parameters()[6].second);
  CHECK_THROWS_AS(t.parameter("inner.7.b"), Error);
}

TEST_CASE("named_modules lists the tree depth first; plain modules hold no extra state") {
  Tree t;
  std::vector<std::string> paths;
  for (auto& [path, m] : t.named_modules()) paths.push_back(path);
  CHECK(paths == std::vector<std::string>{"", "left", "inner", "inner.0", "inner.1", "right"});
  CHECK(t.named_modules()[3].second == &dynamic_cast<Sequential&>(*t.children()[1].second)[0]);
  CHECK(t.extra_state().empty());
  CHECK_NOTHROW(t.check_extra_state({}));
  CHECK_THROWS_WITH_AS(t.check_extra_state({{"x", Tensor::zeros({1})}}),
                       "Module: expected no extra state, found 1 entries (the first 'x')", Error);
}

TEST_CASE("registration rejects duplicate names, dotted names and null children") {
  Leaf l(1, 1);
  CHECK_THROWS_AS(l.register_parameter("w", Tensor::zeros({1})), Error);
  CHECK_THROWS_AS(l.register_parameter("a.b", Tensor::zeros({1})), Error);
  CHECK_THROWS_AS(l.register_parameter("", Tensor::zeros({1})), Error);
  CHECK_THROWS_AS(l.register_module("b", std::make_shared<Leaf>(1, 1)), Error);
  CHECK_THROWS_AS(l.register_module("c", std::shared_ptr<Leaf>()), Error);
  try {
    l.register_parameter("w", Tensor::zeros({1}));
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("'w'") != std::string::npos);
  }
}

TEST_CASE("a module registered twice shares its parameters and is listed once") {
  Module root;
  auto shared = std::make_shared<Leaf>(2, 2);
  root.register_module("a", shared);
  root.register_module("b", shared);
  CHECK(root.parameters().size() == 2);
}

TEST_CASE("train and eval propagate through the whole tree") {
  Tree t;
  CHECK(t.is_training());
  t.eval();
  CHECK_FALSE(t.is_training());
  CHECK_FALSE(t.left->is_training());
  for (auto& [n, c] : t.children()) {
    CHECK_FALSE(c->is_training());
    for (auto& [n2, c2] : c->children()) CHECK_FALSE(c2->is_training());
  }
  t.train();
  CHECK(t.right->is_training());
}

TEST_CASE("Sequential names children by position and a plain Module has no forward") {
  Sequential s({std::make_shared<Leaf>(1, 2), std::make_shared<Leaf>(3, 4)});
  CHECK(s.size() == 2);
  CHECK(names_of(s) == std::vector<std::string>{"0.w", "0.b", "1.w", "1.b"});
  CHECK(s[1].parameters()[1]->value.numel() == 4);
  CHECK_THROWS_AS(s[2], Error);
  Graph g;
  Leaf l(1, 1);
  CHECK_THROWS_AS(l.forward(g, g.input(Tensor::zeros({1}))), Error);
}

TEST_CASE("flatten packs every parameter into one value and one grad buffer, values kept") {
  Tree t;
  t.left->parameters()[0]->value = Tensor::from_vector<float>({7.f, 8.f}, {2});
  auto buf = t.flatten();
  REQUIRE(buf->groups().size() == 1);
  const auto& g = buf->groups()[0];
  CHECK(g.numel() == t.num_parameters());
  int64_t expect_offset = 0;
  for (const auto& s : g.segments) {
    CHECK(s.offset == expect_offset);  // contiguous, no gaps
    expect_offset += s.numel;
    CHECK(s.param->value.storage() == g.values.storage());
    CHECK(s.param->grad.storage() == g.grads.storage());
    CHECK(buf->is_bound(*s.param));
  }
  CHECK(t.left->parameters()[0]->value.to_vector<float>() == std::vector<float>{7.f, 8.f});
  CHECK(t.parameter("inner.1.b").value.to_vector<float>() == std::vector<float>(6, 2.f));
  // Writes through the flat buffer are visible in the parameter (they are the same memory).
  buf->groups()[0].values.data<float>()[0] = 42.f;
  CHECK(t.parameter("scale").value.item<float>() == 42.f);
  // flatten is idempotent: no re-pack when nothing changed.
  const uint64_t v = buf->version();
  t.flatten();
  CHECK(buf->version() == v);
}

TEST_CASE("zero_grad clears the flat gradient buffer") {
  Tree t;
  t.flatten();
  for (Parameter* p : t.parameters()) p->grad.fill_(5.0);
  t.zero_grad();
  for (Parameter* p : t.parameters())
    CHECK(p->grad.to_vector<float>() ==
          std::vector<float>(static_cast<size_t>(p->grad.numel()), 0.f));
}

TEST_CASE("flat buffers group by dtype and order generic, custom-update, frozen parameters") {
  Module m;
  Parameter& frozen = m.register_parameter("frozen", Tensor::zeros({2}), false);
  Parameter& custom = m.register_parameter("custom", Tensor::zeros({3}));
  custom.custom_update = [](Parameter&, const OptimizerStep&) {};
  Parameter& a = m.register_parameter("a", Tensor::zeros({4}));
  Parameter& d = m.register_parameter("d", Tensor::zeros({5}, DType::f64));
  auto buf = m.flatten();
  REQUIRE(buf->groups().size() == 2);
  const auto& g32 = buf->groups()[0];
  REQUIRE(g32.segments.size() == 3);
  CHECK(g32.segments[0].param == &a);
  CHECK(g32.segments[1].param == &custom);
  CHECK(g32.segments[2].param == &frozen);
  CHECK(buf->groups()[1].dtype == DType::f64);
  CHECK(buf->groups()[1].segments[0].param == &d);
  // Names keep registration order regardless of the packing order.
  CHECK(names_of(m) == std::vector<std::string>{"frozen", "custom", "a", "d"});
}

TEST_CASE("re-assigning a parameter value is picked up by re-packing, keeping the new value") {
  Leaf l(3, 2);
  auto buf = l.flatten();
  const uint64_t v = buf->version();
  Parameter& w = *l.parameters()[0];
  w.value = Tensor::from_vector<float>({1.f, 2.f, 3.f}, {3});
  CHECK_FALSE(buf->is_bound(w));
  CHECK(buf->ensure_bound());
  CHECK(buf->version() == v + 1);
  CHECK(buf->is_bound(w));
  CHECK(w.value.to_vector<float>() == std::vector<float>{1.f, 2.f, 3.f});
  CHECK_FALSE(buf->ensure_bound());
}

TEST_CASE("graph gradients of a flattened parameter accumulate into the flat buffer") {
  Leaf l(4, 1);
  Parameter& w = *l.parameters()[0];
  w.value = Tensor::from_vector<float>({-1.f, 2.f, -3.f, 4.f}, {4});
  auto buf = l.flatten();
  Graph g;
  Var y = relu(g.param(w));
  g.backward(y, Tensor::from_vector<float>({1.f, 1.f, 1.f, 1.f}, {4}));
  g.backward(y, Tensor::from_vector<float>({1.f, 1.f, 1.f, 1.f}, {4}));
  CHECK(buf->is_bound(w));  // the engine used the view instead of allocating a new grad
  const float* flat = buf->groups()[0].grads.data<float>();
  CHECK(flat[0] == 0.f);
  CHECK(flat[1] == 2.f);  // twice the gradient after two backward passes
  CHECK(flat[2] == 0.f);
  CHECK(flat[3] == 2.f);
}

TEST_CASE("Module::to(cpu) keeps the buffer and values; to(cuda) needs a GPU") {
  Tree t;
  t.flatten();
  const auto before = t.parameter("left.b").value.to_vector<float>();
  t.to(Device::cpu);
  CHECK(t.parameter("left.b").value.to_vector<float>() == before);
  CHECK(t.flat_buffer()->is_bound(t.parameter("left.b")));
  if (!cuda_available()) CHECK_THROWS_AS(t.to(Device::cuda), Error);
}

TEST_CASE("Linear init is uniform in +-1/sqrt(in), weight [in, out], and seeded") {
  Generator g1(7), g2(7), g3(8);
  Linear a(16, 5, true, g1), b(16, 5, true, g2), c(16, 5, true, g3);
  CHECK(a.weight().value.shape() == Shape{16, 5});
  REQUIRE(a.bias() != nullptr);
  CHECK(a.bias()->value.shape() == Shape{5});
  const double bound = 0.25;
  for (Parameter* p : a.parameters())
    for (float x : p->value.to_vector<float>()) CHECK((x >= -bound && x < bound));
  test::check_equal(a.weight().value, b.weight().value);
  test::check_equal(a.bias()->value, b.bias()->value);
  CHECK(test::max_abs_diff(a.weight().value, c.weight().value) > 0.0);
  // The draws actually spread over the interval (not all near zero).
  double lo = 1, hi = -1;
  for (float x : a.weight().value.to_vector<float>())
    lo = std::min<double>(lo, x), hi = std::max<double>(hi, x);
  CHECK(lo < -0.15);
  CHECK(hi > 0.15);
  Linear nb(3, 2, false, g1);
  CHECK(nb.bias() == nullptr);
  CHECK(nb.parameters().size() == 1);
  CHECK_THROWS_AS(Linear(0, 2, true, g1), Error);
}

TEST_CASE("Linear forward equals x W + b computed by hand") {
  Generator gen(3);
  Linear lin(3, 2, true, gen, DType::f64);
  lin.weight().value = Tensor::from_vector<double>({1, 2, 3, 4, 5, 6}, {3, 2});
  lin.bias()->value = Tensor::from_vector<double>({0.5, -1}, {2});
  Graph g;
  Var x = g.input(Tensor::from_vector<double>({1, 0, -1, 2, 1, 0.5}, {2, 3}));
  Var y = lin(g, x);
  // Row 0: [1,0,-1] W = [1-5, 2-6] = [-4, -4]; row 1: [2,1,0.5] W = [2+3+2.5, 4+4+3] = [7.5, 11].
  const std::vector<double> expected = {-4 + 0.5, -4 - 1, 7.5 + 0.5, 11 - 1};
  CHECK(y.value().to_vector<double>() == expected);
  CHECK_THROWS_AS(lin(g, g.input(Tensor::zeros({2, 4}, DType::f64))), Error);
}

TEST_CASE("Linear backward gives dW = x^T g and db = column sums of g") {
  Generator gen(3);
  Sequential net;
  auto lin = net.push_back(std::make_shared<Linear>(2, 2, true, gen, DType::f64));
  lin->weight().value = Tensor::from_vector<double>({1, 2, 3, 4}, {2, 2});
  lin->bias()->value = Tensor::from_vector<double>({0, 0}, {2});
  net.flatten();
  Graph g;
  Var x = g.input(Tensor::from_vector<double>({1, 2, 3, 4}, {2, 2}));
  Var y = net(g, x);
  g.backward(y, Tensor::from_vector<double>({1, 0, 0, 2}, {2, 2}));
  // x^T g = [[1,3],[2,4]] [[1,0],[0,2]] = [[1,6],[2,8]]
  CHECK(lin->weight().grad.to_vector<double>() == std::vector<double>{1, 6, 2, 8});
  CHECK(lin->bias()->grad.to_vector<double>() == std::vector<double>{1, 2});
}

namespace {
// Records the device hooks; refuses moves to CUDA when `refuse` is set.
struct Watcher : Module {
  std::vector<std::string>* log;
  std::string name;
  bool refuse = false;
  Watcher(std::vector<std::string>* l, std::string n) : log(l), name(std::move(n)) {
    register_parameter("w", Tensor::full({2}, 1.0));
  }
  void check_device_change(Device d) const override {
    log->push_back("check " + name + " " + std::string(device_name(d)));
    DIFFLUT_CHECK(!refuse || d == Device::cpu, "Watcher ", name, ": refused");
  }
  void on_device_changed(Device d) override {
    log->push_back("moved " + name + " " + std::string(device_name(d)));
  }
};
}  // namespace

TEST_CASE("Module::to asks every module before moving and tells every module after") {
  std::vector<std::string> log;
  auto root = std::make_shared<Watcher>(&log, "root");
  auto child = root->register_module("child", std::make_shared<Watcher>(&log, "child"));
  for (const bool flat : {false, true}) {
    CAPTURE(flat);
    log.clear();
    if (flat) root->flatten();
    root->to(Device::cpu);
    CHECK(log == std::vector<std::string>{"check root cpu", "check child cpu", "moved root cpu",
                                          "moved child cpu"});
  }
  // A refusal throws before anything moves or is told (the device below is never reached).
  child->refuse = true;
  log.clear();
  CHECK_THROWS_WITH_AS(root->to(Device::cuda), doctest::Contains("Watcher child: refused"), Error);
  CHECK(log == std::vector<std::string>{"check root cuda", "check child cuda"});
  CHECK(root->parameter("w").value.device() == Device::cpu);
}
