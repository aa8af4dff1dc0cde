// LUTLayer and LUTNetwork on the CPU: shapes, mapping kinds, k bounds, node names, forward and
// gradients against a manual gather + dwn_lut graph, checkpoints that reload to identical
// predictions.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "autograd/io/safetensors.h"
#include "autograd/ops.h"
#include "autograd/optim/adam.h"
#include "lut/lut_layer.h"
#include "lut/lut_network.h"
#include "lut/mapping.h"
#include "lut/node_ops.h"
#include "lut/node_registry.h"
#include "test_networks.h"
#include "test_util.h"

using namespace difflut;
using test::random_bits;
using test::toy_data;

namespace {

LUTLayerOptions opts(int64_t F, int64_t N, int k, MappingKind m) {
  LUTLayerOptions o;
  o.input_size = F;
  o.num_nodes = N;
  o.k = k;
  o.mapping = m;
  return o;
}


// Naive oracle: out[b, j] = 1[T[j][addr] > 0], addr = Σ_l x[b, idx[j*k+l]] << l.
std::vector<float> manual_dwn_layer(const Tensor& x, const Tensor& idx, const Tensor& table,
                                    int k) {
  const int64_t B = x.size(0), F = x.size(1), N = table.size(0), K = table.size(1);
  const float* xp = x.data<float>();
  const int64_t* ip = idx.data<int64_t>();
  const float* tp = table.data<float>();
  std::vector<float> out(static_cast<size_t>(B * N));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < N; ++j) {
      int64_t a = 0;
      for (int l = 0; l < k; ++l)
        if (xp[b * F + ip[j * k + l]] >= 0.5f) a |= int64_t{1} << l;
      out[static_cast<size_t>(b * N + j)] = tp[j * K + a] > 0 ? 1.f : 0.f;
    }
  return out;
}


std::shared_ptr<LUTNetwork> toy_network(MappingKind first, MappingKind later, uint64_t seed,
                                        Tensor& x, Tensor& y) {
  toy_data(64, 12, 3, seed, x, y);
  ThermometerEncoder enc("distributive", 3);
  enc.fit(x);
  LUTNetworkConfig c = test::small_config(12, 3, {30, 12}, 4);
  c.first_mapping = first;
  c.later_mapping = later;
  Generator gen(seed);
  return std::make_shared<LUTNetwork>(c, enc, gen);
}

}  // namespace

TEST_CASE("LUTLayer: output and parameter shapes, clamp from the node type") {
  Generator gen(1);
  LUTLayer layer(opts(20, 7, 3, MappingKind::random), gen);
  CHECK(layer.node_params().value.shape() == Shape{7, 8});
  CHECK(layer.node_params().clamp_min == -1.0);
  CHECK(layer.node_params().clamp_max == 1.0);
  CHECK(layer.mapping_weights() == nullptr);
  CHECK(layer.named_parameters().size() == 1);
  Graph g;
  Var out = layer.forward(g, g.input(random_bits(5, 20, 2)));
  CHECK(out.shape() == Shape{5, 7});
  for (float v : out.value().to_vector<float>()) CHECK((v == 0.f || v == 1.f));
}

TEST_CASE("LUTLayer: k outside [1, 8] is an error, k = 1 and k = 8 work") {
  Generator gen(1);
  CHECK_THROWS_AS(LUTLayer(opts(20, 4, 0, MappingKind::random), gen), Error);
  CHECK_THROWS_AS(LUTLayer(opts(20, 4, 9, MappingKind::random), gen), Error);
  CHECK_THROWS_AS(LUTLayer(opts(0, 4, 2, MappingKind::random), gen), Error);
  CHECK_THROWS_AS(LUTLayer(opts(20, 0, 2, MappingKind::random), gen), Error);
  for (int k : {1, 8}) {
    LUTLayer layer(opts(20, 3, k, MappingKind::cyclic), gen);
    CHECK(layer.node_params().value.shape() == Shape{3, int64_t{1} << k});
    Graph g;
    CHECK(layer.forward(g, g.input(random_bits(4, 20, 3))).shape() == Shape{4, 3});
  }
}

TEST_CASE("LUTLayer: random mapping uses every input before reusing one; cyclic is the window") {
  Generator gen(5);
  LUTLayer r(opts(10, 8, 3, MappingKind::random), gen);
  const std::vector<int64_t> idx = r.mapping_indices().to_vector<int64_t>();
  REQUIRE(idx.size() == 24);
  std::vector<int> count(10, 0);
  for (int64_t i : idx) {
    REQUIRE(i >= 0);
    REQUIRE(i < 10);
    ++count[static_cast<size_t>(i)];
  }
  CHECK(*std::max_element(count.begin(), count.end()) -
            *std::min_element(count.begin(), count.end()) <=
        1);

  LUTLayer c(opts(10, 8, 3, MappingKind::cyclic), gen);
  CHECK(c.mapping_indices().to_vector<int64_t>() == cyclic_mapping(10, 24, 3).to_vector<int64_t>());
}

