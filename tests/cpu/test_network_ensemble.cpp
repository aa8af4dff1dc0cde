// merge_lut_networks: the merged network's class counts are the members' counts added, for every
// mapping kind and for members of different widths; sparse layers keep their candidates and
// scores; a checkpoint round trip keeps the vote; members that cannot be merged are refused with
// what differs.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "lut/lut_network.h"
#include "lut/network_ensemble.h"
#include "test_networks.h"
#include "test_util.h"

using namespace difflut;

namespace {

struct Toy {
  Tensor x, y;
  ThermometerEncoder enc{"distributive", 3};
  Toy() {
    test::toy_data(96, 12, 3, 21, x, y);
    enc.fit(x);
  }
};

std::shared_ptr<LUTNetwork> member(const Toy& t, MappingKind first, MappingKind later,
                                   std::vector<int64_t> hidden, uint64_t seed,
                                   const std::string& node_type = "dwn") {
  LUTNetworkConfig c = test::small_config(12, 3, std::move(hidden), 4);
  c.first_mapping = first;
  c.later_mapping = later;
  c.node_type = node_type;
  Generator gen(seed);
  auto net = std::make_shared<LUTNetwork>(c, t.enc, gen);
  net->eval();
  return net;
}

// Class counts [N, C] of a network: its logits times tau, which are integers in eval mode.
std::vector<int64_t> counts(LUTNetwork& net, const Tensor& x) {
  const std::vector<float> l = net.logits(x).to_vector<float>();
  std::vector<int64_t> c(l.size());
  for (size_t i = 0; i < l.size(); ++i) {
    const double v = static_cast<double>(l[i]) * net.config().tau;
    c[i] = std::llround(v);
    REQUIRE(std::fabs(v - static_cast<double>(c[i])) < 1e-3);
  }
  return c;
}

}  // namespace

TEST_CASE("merge_lut_networks: the merged network adds the members' class counts") {
  const Toy t;
  struct Kinds {
    MappingKind first, later;
  };
  for (const Kinds kinds : {Kinds{MappingKind::sparse, MappingKind::sparse},
                            Kinds{MappingKind::learnable, MappingKind::random},
                            Kinds{MappingKind::random, MappingKind::cyclic}}) {
    INFO("mappings " << mapping_kind_name(kinds.first) << " / " << mapping_kind_name(kinds.later));
    // Three members, the last of other widths (still 3 classes x 3 nodes in its last layer).
    std::vector<std::shared_ptr<LUTNetwork>> members = {
        member(t, kinds.first, kinds.later, {30, 12}, 5, "hybrid"),
        member(t, kinds.first, kinds.later, {30, 12}, 9, "hybrid"),
        member(t, kinds.first, kinds.later, {20, 9}, 13, "hybrid")};
    auto merged = merge_lut_networks(members);
    CHECK(merged->config().hidden_sizes == std::vector<int64_t>{80, 33});
    CHECK(merged->layer(0).mapping_kind() == kinds.first);
    CHECK(merged->layer(1).mapping_kind() == kinds.later);

    const int64_t N = t.x.size(0), C = 3;
    std::vector<int64_t> sum(static_cast<size_t>(N * C), 0);
    for (auto& m : members) {
      const std::vector<int64_t> c = counts(*m, t.x);
      for (size_t i = 0; i < sum.size(); ++i) sum[i] += c[i];
    }
    CHECK(counts(*merged, t.x) == sum);
    // The vote: the class with the largest summed count, the first one on ties.
    const std::vector<int64_t> pred = merged->predict(t.x).to_vector<int64_t>();
    int disagreements_with_first = 0;
    const std::vector<int64_t> first = members[0]->predict(t.x).to_vector<int64_t>();
    for (int64_t b = 0; b < N; ++b) {
      int64_t best = 0;
      for (int64_t c = 1; c < C; ++c)
        if (sum[static_cast<size_t>(b * C + c)] > sum[static_cast<size_t>(b * C + best)]) best = c;
      CHECK(pred[static_cast<size_t>(b)] == best);
      disagreements_with_first += pred[static_cast<size_t>(b)] != first[static_cast<size_t>(b)];
    }
    // The members are different networks, so the vote is not just the first member's answer.
    CHECK(disagreements_with_first > 0);

    // A checkpoint round trip keeps the merged network.
    const std::string path = test::temp_dir("ensemble") + "/merged.safetensors";
    save_lut_network(*merged, path);
    auto back = load_lut_network(path);
    test::check_equal(back->predict(t.x), merged->predict(t.x));
    for (size_t i = 0; i < merged->num_layers(); ++i)
      test::check_equal(back->layer(i).mapping_indices(), merged->layer(i).mapping_indices());
  }
}

