// Convolutional LUT layers: the layer against a naive per-position tree evaluation (receptive
// field, stride, padding, OR pooling, the thermometer's bit layout), option checks, and conv
// networks' checkpoints (round trip, mismatches refused naming the tensor).
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "autograd/io/safetensors.h"
#include "autograd/ops.h"
#include "lut/conv_layer.h"
#include "lut/lut_network.h"
#include "lut/node_registry.h"
#include "test_util.h"

using namespace difflut;

namespace {

struct Geometry {
  int64_t c, h, w, bits;
  int kernel, stride, padding, depth, k, pool;
  int64_t out_channels;
};

ConvLUTOptions options_of(const Geometry& g) {
  ConvLUTOptions o;
  o.input = BitImage::thermometer(g.c, g.h, g.w, g.bits);
  o.out_channels = g.out_channels;
  o.kernel = g.kernel;
  o.stride = g.stride;
  o.padding = g.padding;
  o.tree_depth = g.depth;
  o.k = g.k;
  o.pool = g.pool;
  o.node_type = make_node_type("dwn", NodeOptions{}, "test");
  o.dtype = DType::f64;
  return o;
}

// The layer's eval output for bits x [B, F] by plain loops: leaf slot s of channel o at output
// position (y, x) reads input channel c, row y*stride - padding + dy, column x*stride - padding + dx
// (0 outside), where (c, dy, dx) is the slot's receptive-field choice; a dwn node outputs
// T[address] > 0 with input l as address bit l; pooling is the OR of pool x pool windows.
std::vector<double> naive_conv(ConvLUTLayer& layer, const Geometry& g, const std::vector<double>& x,
                               int64_t B) {
  const Tensor field = layer.receptive_field().to(DType::i64);
  const int64_t* fp = field.data<int64_t>();
  const int64_t F = g.c * g.bits * g.h * g.w, S = layer.slots(), K = int64_t{1} << g.k;
  const int64_t oh = layer.out_height(), ow = layer.out_width();
  std::vector<double> conv(static_cast<size_t>(B * oh * ow * g.out_channels));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t y = 0; y < oh; ++y)
      for (int64_t xx = 0; xx < ow; ++xx) {
        std::vector<double> h(static_cast<size_t>(S));
        for (int64_t s = 0; s < S; ++s) {
          const int64_t wv = fp[s], ch = wv / (g.kernel * g.kernel);
          const int64_t dy = (wv / g.kernel) % g.kernel, dx = wv % g.kernel;
          const int64_t iy = y * g.stride - g.padding + dy, ix = xx * g.stride - g.padding + dx;
          if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;  // zero padding
          // Thermometer layout: feature (c, iy, ix) at ((c * H + iy) * W + ix), its bits inside.
          const int64_t in_c = ch / g.bits, bit = ch % g.bits;
          h[static_cast<size_t>(s)] =
              x[static_cast<size_t>(b * F + ((in_c * g.h + iy) * g.w + ix) * g.bits + bit)];
        }
        for (int l = 0; l < g.depth; ++l) {
          const std::vector<double> t = layer.level_params(l).value.to_vector<double>();
          std::vector<double> next(h.size() / static_cast<size_t>(g.k));
          for (size_t j = 0; j < next.size(); ++j) {
            int64_t a = 0;
            for (int i = 0; i < g.k; ++i)
              a |= (h[j * static_cast<size_t>(g.k) + static_cast<size_t>(i)] >= 0.5 ? 1 : 0) << i;
            next[j] = t[j * static_cast<size_t>(K) + static_cast<size_t>(a)] > 0 ? 1.0 : 0.0;
          }
          h = next;
        }
        for (int64_t o = 0; o < g.out_channels; ++o)
          conv[static_cast<size_t>(((b * oh + y) * ow + xx) * g.out_channels + o)] =
              h[static_cast<size_t>(o)];
      }
  if (g.pool == 1) return conv;
  const int64_t ph = oh / g.pool, pw = ow / g.pool;
  std::vector<double> out(static_cast<size_t>(B * ph * pw * g.out_channels), 0.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t y = 0; y < ph; ++y)
      for (int64_t xx = 0; xx < pw; ++xx)
        for (int64_t o = 0; o < g.out_channels; ++o) {
          double m = 0;
          for (int dy = 0; dy < g.pool; ++dy)
            for (int dx = 0; dx < g.pool; ++dx)
              m = std::max(
                  m,
                  conv[static_cast<size_t>(
                      ((b * oh + y * g.pool + dy) * ow + xx * g.pool + dx) * g.out_channels + o)]);
          out[static_cast<size_t>(((b * ph + y) * pw + xx) * g.out_channels + o)] = m;
        }
  return out;
}