TEST_CASE(
    "LUTLayer: forward equals a manual gather + DWN lookup, for random and cyclic, k = 1..8") {
  for (MappingKind m : {MappingKind::random, MappingKind::cyclic}) {
    for (int k = 1; k <= 8; ++k) {
      Generator gen(static_cast<uint64_t>(10 + k));
      LUTLayer layer(opts(17, 9, k, m), gen);
      const Tensor x = random_bits(6, 17, static_cast<uint64_t>(k));
      Graph g;
      Var out = layer.forward(g, g.input(x));
      CHECK(out.value().to_vector<float>() ==
            manual_dwn_layer(x, layer.mapping_indices(), layer.node_params().value, k));
    }
  }
}

TEST_CASE("LUTLayer: gradients equal those of the same graph built by hand from gather + dwn_lut") {
  Generator gen(3);
  LUTLayer layer(opts(15, 6, 3, MappingKind::random), gen);
  const Tensor x = random_bits(4, 15, 9);
  Generator sg(4);
  const Tensor seed = Tensor::randn({4, 6}, sg);

  Graph g1;
  Var xi = g1.input(x, "x", /*requires_grad=*/true);
  Var y1 = layer.forward(g1, xi);
  layer.zero_grad();
  g1.backward(y1, seed);
  const Tensor dx1 = g1.grad(xi).clone();
  const Tensor dT1 = layer.node_params().grad.clone();

  Parameter table;
  table.name = "T";
  table.value = layer.node_params().value.clone();
  Graph g2;
  Var xi2 = g2.input(x, "x", true);
  Var y2 = dwn_lut(gather(xi2, layer.mapping_indices()), g2.param(table), 3);
  g2.backward(y2, seed);
  test::check_equal(y1.value(), y2.value());
  test::check_close(dx1, g2.grad(xi2), 1e-6, 1e-6);
  test::check_equal(dT1, table.grad);
}

TEST_CASE("LUTLayer: graph nodes are named after the layer's place in the model") {
  Generator gen(2);
  LUTLayer lone(opts(8, 2, 2, MappingKind::random), gen);
  Graph g;
  Var y = lone.forward(g, g.input(random_bits(2, 8, 1)));
  CHECK(g.node(y.id).name == "nodes");
  CHECK(g.node(g.node(y.id).inputs[0]).name == "mapping");

  Tensor x, lab;
  auto net = toy_network(MappingKind::random, MappingKind::random, 3, x, lab);
  Graph h;
  Var out = net->forward(h, h.input(x, "x"));
  std::vector<std::string> names;
  for (const Node& n : h.nodes()) names.push_back(n.name);
  for (const char* want : {"encoder", "layer0.mapping", "layer0.params", "layer0.nodes",
                           "layer1.mapping", "layer1.params", "layer1.nodes", "groupsum"})
    CHECK_MESSAGE(std::find(names.begin(), names.end(), want) != names.end(), want);
  CHECK(h.node(out.id).name == "groupsum");
  CHECK(out.shape() == Shape{64, 3});
}

TEST_CASE("LUTLayer: set_mapping_indices validates and replaces a fixed mapping") {
  Generator gen(2);
  LUTLayer layer(opts(8, 2, 2, MappingKind::random), gen);
  CHECK_THROWS_AS(layer.set_mapping_indices(Tensor::from_vector<int64_t>({0, 1, 2}, {3})), Error);
  CHECK_THROWS_AS(layer.set_mapping_indices(Tensor::from_vector<int64_t>({0, 1, 2, 8}, {4})),
                  Error);
  layer.set_mapping_indices(Tensor::from_vector<int32_t>({7, 6, 5, 4}, {4}));
  CHECK(layer.mapping_indices().to_vector<int64_t>() == std::vector<int64_t>{7, 6, 5, 4});
  const Tensor x = random_bits(3, 8, 4);
  Graph g;
  Var y = layer.forward(g, g.input(x));
  CHECK(y.value().to_vector<float>() ==
        manual_dwn_layer(x, layer.mapping_indices(), layer.node_params().value, 2));
}

