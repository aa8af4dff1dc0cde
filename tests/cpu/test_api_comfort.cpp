// The API comforts a training loop relies on: Graph::Step keeps the tape from growing across
// iterations (nodes built before the step stay), and LUTNetwork::predict/logits evaluate in eval
// mode whatever mode the model is in, restoring it afterwards.
#include <doctest/doctest.h>

#include "autograd/graph.h"
#include "autograd/nn/linear.h"
#include "autograd/ops.h"
#include "autograd/optim/sgd.h"
#include "lut/lut_network.h"
#include "test_util.h"

using namespace difflut;

namespace {

std::shared_ptr<LUTNetwork> small_network(const std::string& node_type, Tensor& x) {
  Generator gen(5);
  x = Tensor::rand({40, 6}, gen);
  ThermometerEncoder enc("uniform", 3);
  enc.fit(x);
  const LUTNetworkConfig c{.num_features = 6,
                           .num_classes = 2,
                           .hidden_sizes = {16, 8},
                           .k = 3,
                           .node_type = node_type,
                           .node_options = {},
                           .first_mapping = MappingKind::random};
  return std::make_shared<LUTNetwork>(c, enc, gen);
}

}  // namespace

TEST_CASE("Graph::Step: the tape is cut back to where the step began, every iteration") {
  Generator gen(1);
  Linear lin(4, 3, /*bias=*/true, gen);
  SGD opt(lin, {.lr = 0.1});
  Graph g;
  Var x = g.input(Tensor::rand({8, 4}, gen), "x");  // built before the loop: stays
  size_t during = 0;
  for (int it = 0; it < 5; ++it) {
    Graph::Step step = g.step();
    opt.zero_grad();
    g.backward(mean_all(lin(g, x)));
    opt.step();
    during = g.size();
    CHECK(during > 1);
  }
  CHECK(g.size() == 1);
  CHECK(g.node(x.id).name == "x");
  // Without the step, the same loop grows the tape by `during - 1` nodes per iteration.
  for (int it = 0; it < 3; ++it) g.backward(mean_all(lin(g, x)));
  CHECK(g.size() == 1 + 3 * (during - 1));
}

TEST_CASE("Graph::Step: a clear() inside the step is harmless; truncate checks its bound") {
  Graph g;
  {
    Graph::Step step = g.step();
    g.input(Tensor::ones({2}));
    g.clear();
  }
  CHECK(g.size() == 0);
  CHECK_THROWS_WITH_AS(g.truncate(1), doctest::Contains("expected at most 0 nodes, found 1"),
                       Error);
}

TEST_CASE("LUTNetwork::predict and logits run in eval mode and restore the mode") {
  for (const char* type : {"linear_lut", "dwn"}) {
    CAPTURE(type);
    Tensor x;
    auto net = small_network(type, x);
    net->eval();
    const Tensor want_logits = net->logits(x);
    const Tensor want = net->predict(x);
    CHECK_FALSE(net->is_training());

    net->train();
    test::check_equal(net->logits(x), want_logits);
    test::check_equal(net->predict(x), want);
    CHECK(net->is_training());
  }
}

TEST_CASE("LUTNetwork::logits differ from the training forward where the node type's do") {
  Tensor x;
  auto net = small_network("linear_lut", x);  // soft sigmoid nodes in training, bits in eval
  net->train();
  Graph g;
  const Tensor soft = net->forward(g, g.input(x)).value();
  const Tensor hard = net->logits(x);
  bool differ = false;
  for (int64_t i = 0; i < soft.numel(); ++i)
    differ = differ || soft.data<float>()[i] != hard.data<float>()[i];
  CHECK(differ);
}
