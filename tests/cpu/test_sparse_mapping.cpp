// Sparse learnable mapping in LUTLayer and LUTNetwork (lut/sparse_mapping.h): candidates and W's
// shape, the forward as a gather at the chosen candidates, C out of range refused in one line,
// training moves choices only among the candidates, and checkpoints reload exactly or refuse bad
// data naming the tensor. The op itself (forward, f64 gradient) is checked by its op cases.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "autograd/io/safetensors.h"
#include "autograd/ops.h"
#include "autograd/optim/adam.h"
#include "autograd/optim/sgd.h"
#include "lut/lut_layer.h"
#include "lut/lut_network.h"
#include "lut/model_memory.h"
#include "lut/sparse_mapping.h"
#include "test_networks.h"
#include "test_util.h"

using namespace difflut;
using test::toy_data;


namespace {

LUTNetworkConfig toy_config(MappingKind first, MappingKind later, int64_t C) {
  LUTNetworkConfig c = test::small_config(12, 3, {30, 12}, 4);
  c.first_mapping = first;
  c.later_mapping = later;
  c.sparse_candidates = C;
  return c;
}

std::shared_ptr<LUTNetwork> toy_network(const LUTNetworkConfig& c, uint64_t seed, const Tensor& x) {
  ThermometerEncoder enc("distributive", 3);
  enc.fit(x);
  Generator gen(seed);
  return std::make_shared<LUTNetwork>(c, enc, gen);
}

void train(LUTNetwork& net, const Tensor& x, const Tensor& y, int steps) {
  net.train();
  AdamOptions ao;
  ao.lr = 1e-2;
  Adam opt(net, ao);
  Graph g;
  for (int s = 0; s < steps; ++s) {
    g.clear();
    Var loss = cross_entropy(net.forward(g, g.input(x, "x")), g.input(y, "y"));
    opt.zero_grad();
    g.backward(loss);
    opt.step();
  }
}

}  // namespace

TEST_CASE("sparse LUTLayer: W [S, C], distinct candidates per slot, the choice is a candidate") {
  Generator gen(3);
  LUTLayer layer(test::sparse_layer_options(40, 25, 4, 5), gen);
  const int64_t S = 100;
  REQUIRE(layer.mapping_weights() != nullptr);
  CHECK(layer.mapping_weights()->value.shape() == Shape{S, 5});
  // On the CPU the scores update themselves (the fused dW + optimizer pass); fused_update = false
  // leaves them to the generic optimizer.
  CHECK(static_cast<bool>(layer.mapping_weights()->custom_update));
  LUTLayerOptions generic = test::sparse_layer_options(40, 25, 4, 5);
  generic.fused_update = false;
  Generator gen2(3);
  CHECK_FALSE(static_cast<bool>(LUTLayer(generic, gen2).mapping_weights()->custom_update));
  const Tensor& cand = layer.mapping_candidates();
  REQUIRE(cand.shape() == Shape{S, 5});
  const std::vector<int32_t> cv = cand.to_vector<int32_t>();
  const std::vector<int64_t> chosen = layer.mapping_indices().to_vector<int64_t>();
  std::set<int32_t> firsts;
  for (int64_t s = 0; s < S; ++s) {
    const std::set<int32_t> row(cv.begin() + s * 5, cv.begin() + (s + 1) * 5);
    CHECK(row.size() == 5);
    CHECK(*row.begin() >= 0);
    CHECK(*row.rbegin() < 40);
    CHECK(row.count(static_cast<int32_t>(chosen[static_cast<size_t>(s)])) == 1);
    firsts.insert(cv[static_cast<size_t>(s * 5)]);
  }
  CHECK(firsts.size() == 40);  // candidate 0 is a random mapping: every input covered (S >= F)
  // C = F is allowed: every input is a candidate of every slot.
  LUTLayer full(test::sparse_layer_options(6, 3, 2, 6), gen);
  CHECK(full.mapping_weights()->value.shape() == Shape{6, 6});
  // A sparse layer is set through W and the candidates, not a fixed index.
  CHECK_THROWS_AS(layer.set_mapping_indices(Tensor::zeros({S}, DType::i64)), Error);
}