TEST_CASE("LUTLayer: a learnable mapping gathers argmax W and has a fused update") {
  Generator gen(7);
  LUTLayer layer(opts(12, 5, 3, MappingKind::learnable), gen);
  REQUIRE(layer.mapping_weights() != nullptr);
  CHECK(layer.mapping_weights()->value.shape() == Shape{12, 15});
  CHECK(static_cast<bool>(layer.mapping_weights()->custom_update));
  // argmax over inputs per slot, by hand.
  const std::vector<float> w = layer.mapping_weights()->value.to_vector<float>();
  std::vector<int64_t> want(15);
  for (int64_t s = 0; s < 15; ++s) {
    int64_t best = 0;
    for (int64_t i = 1; i < 12; ++i)
      if (w[static_cast<size_t>(i * 15 + s)] > w[static_cast<size_t>(best * 15 + s)]) best = i;
    want[static_cast<size_t>(s)] = best;
  }
  CHECK(layer.mapping_indices().to_vector<int64_t>() == want);
  const Tensor x = random_bits(4, 12, 8);
  Graph g;
  Var y = layer.forward(g, g.input(x));
  CHECK(y.value().to_vector<float>() ==
        manual_dwn_layer(x, layer.mapping_indices(), layer.node_params().value, 3));

  LUTLayerOptions o = opts(12, 5, 3, MappingKind::learnable);
  o.fused_update = false;
  Generator gen2(7);
  LUTLayer plain(o, gen2);
  CHECK_FALSE(static_cast<bool>(plain.mapping_weights()->custom_update));
}

TEST_CASE("LUTNetwork: an unknown node type is an error naming it") {
  Tensor x, y;
  toy_data(16, 4, 2, 1, x, y);
  ThermometerEncoder enc("uniform", 2);
  enc.fit(x);
  LUTNetworkConfig c = test::small_config(4, 2, {4}, 2);
  c.node_type = "dwm";
  c.first_mapping = MappingKind::random;
  Generator gen(1);
  CHECK_THROWS_WITH_AS(LUTNetwork(c, enc, gen), doctest::Contains("'dwm'"), Error);
}

TEST_CASE("LUTNetwork: a few Adam steps learn the toy task and the checkpoint reloads exactly") {
  Tensor x, y;
  auto net = toy_network(MappingKind::learnable, MappingKind::random, 11, x, y);
  net->eval();
  const double acc0 = accuracy(net->predict(x, 16), y);
  net->train();
  AdamOptions ao;
  ao.lr = 1e-2;
  Adam opt(*net, ao);
  Graph g;
  for (int step = 0; step < 60; ++step) {
    g.clear();
    Var loss = cross_entropy(net->forward(g, g.input(x, "x")), g.input(y, "y"));
    opt.zero_grad();
    g.backward(loss);
    opt.step();
  }
  net->eval();
  const Tensor pred = net->predict(x, 16);
  const double acc1 = accuracy(pred, y);
  MESSAGE("toy accuracy before " << acc0 << ", after " << acc1);
  CHECK(acc1 > 0.6);

  const std::string dir = test::temp_dir("lut_network_ckpt");
  for (bool with_w : {false, true}) {
    const std::string path = dir + (with_w ? "/full.safetensors" : "/model.safetensors");
    LUTNetworkSaveOptions so;
    so.mapping_weights = with_w;
    so.config_yaml = "seed: 11\n";
    save_lut_network(*net, path, so);
    CHECK(std::filesystem::exists(dir + (with_w ? "/full.json" : "/model.json")));
    auto back = load_lut_network(path);
    CHECK(load_lut_network_config(path) == "seed: 11\n");
    test::check_equal(back->predict(x, 7), pred);
    test::check_equal(back->logits(x), net->logits(x));
    for (size_t i = 0; i < net->num_layers(); ++i) {
      CHECK(back->layer(i).mapping_kind() == net->layer(i).mapping_kind());
      test::check_equal(back->layer(i).mapping_indices(), net->layer(i).mapping_indices());
      test::check_equal(back->layer(i).node_params().value, net->layer(i).node_params().value);
      if (with_w && i == 0)
        test::check_equal(back->layer(0).mapping_weights()->value,
                          net->layer(0).mapping_weights()->value);
    }
    test::check_equal(back->encoder().thresholds(), net->encoder().thresholds());
    CHECK(back->config().tau == net->config().tau);
  }
}