TEST_CASE("merge_lut_networks: sparse layers keep every slot's candidates and scores") {
  const Toy t;
  auto a = member(t, MappingKind::sparse, MappingKind::sparse, {30, 12}, 3);
  auto b = member(t, MappingKind::sparse, MappingKind::sparse, {30, 12}, 4);
  auto merged = merge_lut_networks({a, b});
  const int k = 4;
  for (size_t i = 0; i < 2; ++i) {
    const Tensor mc = merged->layer(i).mapping_candidates().to(DType::i64);
    const Tensor mw = merged->layer(i).mapping_weights()->value;
    const int64_t Cand = mc.size(1);
    for (int m = 0; m < 2; ++m) {
      LUTLayer& in = (m == 0 ? a : b)->layer(i);
      const Tensor ic = in.mapping_candidates().to(DType::i64);
      const Tensor iw = in.mapping_weights()->value;
      // Layer 0: member b's nodes follow a's; layer 1 (the last): class groups of 4 nodes, a's
      // then b's in each class. Inputs of layer 1 from member b moved by a's 30 nodes.
      for (int64_t j = 0; j < in.num_nodes(); ++j) {
        const int64_t pos = i == 0 ? m * 30 + j : (j / 4) * 8 + m * 4 + j % 4;
        const int64_t shift = i == 0 ? 0 : m * 30;
        for (int64_t s = 0; s < k; ++s)
          for (int64_t c = 0; c < Cand; ++c) {
            const int64_t from = (j * k + s) * Cand + c, to = (pos * k + s) * Cand + c;
            REQUIRE(mc.data<int64_t>()[to] == ic.data<int64_t>()[from] + shift);
            REQUIRE(mw.data<float>()[to] == iw.data<float>()[from]);
          }
      }
    }
  }
}

TEST_CASE("merge_lut_networks: members that cannot be merged are refused with what differs") {
  const Toy t;
  auto a = member(t, MappingKind::sparse, MappingKind::random, {30, 12}, 1);
  CHECK_THROWS_WITH_AS(merge_lut_networks({a}),
                       "merge_lut_networks: expected at least two members, found 1", Error);

  auto expect_refusal = [&](std::shared_ptr<LUTNetwork> b, const std::string& part) {
    INFO("expected a message containing: " << part);
    try {
      merge_lut_networks({a, b}, {"a.safetensors", "b.safetensors"});
      FAIL("merged");
    } catch (const Error& e) {
      const std::string msg = e.what();
      CHECK(msg.find(part) != std::string::npos);
    }
  };
  // A member built from member a's config changed by `edit`, on a's encoder.
  auto refuse_edit = [&](auto edit, const std::string& part) {
    LUTNetworkConfig c = a->config();
    edit(c);
    Generator gen(2);
    expect_refusal(std::make_shared<LUTNetwork>(c, t.enc, gen), part);
  };
  refuse_edit([](LUTNetworkConfig& c) { c.k = 3; },
              "'b.safetensors' differs from 'a.safetensors' in k (LUT inputs): expected 4, "
              "found 3");
  refuse_edit([](LUTNetworkConfig& c) { c.tau = 2.0; }, "in GroupSum tau");
  refuse_edit([](LUTNetworkConfig& c) { c.later_mapping = MappingKind::cyclic; },
              "in the later layers' mapping: expected random, found cyclic");
  refuse_edit([](LUTNetworkConfig& c) { c.sparse_candidates = 5; },
              "in the sparse candidates per slot of layer 0: expected 8, found 5");
  refuse_edit(
      [](LUTNetworkConfig& c) {
        c.hidden_sizes = {30, 12, 6};
      },
      "in the number of LUT layers: expected 2, found 3");
  refuse_edit(
      [](LUTNetworkConfig& c) {
        c.hidden_sizes = {30, 10};
      },
      "has 10 nodes in its last layer, expected a multiple of its 3 classes");
  refuse_edit([](LUTNetworkConfig& c) { c.sparse_groups = 2; }, "grouped sparse connections");
  refuse_edit([](LUTNetworkConfig& c) { c.node_type = "hybrid"; },
              "in node type: expected dwn, found hybrid");
  refuse_edit([](LUTNetworkConfig& c) { c.node_options.degree = 3; },
              "in node option (model.params.node_params) degree: expected 2, found 3");
  refuse_edit([](LUTNetworkConfig& c) { c.dtype = DType::f64; },
              "in dtype: expected f32, found f64");
  refuse_edit([](LUTNetworkConfig& c) { c.first_mapping = MappingKind::random; },
              "in the first layer's mapping: expected sparse, found random");
  CHECK_THROWS_WITH_AS(merge_lut_networks({a, nullptr}), "merge_lut_networks: member 1 is null",
                       Error);
  {
    // Another encoder: fitted on other data, so other thresholds.
    Tensor x2, y2;
    test::toy_data(96, 12, 3, 77, x2, y2);
    ThermometerEncoder enc2("distributive", 3);
    enc2.fit(x2);
    Generator gen(2);
    expect_refusal(std::make_shared<LUTNetwork>(a->config(), enc2, gen), "in encoder threshold");
  }
}