// The layer's forward on three random bit rows (drawn from `seed`) against naive_conv, in the
// layer's current mode; returns the naive values.
std::vector<double> check_eval_against_naive(ConvLUTLayer& layer, const Geometry& g,
                                             uint64_t seed) {
  const int64_t B = 3, F = g.c * g.bits * g.h * g.w;
  const Tensor x = test::random_bits(B, F, seed).to(DType::f64);
  NoGradGuard ng;
  Graph graph;
  Var y = layer.forward(graph, graph.input(x, "x"));
  CHECK(y.value().shape() == Shape{B, layer.output().size()});
  const std::vector<double> want = naive_conv(layer, g, x.to_vector<double>(), B);
  test::check_vals(y.value(), want, 1e-12);
  return want;
}

}  // namespace

TEST_CASE("ConvLUTLayer equals a naive per-position tree evaluation") {
  for (const Geometry& g :
       {Geometry{1, 6, 5, 2, 3, 1, 1, 2, 3, 1, 3}, Geometry{2, 7, 6, 1, 3, 2, 1, 1, 4, 2, 2},
        Geometry{1, 5, 5, 3, 2, 1, 0, 3, 2, 2, 4}, Geometry{3, 4, 4, 1, 4, 1, 0, 1, 6, 1, 5}}) {
    CAPTURE(g.kernel);
    CAPTURE(g.stride);
    CAPTURE(g.padding);
    CAPTURE(g.depth);
    CAPTURE(g.pool);
    Generator gen(7);
    ConvLUTLayer layer(options_of(g), gen);
    layer.eval();
    const std::vector<double> want = check_eval_against_naive(layer, g, 99);
    // Some ones and some zeros: the comparison would be vacuous on a constant output.
    double ones = 0;
    for (double v : want) ones += v;
    CHECK(ones > 0);
    CHECK(ones < static_cast<double>(want.size()));
  }
}

TEST_CASE("ConvLUTLayer: options out of range are refused naming them") {
  Geometry g{1, 4, 4, 1, 5, 1, 0, 2, 2, 1, 2};
  Generator gen(1);
  CHECK_THROWS_WITH_AS(ConvLUTLayer(options_of(g), gen),
                       doctest::Contains("is larger than the padded input"), Error);
  g.kernel = 3;
  g.pool = 3;
  CHECK_THROWS_WITH_AS(ConvLUTLayer(options_of(g), gen), doctest::Contains("expected pool"), Error);
  g.pool = 1;
  g.padding = 3;
  CHECK_THROWS_WITH_AS(ConvLUTLayer(options_of(g), gen), doctest::Contains("padding"), Error);
}

namespace {
// Two conv layers (fixed fields, or learnable ones with C candidates each), two dense layers.
std::shared_ptr<LUTNetwork> conv_network(uint64_t seed, int64_t field0 = 0, int64_t field1 = 0) {
  Tensor x, y;
  test::toy_data(32, 2 * 6 * 6, 3, 5, x, y);
  ThermometerEncoder enc("uniform", 2);
  enc.fit(x);
  LUTNetworkConfig cfg;
  cfg.num_features = 72;
  cfg.num_classes = 3;
  cfg.image_shape = {2, 6, 6};
  cfg.conv = {ConvLayerSpec{4, 3, 1, 1, 2, 3, 2}, ConvLayerSpec{6, 2, 1, 0, 1, 0, 1}};
  cfg.conv[0].field_candidates = field0;
  cfg.conv[1].field_candidates = field1;
  cfg.hidden_sizes = {30, 12};
  cfg.k = 4;
  cfg.node_type = "dwn";
  Generator gen(seed);
  return std::make_shared<LUTNetwork>(cfg, enc, gen);
}
}  // namespace