TEST_CASE("sparse mapping: C < 1 and C > inputs are one-line errors") {
  Generator gen(1);
  CHECK_THROWS_WITH_AS(
      LUTLayer(test::sparse_layer_options(10, 4, 2, 0), gen),
      "LUTLayer: expected sparse_candidates in [1, 10] (the layer's inputs), found 0", Error);
  CHECK_THROWS_WITH_AS(
      LUTLayer(test::sparse_layer_options(10, 4, 2, 11), gen),
      "LUTLayer: expected sparse_candidates in [1, 10] (the layer's inputs), found 11", Error);
  Tensor x, y;
  toy_data(16, 12, 3, 1, x, y);
  // Layer 1 reads the 30 outputs of layer 0: C = 31 fits layer 0 (36 inputs) but not layer 1.
  CHECK_THROWS_WITH_AS(toy_network(toy_config(MappingKind::sparse, MappingKind::sparse, 31), 1, x),
                       "LUTNetwork: expected sparse_candidates in [1, 30] (the inputs of layer 1, "
                       "whose mapping is sparse), found 31",
                       Error);
  // Only sparse layers are bound by C.
  CHECK_NOTHROW(toy_network(toy_config(MappingKind::sparse, MappingKind::random, 31), 1, x));
  CHECK_THROWS_AS(toy_network(toy_config(MappingKind::sparse, MappingKind::random, 0), 1, x),
                  Error);
  CHECK(parse_mapping_kind("sparse") == MappingKind::sparse);
  CHECK(mapping_kind_name(MappingKind::sparse) == "sparse");
}

TEST_CASE("sparse LUTLayer: the forward reads the chosen candidate of every slot") {
  Generator gen(7);
  LUTLayerOptions o = test::sparse_layer_options(16, 6, 3, 4);
  LUTLayer layer(o, gen);
  // The same layer with a random mapping set to the sparse layer's choice computes the same bits.
  LUTLayerOptions ro = o;
  ro.mapping = MappingKind::random;
  LUTLayer fixed(ro, gen);
  fixed.node_params().value.copy_(layer.node_params().value);
  fixed.set_mapping_indices(layer.mapping_indices());
  Generator dg(2);
  Tensor x = Tensor::rand({9, 16}, dg);
  for (int64_t i = 0; i < x.numel(); ++i)
    x.data<float>()[i] = x.data<float>()[i] < 0.5f ? 0.f : 1.f;
  Graph g;
  const Tensor a = layer.forward(g, g.input(x)).value();
  const Tensor b = fixed.forward(g, g.input(x)).value();
  test::check_equal(a, b);
}