TEST_CASE("load_lut_network: files that are not LUT networks or are inconsistent are errors") {
  const std::string dir = test::temp_dir("lut_network_bad");
  save_safetensors(dir + "/plain.safetensors", {{"a", Tensor::zeros({2})}});
  CHECK_THROWS_WITH_AS(load_lut_network(dir + "/plain.safetensors"),
                       doctest::Contains("not a DiffLUT LUT network"), Error);
  Tensor x, y;
  auto net = toy_network(MappingKind::random, MappingKind::cyclic, 2, x, y);
  save_lut_network(*net, dir + "/m.safetensors");
  SafetensorsContents c = load_safetensors(dir + "/m.safetensors");
  NamedTensors fewer;
  for (auto& [n, t] : c.tensors)
    if (n != "layer1.params") fewer.emplace_back(n, t);
  save_safetensors(dir + "/missing.safetensors", fewer, c.metadata);
  CHECK_THROWS_WITH_AS(load_lut_network(dir + "/missing.safetensors"),
                       doctest::Contains("layer1.params"), Error);
  Metadata meta = c.metadata;
  std::string& model = meta["difflut.model"];
  int replaced = 0;
  for (size_t at = model.find("\"dwn\""); at != std::string::npos; at = model.find("\"dwn\"")) {
    model.replace(at, 5, "\"dwm\"");
    ++replaced;
  }
  REQUIRE(replaced == 3);  // the network's and each layer's node_type
  save_safetensors(dir + "/badtype.safetensors", c.tensors, meta);
  CHECK_THROWS_WITH_AS(load_lut_network(dir + "/badtype.safetensors"), doctest::Contains("dwm"),
                       Error);
  // A byte flipped in a table after the file was written: it loaded, and exported as another
  // circuit with mismatches=0 (the golden vectors came from the same damaged model).
  CHECK(c.metadata.count(kChecksumKey) == 1);
  std::ifstream in(dir + "/m.safetensors", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t at = bytes.size() - 100;  // inside the last layers' data
  bytes[at] = static_cast<char>(bytes[at] ^ 0x80);
  std::ofstream(dir + "/flipped.safetensors", std::ios::binary) << bytes;
  CHECK_THROWS_WITH_AS(load_lut_network(dir + "/flipped.safetensors"),
                       doctest::Contains("the file is damaged"), Error);
}

TEST_CASE(
    "LUTLayerOptions: the node type by name, with options; unknown names list the known ones") {
  LUTLayerOptions o;
  o.input_size = 8;
  o.num_nodes = 3;
  o.k = 3;
  o.node_type_name = "polylut";
  o.node_options.degree = 3;
  Generator gen(1);
  LUTLayer layer(o, gen);
  CHECK(layer.node_type()->name() == "polylut");
  CHECK(layer.node_params().value.size(1) == 20);  // C(3 + 3, 3) monomials: the options apply
  o.node_type_name = "";
  CHECK(LUTLayer(o, gen).node_type()->name() == "dwn");  // neither name nor object: dwn
  o.node_type_name = "linear_lutt";
  CHECK_THROWS_WITH_AS(LUTLayer(o, gen),
                       doctest::Contains("LUTLayerOptions.node_type_name='linear_lutt' is not a "
                                         "registered node type (known: dwn, linear_lut, polylut"),
                       Error);
  o.node_type_name = "linear_lut";
  o.node_type = find_node_type("hybrid");
  CHECK_THROWS_WITH_AS(LUTLayer(o, gen), doctest::Contains("disagree"), Error);
}

TEST_CASE(
    "checkpoints keep fourier's options; files written before them load with A = 1 and the signed "
    "normalisation they trained with") {
  const std::string dir = test::temp_dir("lut_network_fourier_amplitude");
  Tensor x, y;
  toy_data(32, 12, 3, 5, x, y);
  ThermometerEncoder enc("distributive", 3);
  enc.fit(x);
  LUTNetworkConfig c = test::small_config(12, 3, {20, 9}, 3);
  c.node_type = "fourier";
  c.node_options.max_amplitude = 0.7;
  c.first_mapping = MappingKind::random;
  Generator gen(5);
  LUTNetwork net(c, enc, gen);
  save_lut_network(net, dir + "/a.safetensors");
  auto back = load_lut_network(dir + "/a.safetensors");
  CHECK(back->config().node_options.max_amplitude == 0.7);
  CHECK_FALSE(back->config().node_options.signed_amplitudes);
  test::check_equal(back->logits(x), net.logits(x));
  // The same file without the key, as written before the option existed.
  SafetensorsContents contents = load_safetensors(dir + "/a.safetensors");
  Metadata meta = contents.metadata;
  std::string& model = meta["difflut.model"];
  const std::string key = ", \"max_amplitude\": 0.7, \"signed_amplitudes\": false";
  const size_t at = model.find(key);
  REQUIRE(at != std::string::npos);
  model.erase(at, key.size());
  save_safetensors(dir + "/old.safetensors", contents.tensors, meta);
  auto old = load_lut_network(dir + "/old.safetensors");
  CHECK(old->config().node_options.max_amplitude == 1.0);
  CHECK(old->config().node_options.signed_amplitudes);
}