TEST_CASE("conv LUTNetwork: checkpoints round-trip and refuse mismatched tensors") {
  auto net = conv_network(3);
  REQUIRE(net->num_conv_layers() == 2);
  CHECK(net->conv_layer(0).output().describe() == "[4, 3, 3]");
  CHECK(net->conv_layer(1).output().describe() == "[6, 2, 2]");
  CHECK(net->layer(0).input_size() == 24);
  Tensor x, y;
  test::toy_data(40, 72, 3, 9, x, y);
  const Tensor want = net->logits(x);
  const std::string dir = test::temp_dir("conv_ckpt");
  save_lut_network(*net, dir + "/net.safetensors");
  auto back = load_lut_network(dir + "/net.safetensors");
  REQUIRE(back->num_conv_layers() == 2);
  test::check_equal(back->logits(x), want);
  test::check_equal(back->conv_layer(0).receptive_field(), net->conv_layer(0).receptive_field());

  // A receptive field entry outside the window, a level of the wrong shape, a lost conv layer.
  SafetensorsContents c = load_safetensors(dir + "/net.safetensors");
  auto write = [&](const std::string& name, auto edit_tensors, auto edit_model) {
    NamedTensors ts;
    for (const auto& [n, t] : c.tensors) ts.emplace_back(n, t.clone());
    edit_tensors(ts);
    Metadata meta = c.metadata;
    edit_model(meta["difflut.model"]);
    const std::string path = dir + "/" + name + ".safetensors";
    save_safetensors(path, ts, meta);
    return path;
  };
  const auto keep = [](auto&) {};
  const std::string bad_field = write(
      "field",
      [](NamedTensors& ts) {
        for (auto& [n, t] : ts)
          if (n == "conv0.receptive_field") t.data<int32_t>()[1] = 2 * 4 * 9 + 5;
      },
      keep);
  CHECK_THROWS_WITH_AS(load_lut_network(bad_field), doctest::Contains("is outside [0, 36)"), Error);
  const std::string bad_level = write(
      "level",
      [](NamedTensors& ts) {
        for (auto& [n, t] : ts)
          if (n == "conv1.params0") t = Tensor::zeros({5, 8}, t.dtype());
      },
      keep);
  CHECK_THROWS_WITH_AS(load_lut_network(bad_level),
                       doctest::Contains("tensor 'conv1.params0' expected shape [6, 16]"), Error);
  const std::string lost = write("lost", keep, [](std::string& m) {
    const size_t at = m.find(", {\"name\": \"conv1\"");
    REQUIRE(at != std::string::npos);
    m.erase(at, m.find('}', at) + 1 - at);
  });
  CHECK_THROWS_WITH_AS(load_lut_network(lost), doctest::Contains("\"input_size\" = 24, expected"),
                       Error);
}

TEST_CASE("conv LUTNetwork: image_shape must hold the features") {
  Tensor x, y;
  test::toy_data(8, 72, 3, 5, x, y);
  ThermometerEncoder enc("uniform", 2);
  enc.fit(x);
  LUTNetworkConfig cfg;
  cfg.num_features = 72;
  cfg.num_classes = 3;
  cfg.image_shape = {2, 6, 5};
  cfg.conv = {ConvLayerSpec{}};
  cfg.hidden_sizes = {6};
  Generator gen(1);
  CHECK_THROWS_WITH_AS(LUTNetwork(cfg, enc, gen), doctest::Contains("image_shape [C, H, W]"),
                       Error);
}