TEST_CASE("sparse network: training moves choices among the candidates; the checkpoint reloads") {
  Tensor x, y;
  toy_data(64, 12, 3, 11, x, y);
  auto net = toy_network(toy_config(MappingKind::sparse, MappingKind::sparse, 8), 11, x);
  const Tensor cand0 = net->layer(0).mapping_candidates().clone();
  const Tensor choice0 = net->layer(0).mapping_indices();
  net->eval();
  const double acc0 = accuracy(net->predict(x, 16), y);
  train(*net, x, y, 60);
  net->eval();
  const Tensor pred = net->predict(x, 16);
  const double acc1 = accuracy(pred, y);
  MESSAGE("toy accuracy before " << acc0 << ", after " << acc1);
  CHECK(acc1 > 0.6);
  // The candidates are fixed; the choices moved, each to one of its slot's candidates.
  test::check_equal(net->layer(0).mapping_candidates(), cand0);
  const std::vector<int64_t> c0 = choice0.to_vector<int64_t>();
  const std::vector<int64_t> c1 = net->layer(0).mapping_indices().to_vector<int64_t>();
  const std::vector<int32_t> cv = cand0.to_vector<int32_t>();
  int moved = 0;
  for (size_t s = 0; s < c1.size(); ++s) {
    moved += c1[s] != c0[s];
    CHECK(std::find(cv.begin() + static_cast<long>(s * 8),
                    cv.begin() + static_cast<long>(s * 8 + 8),
                    static_cast<int32_t>(c1[s])) != cv.begin() + static_cast<long>(s * 8 + 8));
  }
  MESSAGE(moved << " of " << c1.size() << " slots changed their choice");
  CHECK(moved > 0);

  const std::string dir = test::temp_dir("sparse_ckpt");
  // W and the candidates are saved even when the option leaves dense W out (they define the map).
  for (bool with_w : {false, true}) {
    LUTNetworkSaveOptions so;
    so.mapping_weights = with_w;
    const std::string path = dir + (with_w ? "/full.safetensors" : "/model.safetensors");
    save_lut_network(*net, path, so);
    auto back = load_lut_network(path);
    test::check_equal(back->predict(x, 7), pred);
    test::check_equal(back->logits(x), net->logits(x));
    CHECK(back->config().sparse_candidates == 8);
    for (size_t i = 0; i < net->num_layers(); ++i) {
      CHECK(back->layer(i).mapping_kind() == MappingKind::sparse);
      test::check_equal(back->layer(i).mapping_candidates(), net->layer(i).mapping_candidates());
      test::check_equal(back->layer(i).mapping_weights()->value,
                        net->layer(i).mapping_weights()->value);
      test::check_equal(back->layer(i).mapping_indices(), net->layer(i).mapping_indices());
    }
  }
}

