// Small random models for the hdl tests, built the way inference runs (eval, no grad): raw u8 codes
// scaled by 1/255 -> thermometer -> mappings -> LUT layers of every node type -> GroupSum -> argmax.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "autograd/graph.h"
#include "autograd/ops.h"
#include "data/dataset.h"
#include "encoders/thermometer.h"
#include "hdl/lower.h"
#include "lut/examples/soft_majority_node.h"
#include "lut/learnable_mapping.h"
#include "lut/lut_network.h"
#include "lut/mapping.h"
#include "lut/node_ops.h"
#include "lut/node_registry.h"
#include "tensor/random.h"
#include "test_networks.h"

namespace difflut::test {

struct HdlModel {
  std::unique_ptr<Graph> g = std::make_unique<Graph>();
  int input = -1;
  int output = -1;
  int64_t batch = 0;
  hdl::LowerOptions options;
};

// Random u8 codes [B, F] as the float input the data loader produces: float(v) / 255.0f.
inline Tensor random_pixels(int64_t B, int64_t F, Generator& gen) {
  Tensor x = Tensor::empty({B, F}, DType::f32);
  for (int64_t i = 0; i < B * F; ++i)
    x.data<float>()[i] = static_cast<float>(gen.below(256)) / 255.0f;
  return x;
}

// Thresholds [F, nb]: random, plus exact decode values (strictness), and out-of-range ones
// (constant comparators).
inline Tensor test_thresholds(int64_t F, int64_t nb, Generator& gen) {
  Tensor t = Tensor::empty({F, nb}, DType::f32);
  float* p = t.data<float>();
  for (int64_t i = 0; i < F * nb; ++i) {
    const uint64_t r = gen.below(10);
    if (r == 0)
      p[i] = static_cast<float>(gen.below(256)) / 255.0f;  // exactly a pixel value
    else if (r == 1)
      p[i] = -0.25f;  // always true
    else if (r == 2)
      p[i] = 1.0f;  // never true (x <= 1)
    else
      p[i] = static_cast<float>(gen.below(1 << 20)) / static_cast<float>(1 << 20);
  }
  return t;
}

inline Tensor random_table(int64_t N, int k, Generator& gen) {
  Tensor t = Tensor::rand({N, int64_t{1} << k}, gen);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = 2 * t.data<float>()[i] - 1;
  return t;
}

inline Var thermometer_node(Graph& g, Var x, const Tensor& thresholds) {
  Attrs a;
  a.tensors = {thresholds};
  return g.apply(thermometer_op(), {x}, a, "encoder");
}

// raw [B, F] -> thermometer (nb) -> random mapping -> dwn_lut k (N1) -> cyclic mapping -> dwn_lut k
// (N2) -> group_sum (C, tau) -> argmax.
inline HdlModel dwn_chain(uint64_t seed, int k, int64_t B = 64, int64_t F = 5, int64_t nb = 4,
                          int64_t N1 = 12, int64_t N2 = 7, int64_t C = 3, double tau = 0.5) {
  NoGradGuard ng;
  HdlModel m;
  m.g->set_training(false);
  m.batch = B;
  Generator gen(seed);
  Graph& g = *m.g;
  Var x = g.input(random_pixels(B, F, gen), "pixels");
  m.input = x.id;
  Var bits = thermometer_node(g, x, test_thresholds(F, nb, gen));
  Var a1 = g.apply(OpKind::gather, {bits},
                   Attrs{.ints = {},
                         .floats = {},
                         .tensors = {random_mapping(F * nb, N1 * k, gen)},
                         .context = nullptr},
                   "map1");
  Var l1 = dwn_lut(a1, g.input(random_table(N1, k, gen), "table1"), k);
  Var a2 = gather(l1, cyclic_mapping(N1, N2 * k, k, 2));
  Var l2 = dwn_lut(a2, g.input(random_table(N2, k, gen), "table2"), k);
  Var s = group_sum(l2, C, tau);
  m.output = argmax(s, 1).id;
  return m;
}

// raw -> thermometer -> learnable mapping (W with tied maxima in some columns: the first input
// wins) -> dwn_lut k -> group_sum (C = 2) -> argmax.
inline HdlModel learnable_chain(uint64_t seed, int k, int64_t B = 64) {
  NoGradGuard ng;
  HdlModel m;
  m.g->set_training(false);
  m.batch = B;
  Generator gen(seed);
  Graph& g = *m.g;
  const int64_t F = 4, nb = 3, N = 6, S = N * k;
  Var x = g.input(random_pixels(B, F, gen), "pixels");
  m.input = x.id;
  Var bits = thermometer_node(g, x, test_thresholds(F, nb, gen));
  Tensor w = learnable_mapping_init(F * nb, S, gen);
  float* wp = w.data<float>();
  for (int64_t s = 0; s < S; s += 3) {  // every third slot: inputs s % 12 and 11 tie at 2.0
    wp[(s % (F * nb)) * S + s] = 2.0f;
    wp[(F * nb - 1) * S + s] = 2.0f;
  }
  Var a = learnable_mapping(bits, g.input(w, "W"));
  Var l = dwn_lut(a, g.input(random_table(N, k, gen), "table"), k);
  m.output = argmax(group_sum(l, 2, 1.0 / 0.3), 1).id;
  return m;
}

// raw -> thermometer -> random mapping -> a layer of the registered node type `name` (k = 3;
// difflogic: 2) in eval mode -> random mapping -> dwn_lut k = 2 -> group_sum (C = 3) -> argmax.
inline HdlModel node_type_model(const std::string& name, uint64_t seed, int64_t B = 64) {
  NoGradGuard ng;
  HdlModel m;
  m.g->set_training(false);
  m.batch = B;
  Generator gen(seed);
  Graph& g = *m.g;
  const std::shared_ptr<NodeType> type = find_node_type(name);
  const int k = name == "difflogic" ? 2 : 3;
  const int64_t F = 5, nb = 3, N = 10;
  Var x = g.input(random_pixels(B, F, gen), "pixels");
  m.input = x.id;
  Var bits = thermometer_node(g, x, test_thresholds(F, nb, gen));
  Var a1 = gather(bits, random_mapping(F * nb, N * k, gen));
  Tensor p = Tensor::empty({N, type->num_params(k)});
  type->init(p, k, gen);
  Var l1 = type->apply(a1, g.input(p, name + "_params"), k, /*training=*/false);
  Var a2 = gather(l1, random_mapping(N, 6 * 2, gen));
  Var l2 = dwn_lut(a2, g.input(random_table(6, 2, gen), "t2"), 2);
  m.output = argmax(group_sum(l2, 3, 1.0), 1).id;
  return m;
}

inline std::shared_ptr<NodeType> soft_majority_type() {
  static std::shared_ptr<NodeType> t = std::make_shared<examples::SoftMajorityNode>();
  return t;
}

// Every lowering in one model: reshape [B, 2, 3] -> [B, 6], thermometer, slice, random gather,
// dwn_lut k=6, cyclic gather, custom_lut (soft majority, k=2), custom_lut (dwn node type, k=3),
// threshold_ste, group_sum with padding (ends at the scores; the export appends the argmax).
inline HdlModel kitchen_sink(uint64_t seed, int64_t B = 48) {
  NoGradGuard ng;
  HdlModel m;
  m.g->set_training(false);
  m.batch = B;
  Generator gen(seed);
  Graph& g = *m.g;
  Var x0 = g.input(random_pixels(B, 6, gen).reshape({B, 2, 3}), "image");
  m.input = x0.id;
  Var x = reshape(x0, {B, 6});
  Var bits = thermometer_node(g, x, test_thresholds(6, 5, gen));  // 30 bits
  Var part = slice(bits, 1, 2, 28);                               // 26 bits
  Var a1 = gather(part, random_mapping(26, 10 * 6, gen));
  Var l1 = dwn_lut(a1, g.input(random_table(10, 6, gen), "t1"), 6);
  Var a2 = gather(l1, cyclic_mapping(10, 9 * 2, 2, 1));
  Tensor wp = Tensor::randn({9, 3}, gen);  // soft majority: 2 weights + bias
  Var l2 = custom_lut(a2, g.input(wp, "p2"), soft_majority_type(), 2, /*training=*/false);
  Var a3 = gather(l2, random_mapping(9, 8 * 3, gen));
  Var l3 = custom_lut(a3, g.input(random_table(8, 3, gen), "p3"), dwn_node_type(), 3, false);
  Var t = threshold_ste(l3, 0.5);
  m.output = group_sum(t, 3, 1.0 / 0.3).id;  // M = 8, C = 3: g = 3, last group padded
  return m;
}

// Bits in (the encoded-bits option) straight into group_sum and argmax: every 0/1 pattern of
// 6 bits, so the scores tie often (the tie-rule test).
inline HdlModel tie_model() {
  NoGradGuard ng;
  HdlModel m;
  m.g->set_training(false);
  m.batch = 64;
  Tensor x = Tensor::empty({64, 6}, DType::f32);
  for (int b = 0; b < 64; ++b)
    for (int i = 0; i < 6; ++i) x.data<float>()[b * 6 + i] = static_cast<float>((b >> i) & 1);
  Graph& g = *m.g;
  Var in = g.input(x, "bits_in");
  m.input = in.id;
  m.output = argmax(group_sum(in, 3, 2.0), 1).id;
  m.options.input = hdl::InputEncoding::bits();
  return m;
}

// u8 codes [N, F] with labels from a simple rule, as a Dataset (the image readers' form).
inline Dataset toy_dataset(int64_t N, int64_t F, int C, uint64_t seed) {
  Generator gen(seed);
  Dataset d;
  d.name = "toy/test";
  d.num_classes = C;
  d.features = Tensor::empty({N, F}, DType::u8);
  d.labels = Tensor::empty({N}, DType::i64);
  for (int64_t i = 0; i < N; ++i) {
    int64_t sum = 0;
    for (int64_t f = 0; f < F; ++f) {
      const uint8_t v = static_cast<uint8_t>(gen.below(256));
      d.features.data<uint8_t>()[i * F + f] = v;
      sum += v;
    }
    d.labels.data<int64_t>()[i] = (sum / F) % C;
  }
  return d;
}

inline std::shared_ptr<LUTNetwork> toy_network(const Dataset& d, int64_t F, int k,
                                               MappingKind first, const std::string& node_type,
                                               uint64_t seed) {
  ThermometerEncoder enc("distributive", 3);
  enc.fit(d.features_f32());
  LUTNetworkConfig c = test::small_config(F, d.num_classes, {30, 12}, k);
  c.node_type = node_type;
  c.first_mapping = first;
  c.later_mapping = MappingKind::random;
  Generator gen(seed);
  auto net = std::make_shared<LUTNetwork>(c, enc, gen);
  net->eval();
  return net;
}

// A random circuit in the shape the lowering produces, with every corner the optimiser and the
// compiled engine must handle: F input words of `width` bits (8: raw codes through comparators
// with thresholds 0 and 2^8 among them; 1: encoded bits read directly), then LUT stages of mixed
// fan-in 1..max_k with constant tables, tables that ignore inputs and repeated inputs, popcount
// groups of uneven size (an empty one among them), and the argmax. `extra_nodes` makes the LUT
// stages larger.
inline hdl::Circuit random_circuit(uint64_t seed, int64_t F, int width, int max_k = 6,
                                   int64_t extra_nodes = 0) {
  using namespace hdl;
  Generator gen(seed);
  Circuit c;
  Stage in;
  in.kind = StageKind::input;
  in.name = "x";
  in.size = F;
  in.width = width;
  for (int v = 0; v < (1 << width); ++v) in.decode.push_back(v);
  c.stages.push_back(in);
  int bits = 0;
  if (width > 1) {
    Stage cmp;
    cmp.kind = StageKind::compare;
    cmp.name = "cmp";
    cmp.source = 0;
    cmp.size = F * 2 + 3;
    cmp.decode = {0, 1};
    for (int64_t m = 0; m < cmp.size; ++m) {
      cmp.index.push_back(static_cast<int64_t>(gen.below(static_cast<uint64_t>(F))));
      const uint64_t r = gen.below(12);
      cmp.threshold.push_back(r == 0   ? 0u
                              : r == 1 ? 256u
                                       : static_cast<uint32_t>(1 + gen.below(255)));
      cmp.threshold_value.push_back(0.0);
    }
    c.stages.push_back(cmp);
    bits = 1;
  }
  int64_t sizes[2] = {static_cast<int64_t>(12 + gen.below(40)) + extra_nodes,
                      static_cast<int64_t>(6 + gen.below(20)) + extra_nodes / 2};
  for (int layer = 0; layer < 2; ++layer) {
    const Stage& src = c.stages[static_cast<size_t>(bits)];
    Stage lut;
    lut.kind = StageKind::lut;
    lut.name = "lut" + std::to_string(layer);
    lut.size = sizes[layer];
    lut.decode = {0, 1};
    const bool uniform = layer == 0;  // the lowering's form, then an optimised-style stage
    lut.k = max_k;
    Stage w;
    w.kind = StageKind::wires;
    w.name = "map" + std::to_string(layer);
    w.source = bits;
    w.decode = {0, 1};
    for (int64_t j = 0; j < lut.size; ++j) {
      const int f = uniform ? max_k : static_cast<int>(gen.below(static_cast<uint64_t>(max_k) + 1));
      if (!uniform) lut.fanin.push_back(static_cast<uint8_t>(f));
      const uint64_t kind = gen.below(8);
      for (int l = 0; l < f; ++l) {
        int64_t m = static_cast<int64_t>(gen.below(static_cast<uint64_t>(src.size)));
        if (kind == 1 && l > 0) m = w.index.back();  // a repeated input
        w.index.push_back(m);
      }
      for (int64_t a = 0; a < (int64_t{1} << f); ++a) {
        uint8_t v = static_cast<uint8_t>(gen.below(2));
        if (kind == 2) v = 1;                                     // constant
        if (kind == 3 && f > 1) v = static_cast<uint8_t>(a & 1);  // reads input 0 only
        lut.table.push_back(v);
      }
    }
    w.size = static_cast<int64_t>(w.index.size());
    c.stages.push_back(w);
    lut.source = static_cast<int>(c.stages.size() - 1);
    c.stages.push_back(lut);
    bits = static_cast<int>(c.stages.size() - 1);
  }
  const Stage& last = c.stages[static_cast<size_t>(bits)];
  Stage pc;
  pc.kind = StageKind::popcount;
  pc.name = "scores";
  pc.source = bits;
  pc.size = 4;
  pc.width = bits_for(static_cast<uint64_t>(last.size));
  int64_t b = 0;
  for (int64_t g = 0; g < 4; ++g) {
    const int64_t e =
        g == 1 ? b
               : std::min(last.size, b + 1 +
                                         static_cast<int64_t>(
                                             gen.below(static_cast<uint64_t>(last.size / 2 + 1))));
    pc.group_begin.push_back(b);
    pc.group_end.push_back(g == 3 ? last.size : e);
    b = pc.group_end.back();
  }
  for (int64_t v = 0; v < (int64_t{1} << pc.width); ++v)
    pc.decode.push_back(static_cast<double>(v));
  c.stages.push_back(pc);
  Stage am;
  am.kind = StageKind::argmax;
  am.name = "cls";
  am.source = static_cast<int>(c.stages.size() - 1);
  am.size = 1;
  am.width = 2;
  am.decode = {0, 1, 2, 3};
  c.stages.push_back(am);
  c.outputs = {{"scores", am.source}, {"class_idx", static_cast<int>(c.stages.size() - 1)}};
  c.validate();
  return c;
}

// Random input codes [n, F] of `width` bits.
inline std::vector<uint32_t> random_codes(uint64_t seed, int64_t n, int64_t F, int width) {
  Generator gen(seed);
  std::vector<uint32_t> v(static_cast<size_t>(n * F));
  for (uint32_t& x : v) x = static_cast<uint32_t>(gen.below(uint64_t{1} << width));
  return v;
}

}  // namespace difflut::test