TEST_CASE("ConvLUTLayer: a learnable field gathers each slot's chosen window bit, and learns it") {
  for (const Geometry& g :
       {Geometry{1, 6, 5, 2, 3, 1, 1, 2, 3, 1, 3}, Geometry{2, 7, 6, 1, 3, 2, 1, 1, 4, 2, 2}}) {
    CAPTURE(g.kernel);
    ConvLUTOptions o = options_of(g);
    o.field_candidates = 5;
    o.node_type = make_node_type("probabilistic", NodeOptions{}, "test");
    Generator gen(11);
    ConvLUTLayer layer(o, gen);
    REQUIRE(layer.learnable_field());
    const int64_t S = layer.slots(), C = 5, window = g.c * g.bits * g.kernel * g.kernel;
    CHECK(layer.window() == window);
    CHECK(layer.field_candidates().shape() == Shape{S, C});
    CHECK(layer.field_weights().value.shape() == Shape{S, C});
    // The field is each slot's best-scored candidate: make candidate s % C the best of slot s.
    Tensor& w = layer.field_weights().value;
    for (int64_t s = 0; s < S; ++s) w.data<double>()[s * C + s % C] = 2.0;
    const std::vector<int64_t> cand = layer.field_candidates().to(DType::i64).to_vector<int64_t>();
    const std::vector<int64_t> field = layer.receptive_field().to(DType::i64).to_vector<int64_t>();
    for (int64_t s = 0; s < S; ++s)
      CHECK(field[static_cast<size_t>(s)] == cand[static_cast<size_t>(s * C + s % C)]);

    // Eval forward against the naive evaluation of that field (probabilistic nodes read as
    // T[address] > 0 in eval, as dwn's do).
    layer.eval();
    check_eval_against_naive(layer, g, 5);
    const int64_t B = 3, F = g.c * g.bits * g.h * g.w;
    const Tensor x = test::random_bits(B, F, 5).to(DType::f64);

    // Training: W's gradient is the sparse mapping's over the position rows, dW[s, c] =
    // sum over rows of (2 patch[row, cand[s, c]] - 1) * g[row, s].
    layer.train();
    Graph graph;
    Var y = layer.forward(graph, graph.input(x, "x"));
    Var loss =
        sum_all(mul(y, graph.input(test::uniform(y.value().shape(), gen, -1, 1, DType::f64))));
    int patches = -1, fieldn = -1;
    for (size_t id = 0; id < graph.size(); ++id) {
      const Node& n = graph.node(static_cast<int>(id));
      if (n.name == "patches") patches = static_cast<int>(id);
      if (n.name == "field") fieldn = static_cast<int>(id);
    }
    REQUIRE(patches >= 0);
    REQUIRE(fieldn >= 0);
    graph.retain_grad(graph.var(fieldn));
    graph.backward(loss);
    const Tensor pv = graph.node(patches).value;
    const Tensor gv = graph.grad(graph.var(fieldn));
    REQUIRE(pv.shape() == Shape{B * layer.positions(), window});
    std::vector<double> want(static_cast<size_t>(S * C), 0.0);
    for (int64_t r = 0; r < pv.size(0); ++r)
      for (int64_t s = 0; s < S; ++s)
        for (int64_t c = 0; c < C; ++c)
          want[static_cast<size_t>(s * C + c)] +=
              (2 * pv.data<double>()[r * window + cand[static_cast<size_t>(s * C + c)]] - 1) *
              gv.data<double>()[r * S + s];
    test::check_vals(layer.field_weights().grad, want, 1e-9);
    double norm = 0;
    for (double v : want) norm += std::abs(v);
    CHECK(norm > 0);
  }
}