namespace {
// Trains a toy network `steps` steps with the optimizer `make` builds, `backwards` backward passes
// a step (the second adds its gradient), and returns every parameter and optimizer entry.
template <class MakeOpt>
NamedTensors trained_state(LUTNetworkConfig c, bool fused, const Tensor& x, const Tensor& y,
                           int steps, int backwards, const MakeOpt& make) {
  c.fused_update = fused;
  auto net = toy_network(c, 5, x);
  REQUIRE(static_cast<bool>(net->layer(0).mapping_weights()->custom_update) == fused);
  net->train();
  auto opt = make(*net);
  Graph g;
  for (int s = 0; s < steps; ++s) {
    opt->zero_grad();
    for (int b = 0; b < backwards; ++b) {
      g.clear();
      Var loss = cross_entropy(net->forward(g, g.input(x, "x")), g.input(y, "y"));
      g.backward(loss);
    }
    opt->step();
  }
  NamedTensors out;
  for (auto& [name, param] : net->named_parameters()) out.emplace_back(name, param->value.clone());
  for (auto& e : opt->state_dict()) out.push_back(std::move(e));
  // By name: a parameter with its own update sits elsewhere in the optimizer's flat buffers.
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

template <class MakeOpt>
void check_fused_matches_generic(const LUTNetworkConfig& c, const Tensor& x, const Tensor& y,
                                 int backwards, const MakeOpt& make) {
  const NamedTensors fused = trained_state(c, true, x, y, 12, backwards, make);
  const NamedTensors generic = trained_state(c, false, x, y, 12, backwards, make);
  REQUIRE(fused.size() == generic.size());
  for (size_t i = 0; i < fused.size(); ++i) {
    CAPTURE(fused[i].first);
    REQUIRE(fused[i].first == generic[i].first);
    test::check_equal(fused[i].second, generic[i].second);  // bit for bit
  }
}
}  // namespace

TEST_CASE("sparse network: the fused update gives the generic optimizer's bits") {
  Tensor x, y;
  toy_data(48, 12, 3, 21, x, y);
  // C = 5 sums dW on the float path, C = 20 on the bit path (binary inputs, 16 or more terms).
  for (const int64_t C : {5, 20}) {
    CAPTURE(C);
    const LUTNetworkConfig c = toy_config(MappingKind::sparse, MappingKind::sparse, C);
    for (const int backwards : {1, 2}) {
      CAPTURE(backwards);
      check_fused_matches_generic(c, x, y, backwards, [](LUTNetwork& n) {
        AdamOptions o;
        o.lr = 1e-2;
        o.weight_decay = 1e-3;
        return std::make_unique<Adam>(n, o);
      });
    }
    check_fused_matches_generic(c, x, y, 1, [](LUTNetwork& n) {
      AdamOptions o;
      o.lr = 1e-2;
      o.weight_decay = 1e-2;
      return std::make_unique<AdamW>(n, o);
    });
    // SGD: momentum with dampening and weight decay, Nesterov momentum, plain.
    for (const SGDOptions& o :
         {SGDOptions{.lr = 0.1,
         .momentum = 0.9,
         .dampening = 0.1,
         .weight_decay = 1e-3,
         .nesterov = false},
          SGDOptions{.lr = 0.1, .momentum = 0.9, .nesterov = true}, SGDOptions{.lr = 0.1}}) {
      check_fused_matches_generic(c, x, y, 1,
                                  [&o](LUTNetwork& n) { return std::make_unique<SGD>(n, o); });
    }
  }
}

TEST_CASE("fused mapping updates: zero_grad discards a pending backward, as for any gradient") {
  // backward, zero_grad, backward, step must train exactly as backward, step: the discarded
  // batch may not reach the fused update (Optimizer::zero_grad and Module::zero_grad alike).
  Tensor x, y, x2, y2;
  toy_data(32, 12, 3, 31, x, y);
  toy_data(32, 12, 3, 32, x2, y2);  // the batch whose gradient is discarded
  for (const MappingKind first : {MappingKind::sparse, MappingKind::learnable}) {
    for (const bool through_module : {false, true}) {
      CAPTURE(static_cast<int>(first));
      CAPTURE(through_module);
      std::vector<Tensor> finals;
      for (const bool discard : {false, true}) {
        LUTNetworkConfig c = toy_config(first, MappingKind::random, 20);
        auto net = toy_network(c, 9, x);
        REQUIRE(static_cast<bool>(net->layer(0).mapping_weights()->custom_update));
        net->train();
        AdamOptions o;
        o.lr = 1e-2;
        Adam opt(*net, o);
        Graph g;
        for (int s = 0; s < 4; ++s) {
          if (discard) {
            g.clear();
            g.backward(cross_entropy(net->forward(g, g.input(x2, "x")), g.input(y2, "y")));
          }
          if (through_module)
            net->zero_grad();
          else
            opt.zero_grad();
          g.clear();
          g.backward(cross_entropy(net->forward(g, g.input(x, "x")), g.input(y, "y")));
          opt.step();
        }
        finals.push_back(net->layer(0).mapping_weights()->value.clone());
      }
      test::check_equal(finals[1], finals[0]);
    }
  }
}

TEST_CASE("sparse LUTLayer: a move keeps the fused update on the CPU; a pending one is kept") {
  // Moving to CUDA drops the fused update (no CUDA kernel) and moving back installs it again;
  // the CUDA half runs in tests/cuda/test_sparse_mapping_cuda.cpp. Here: the CPU half, and that a
  // move never drops a stashed backward silently.
  Tensor x, y;
  toy_data(32, 12, 3, 31, x, y);
  auto net = toy_network(toy_config(MappingKind::sparse, MappingKind::random, 20), 9, x);
  REQUIRE(net->layer(0).sparse_fused_update_active());
  net->to(Device::cpu);
  CHECK(net->layer(0).sparse_fused_update_active());
  CHECK(static_cast<bool>(net->layer(0).mapping_weights()->custom_update));
  Graph g;
  g.backward(cross_entropy(net->forward(g, g.input(x, "x")), g.input(y, "y")));
  net->to(Device::cpu);  // the same device: the stash stays for the step
  CHECK(net->layer(0).sparse_fused_update_active());
  // A fused layer built without the fused update stays generic on the CPU.
  LUTNetworkConfig c = toy_config(MappingKind::sparse, MappingKind::random, 20);
  c.fused_update = false;
  auto generic = toy_network(c, 9, x);
  generic->to(Device::cpu);
  CHECK_FALSE(generic->layer(0).sparse_fused_update_active());
  CHECK_FALSE(static_cast<bool>(generic->layer(0).mapping_weights()->custom_update));
}

TEST_CASE("sparse mapping fused step: a stash from another W is refused in one line") {
  Generator gen(4);
  Parameter p;
  p.name = "scores";
  p.value = sparse_mapping_init(6, 3, gen);
  SparseMappingState state;
  state.stash.push_back({Tensor::zeros({2, 10}), Tensor::zeros({2, 7}),
                         Tensor::zeros({18}, DType::i32)});  // g has 7 slots, W has 6
  Tensor m = Tensor::zeros({6, 3}), v = Tensor::zeros({6, 3});
  OptimizerStep st;
  st.lr = 0.1;
  st.step = 1;
  st.state[0] = &m;
  st.state[1] = &v;
  const Tensor before = p.value.clone();
  CHECK_THROWS_WITH_AS(sparse_mapping_fused_step(state, p, st),
                       doctest::Contains("does not belong to 'scores'"), Error);
  test::check_equal(p.value, before);  // nothing written
  st.state[1] = nullptr;
  state.stash.clear();
  CHECK_THROWS_WITH_AS(sparse_mapping_fused_step(state, p, st),
                       doctest::Contains("expected the optimizer's second moment"), Error);
}

TEST_CASE("load_lut_network: bad sparse mapping data is refused naming the tensor") {
  Tensor x, y;
  toy_data(32, 12, 3, 4, x, y);
  auto net = toy_network(toy_config(MappingKind::sparse, MappingKind::random, 4), 4, x);
  const std::string dir = test::temp_dir("sparse_bad");
  save_lut_network(*net, dir + "/m.safetensors");
  const SafetensorsContents good = load_safetensors(dir + "/m.safetensors");
  // Rewrites one tensor (or drops it with an undefined replacement) and expects an error naming it.
  auto expect = [&](const std::string& name, const Tensor& repl, const std::string& message) {
    NamedTensors t;
    for (const auto& [n, v] : good.tensors)
      if (n != name)
        t.emplace_back(n, v);
      else if (repl.defined())
        t.emplace_back(n, repl);
    const std::string path = dir + "/edited.safetensors";
    save_safetensors(path, t, good.metadata);
    INFO(name << " -> " << message);
    CHECK_THROWS_WITH_AS(load_lut_network(path), doctest::Contains(message.c_str()), Error);
  };
  const Tensor* cand = nullptr;
  const Tensor* w = nullptr;
  for (const auto& [n, v] : good.tensors) {
    if (n == "layer0.mapping_candidates") cand = &v;
    if (n == "layer0.mapping_weights") w = &v;
  }
  REQUIRE(cand != nullptr);
  REQUIRE(w != nullptr);
  const int64_t S = cand->size(0);
  expect("layer0.mapping_candidates", Tensor(), "missing tensor 'layer0.mapping_candidates'");
  expect("layer0.mapping_weights", Tensor(), "missing tensor 'layer0.mapping_weights'");
  expect("layer0.mapping_candidates", Tensor::zeros({S, 3}, DType::i32),
         "tensor 'layer0.mapping_candidates' expected shape [" + std::to_string(S) + ", 4]");
  expect("layer0.mapping_candidates", Tensor::zeros({S, 4}, DType::f32),
         "'layer0.mapping_candidates' expected an integer dtype, found f32");
  Tensor out_of_range = cand->clone();
  out_of_range.data<int32_t>()[5] = 36;  // the encoder gives 36 bits
  expect("layer0.mapping_candidates", out_of_range,
         "tensor 'layer0.mapping_candidates'[1, 1] = 36 is outside [0, 36)");
  // W edited so that slot 0 chooses another candidate: the stored indices no longer agree.
  Tensor w2 = w->clone();
  float* wp = w2.data<float>();
  const int32_t* cp = cand->data<int32_t>();
  int best = 0;
  for (int c = 1; c < 4; ++c)
    if (wp[c] > wp[best]) best = c;
  const int other = best == 0 ? 1 : 0;
  wp[other] = wp[best] + 1.0f;
  expect("layer0.mapping_weights", w2,
         "tensor 'layer0.mapping_indices'[0] = " + std::to_string(cp[best]) + ", expected " +
             std::to_string(cp[other]));
  // A C in the metadata that no layer can have.
  Metadata meta = good.metadata;
  std::string& model = meta["difflut.model"];
  const size_t at = model.find("\"sparse_candidates\": 4");
  REQUIRE(at != std::string::npos);
  model.replace(at, 22, "\"sparse_candidates\": 0");
  save_safetensors(dir + "/badc.safetensors", good.tensors, meta);
  CHECK_THROWS_WITH_AS(load_lut_network(dir + "/badc.safetensors"),
                       doctest::Contains("sparse_candidates"), Error);
}

TEST_CASE("sparse network: later layers take later_sparse_candidates; the checkpoint keeps both") {
  Tensor x, y;
  toy_data(64, 12, 3, 1, x, y);
  LUTNetworkConfig c = toy_config(MappingKind::sparse, MappingKind::sparse, 16);
  c.later_sparse_candidates = 4;
  CHECK(sparse_candidates_of_layer(c, 0) == 16);
  CHECK(sparse_candidates_of_layer(c, 1) == 4);
  auto net = toy_network(c, 3, x);
  CHECK(net->layer(0).mapping_candidates().size(1) == 16);
  CHECK(net->layer(1).mapping_candidates().size(1) == 4);
  CHECK(net->layer(1).mapping_weights()->value.size(1) == 4);
  train(*net, x, y, 5);
  const std::string path = test::temp_dir("sparse_later_c") + "/model.safetensors";
  save_lut_network(*net, path);
  auto back = load_lut_network(path);
  CHECK(back->config().sparse_candidates == 16);
  CHECK(back->config().later_sparse_candidates == 4);
  test::check_equal(back->logits(x), net->logits(x));
  // The later C is checked against the later layer's inputs (30), the first C against 36.
  c.later_sparse_candidates = 31;
  CHECK_THROWS_WITH_AS(toy_network(c, 1, x),
                       "LUTNetwork: expected later_sparse_candidates in [1, 30] (the inputs of "
                       "layer 1, whose mapping is sparse), found 31",
                       Error);
  // Equal to the first layer's C, the loaded config says 0 ("the same"), as a config gives it.
  c.later_sparse_candidates = 16;
  save_lut_network(*toy_network(c, 1, x), path);
  CHECK(load_lut_network(path)->config().later_sparse_candidates == 0);
  // The memory estimate counts each layer's own C.
  c.later_sparse_candidates = 4;
  const ModelMemoryEstimate two = estimate_lut_network_memory(c, 36);
  c.later_sparse_candidates = 0;
  const ModelMemoryEstimate one = estimate_lut_network_memory(c, 36);
  CHECK(one.parameter_bytes - two.parameter_bytes == doctest::Approx(12.0 * 4 * (16 - 4) * 4));
}

TEST_CASE("memory estimate: a sparse mapping's W is [slots, C], not [inputs, slots]") {
  LUTNetworkConfig c = test::small_config(784, 10, {64000, 64000}, 6);
  c.first_mapping = MappingKind::sparse;
  c.later_mapping = MappingKind::sparse;
  c.sparse_candidates = 8;
  const double S = 64000.0 * 6, tables = 2 * 64000.0 * 64 * 4;  // both layers, dwn: 2^6 f32 a node
  const ModelMemoryEstimate sparse = estimate_lut_network_memory(c, 2352);
  CHECK(sparse.parameter_bytes == doctest::Approx(tables + 2 * S * 8 * 4));
  CHECK(sparse.optimizer_bytes == doctest::Approx(2 * (tables + 2 * S * 8 * 4)));
  c.first_mapping = MappingKind::learnable;
  c.later_mapping = MappingKind::random;
  const ModelMemoryEstimate dense = estimate_lut_network_memory(c, 2352);
  // The dense first layer alone: W [2352, 384000] f32 and two Adam moments, 10.8 GB.
  CHECK(dense.parameter_bytes == doctest::Approx(tables + 2352 * S * 4));
  CHECK(dense.total() > 10.8e9);
  CHECK(sparse.total() < 0.35e9);  // tables, W [S, 8] and candidates of both layers
}

TEST_CASE("grouped mapping: each node's candidates are its group's window of the inputs") {
  // F = 10 inputs, G = 3: base 3, overlap 0.5 widens by 1 -> C = 4; N = 7 nodes in groups of 3.
  CHECK(grouped_candidate_count(10, 3, 0.0) == 3);
  CHECK(grouped_candidate_count(10, 3, 0.5) == 4);
  CHECK(grouped_candidate_count(10, 1, 0.5) == 10);  // one group: all inputs, clipped
  const Tensor cand = grouped_mapping_candidates(10, 7, 2, 3, 0.5);
  REQUIRE(cand.shape() == Shape{14, 4});
  const std::vector<int32_t> v = cand.to_vector<int32_t>();
  const int32_t want_start[7] = {0, 0, 0, 2, 2, 2, 5};  // groups 0, 1, 2 start at 0, 3-1, 6-1
  for (int j = 0; j < 7; ++j)
    for (int l = 0; l < 2; ++l)
      for (int c = 0; c < 4; ++c)
        CHECK(v[static_cast<size_t>((j * 2 + l) * 4 + c)] == want_start[j] + c);
  CHECK_THROWS_WITH_AS(grouped_mapping_candidates(10, 7, 2, 11, 0.0),
                       doctest::Contains("expected 1 <= groups <= 10"), Error);
  // Nodes fill groups in blocks of ceil(N / G): 7 nodes in 5 groups are 4 blocks of 2, and 3 nodes
  // in 5 groups 3 blocks of 1; the empty groups' inputs would never be connected.
  CHECK(grouped_mapping_candidates(10, 7, 2, 4, 0.0).shape() == Shape{14, 2});
  CHECK_THROWS_WITH_AS(grouped_mapping_candidates(10, 7, 2, 5, 0.0),
                       "grouped mapping: expected every one of the 5 groups to get a node, found 7 "
                       "nodes filling 4 groups of 2",
                       Error);
  CHECK_THROWS_WITH_AS(grouped_mapping_candidates(10, 3, 2, 5, 0.0),
                       doctest::Contains("found 3 nodes filling 3 groups of 1"), Error);
  CHECK_THROWS_WITH_AS(grouped_candidate_count(10, 2, 0.75),
                       doctest::Contains("expected an overlap in [0, 0.5], found 0.75"), Error);
}

TEST_CASE("grouped network: trains, chooses within the windows, and the checkpoint reloads") {
  Tensor x, y;
  toy_data(64, 12, 3, 13, x, y);
  LUTNetworkConfig c = toy_config(MappingKind::sparse, MappingKind::sparse, 8);
  c.sparse_groups = 3;
  c.sparse_group_overlap = 0.25;
  auto net = toy_network(c, 13, x);
  // Layer 0 reads 36 encoded bits (12 features x 3): windows of 12 + 3; layer 1 reads 30: 10 + 2.
  CHECK(net->layer(0).mapping_candidates().size(1) == 15);
  CHECK(net->layer(1).mapping_candidates().size(1) == 12);
  train(*net, x, y, 40);
  net->eval();
  const Tensor pred = net->predict(x, 16);
  const std::vector<int64_t> choice = net->layer(0).mapping_indices().to_vector<int64_t>();
  const std::vector<int32_t> cand = net->layer(0).mapping_candidates().to_vector<int32_t>();
  for (size_t s = 0; s < choice.size(); ++s) {
    CHECK(choice[s] >= cand[s * 15]);
    CHECK(choice[s] <= cand[s * 15 + 14]);
  }
  const std::string path = test::temp_dir("grouped_ckpt") + "/model.safetensors";
  save_lut_network(*net, path);
  auto back = load_lut_network(path);
  CHECK(back->config().sparse_groups == 3);
  CHECK(back->config().sparse_group_overlap == doctest::Approx(0.25));
  test::check_equal(back->predict(x, 7), pred);
  for (size_t i = 0; i < net->num_layers(); ++i)
    test::check_equal(back->layer(i).mapping_candidates(), net->layer(i).mapping_candidates());
}

TEST_CASE(
    "weighted candidates: distinct per slot, never weight 0, frequencies follow the weights") {
  // Inputs 0, 2, 5 and 7 carry no weight; 6 carries half of it.
  const std::vector<double> w = {0, 1, 0, 3, 1, 0, 5, 0};
  Generator gen(7);
  const int64_t S = 4000;
  const Tensor one = weighted_mapping_candidates(w, S, 1, gen);
  CHECK(one.shape() == Shape{S, 1});
  std::vector<int64_t> count(w.size(), 0);
  for (int32_t i : one.to_vector<int32_t>()) ++count[static_cast<size_t>(i)];
  for (size_t i : {0, 2, 5, 7}) CHECK(count[i] == 0);
  // A single draw picks input i with probability w[i] / 10 (binomial sd <= 0.008 at S = 4000).
  for (size_t i : {1, 3, 4, 6})
    CHECK(std::abs(static_cast<double>(count[i]) / S - w[i] / 10) < 0.025);
  // One input holding over half the weight: the slots are drawn by keys, same distribution.
  const std::vector<int32_t> heavy =
      weighted_mapping_candidates({1, 9, 0}, S, 1, gen).to_vector<int32_t>();
  CHECK(std::abs(static_cast<double>(std::count(heavy.begin(), heavy.end(), 1)) / S - 0.9) < 0.02);
  CHECK(std::count(heavy.begin(), heavy.end(), 2) == 0);
  const Tensor three = weighted_mapping_candidates(w, 500, 3, gen);
  const std::vector<int32_t> v = three.to_vector<int32_t>();
  for (int64_t s = 0; s < 500; ++s) {
    std::set<int32_t> row(v.begin() + s * 3, v.begin() + s * 3 + 3);
    CHECK(row.size() == 3);
    for (int32_t i : row) CHECK(w[static_cast<size_t>(i)] > 0);
  }
  // A function of the generator's stream.
  Generator a(11), b(11);
  CHECK(weighted_mapping_candidates(w, 50, 4, a).to_vector<int32_t>() ==
        weighted_mapping_candidates(w, 50, 4, b).to_vector<int32_t>());
}

TEST_CASE("weighted candidates: bad weights and C above the weighted inputs are one-line errors") {
  Generator gen(1);
  CHECK_THROWS_WITH_AS(weighted_mapping_candidates({1, 0, 2}, 4, 3, gen),
                       "weighted_mapping_candidates: expected 1 <= C <= 2 (the inputs of positive "
                       "weight, of 3), found 3",
                       Error);
  CHECK_THROWS_WITH_AS(weighted_mapping_candidates({1, -1, 2}, 4, 1, gen),
                       "weighted_mapping_candidates: expected finite, non-negative weights, found "
                       "-1 for input 1",
                       Error);
  CHECK_THROWS_AS(weighted_mapping_candidates({1, std::nan(""), 2}, 4, 1, gen), Error);
  CHECK_THROWS_AS(weighted_mapping_candidates({1, 2}, 4, 0, gen), Error);
}