TEST_CASE("ConvLUTLayer: learnable field options and state are checked") {
  Geometry g{1, 4, 4, 1, 3, 1, 0, 1, 2, 1, 2};  // window 9 bits
  ConvLUTOptions o = options_of(g);
  o.field_candidates = 10;
  Generator gen(1);
  CHECK_THROWS_WITH_AS(ConvLUTLayer(o, gen), doctest::Contains("field_candidates in [0, 9]"),
                       Error);
  o.field_candidates = 3;
  o.field_tau = 0;
  CHECK_THROWS_WITH_AS(ConvLUTLayer(o, gen), doctest::Contains("field_tau > 0"), Error);
  o.field_tau = 0.01;
  ConvLUTLayer layer(o, gen);
  CHECK_THROWS_WITH_AS(layer.set_receptive_field(Tensor::zeros({layer.slots()}, DType::i32)),
                       doctest::Contains("learns its field"), Error);
  // The candidates travel as extra state; a candidate outside the window is refused unchanged.
  const NamedTensors st = layer.extra_state();
  REQUIRE(st.size() == 1);
  CHECK(st[0].first == "field_candidates");
  Tensor bad = st[0].second.clone();
  bad.data<int32_t>()[2] = 9;
  CHECK_THROWS_WITH_AS(layer.check_extra_state({{"field_candidates", bad}}),
                       doctest::Contains("entry 2 = 9 is outside [0, 9)"), Error);
  Tensor other = st[0].second.clone();
  other.data<int32_t>()[0] = (other.data<int32_t>()[0] + 1) % 9;
  layer.check_extra_state({{"field_candidates", other}});
  layer.load_extra_state({{"field_candidates", other}});
  test::check_equal(layer.field_candidates(), other);
  // A fixed layer has neither.
  ConvLUTLayer fixed(options_of(g), gen);
  CHECK(fixed.extra_state().empty());
  CHECK_THROWS_WITH_AS(fixed.field_weights(), doctest::Contains("field is fixed"), Error);
}

TEST_CASE("conv LUTNetwork with learnable fields: checkpoints round-trip, edits are refused") {
  Tensor x, y;
  test::toy_data(32, 2 * 6 * 6, 3, 5, x, y);
  // 8 candidates of conv0's 2 channels x 2 bits x 9 = 36 window bits; 16 of conv1's 4 x 4 = 16:
  // every bit of its window.
  auto net = conv_network(4, 8, 16);
  REQUIRE(net->conv_layer(1).learnable_field());
  const Tensor want = net->logits(x);
  const std::string dir = test::temp_dir("conv_field_ckpt");
  save_lut_network(*net, dir + "/net.safetensors");
  auto back = load_lut_network(dir + "/net.safetensors");
  REQUIRE(back->conv_layer(0).learnable_field());
  CHECK(back->conv_layer(0).options().field_candidates == 8);
  CHECK(back->conv_layer(1).options().field_candidates == 16);
  test::check_equal(back->logits(x), want);
  test::check_equal(back->conv_layer(1).receptive_field(), net->conv_layer(1).receptive_field());
  test::check_equal(back->conv_layer(1).field_candidates(), net->conv_layer(1).field_candidates());

  SafetensorsContents c = load_safetensors(dir + "/net.safetensors");
  const auto write = [&](const std::string& name, const std::string& tensor, auto edit) {
    NamedTensors ts;
    for (const auto& [n, t] : c.tensors)
      if (n != tensor || edit) ts.emplace_back(n, t.clone());
    for (auto& [n, t] : ts)
      if (n == tensor && edit) edit(t);
    const std::string path = dir + "/" + name + ".safetensors";
    save_safetensors(path, ts, c.metadata);
    return path;
  };
  using Edit = std::function<void(Tensor&)>;
  // The stored choice must be what the candidates and scores choose.
  const Tensor field0 = net->conv_layer(0).receptive_field();
  const std::vector<int64_t> cand0 =
      net->conv_layer(0).field_candidates().to(DType::i64).to_vector<int64_t>();
  int32_t other = 0;
  while (other == field0.data<int32_t>()[0]) ++other;
  CHECK_THROWS_WITH_AS(
      load_lut_network(write("choice", "conv0.receptive_field",
                             Edit([&](Tensor& t) { t.data<int32_t>()[0] = other; }))),
      doctest::Contains(
          doctest::String(("'conv0.receptive_field' entry 0 = " + std::to_string(other) +
                           ", but its candidates and scores choose")
                              .c_str())),
      Error);
  CHECK_THROWS_WITH_AS(load_lut_network(write("cand", "conv1.field_candidates",
                                              Edit([](Tensor& t) { t.data<int32_t>()[3] = 16; }))),
                       doctest::Contains("entry 3 = 16 is outside [0, 16)"), Error);
  CHECK_THROWS_WITH_AS(load_lut_network(write("lost", "conv0.field_weights", Edit())),
                       doctest::Contains("missing tensor 'conv0.field_weights'"), Error);
  CHECK(cand0.size() == static_cast<size_t>(net->conv_layer(0).slots() * 8));
}
