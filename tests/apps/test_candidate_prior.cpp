// model.params.sparse_candidate_prior=label_mi (apps/common/training/train_candidates.h): the
// information of each encoded bit about the label, and a sparse first layer's candidates drawn
// from it: only on bits that carry some, the scores and the other layers untouched; end to end,
// difflut-train draws them, saves them with the model, and difflut-export lowers that model with 0
// mismatches.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "apps_test_util.h"
#include "autograd/io/safetensors.h"
#include "common/training/train_candidates.h"
#include "data/dataset.h"
#include "encoders/thermometer.h"
#include "lut/lut_network.h"
#include "tensor/error.h"
#include "tensor/random.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace difflut;
using namespace difflut::app;

namespace {
// 400 samples, 2 classes alternating; 6 features: 0 is the label itself, 1 is constant, 2 is
// noise independent of the label (the same in both classes), 3-5 equal the label on 3/4 of the
// samples. One uniform thermometer bit per feature: bit f is feature f > 0.5.
Dataset toy_dataset() {
  const int64_t N = 400, F = 6;
  std::vector<float> x(static_cast<size_t>(N * F));
  std::vector<int64_t> y(static_cast<size_t>(N));
  for (int64_t n = 0; n < N; ++n) {
    const int64_t label = n % 2;
    y[static_cast<size_t>(n)] = label;
    float* r = x.data() + n * F;
    r[0] = static_cast<float>(label);
    r[1] = 0.25f;
    r[2] = (n / 2) % 2 ? 1.0f : 0.0f;  // on for half of each class
    for (int f = 3; f < 6; ++f) r[f] = (n / 2) % 4 == f - 3 ? 1.0f - label : label;
  }
  Dataset d;
  d.features = Tensor::from_vector(x, {N, F});
  d.labels = Tensor::from_vector(y, {N});
  d.num_classes = 2;
  d.name = "toy/train";
  return d;
}

ThermometerEncoder fitted_encoder(const Dataset& d) {
  ThermometerEncoder e(ThermometerKind::uniform, 1, /*feature_wise=*/false);
  e.fit(d.features_f32());
  return e;
}

LUTNetworkConfig sparse_config(int64_t candidates) {
  LUTNetworkConfig c;
  c.num_features = 6;
  c.num_classes = 2;
  c.hidden_sizes = {20, 10};
  c.k = 2;
  c.first_mapping = MappingKind::sparse;
  c.later_mapping = MappingKind::random;
  c.sparse_candidates = candidates;
  return c;
}
}  // namespace

TEST_CASE("input_label_information: a copy of the label is one bit, constant or noise is 0") {
  const Dataset d = toy_dataset();
  const ThermometerEncoder e = fitted_encoder(d);
  REQUIRE(e.output_features() == 6);
  const std::vector<double> info = input_label_information(e, d);
  REQUIRE(info.size() == 6);
  CHECK(info[0] == doctest::Approx(1.0));
  CHECK(info[1] == 0.0);
  CHECK(info[2] == doctest::Approx(0.0).epsilon(1e-12));
  // 1 - H(1/4) bits: the label through a channel that flips it on a quarter of the samples.
  const double h = -(0.25 * std::log2(0.25) + 0.75 * std::log2(0.75));
  for (size_t f = 3; f < 6; ++f) CHECK(info[f] == doctest::Approx(1.0 - h));
}

TEST_CASE("draw_informed_candidates: the first layer's candidates only on informative bits") {
  const Dataset d = toy_dataset();
  Generator gen(3);
  LUTNetwork net(sparse_config(3), fitted_encoder(d), gen);
  const std::vector<float> w_before =
      net.layer(0).parameter("mapping_weights").value.to_vector<float>();
  CHECK(draw_informed_candidates(net, d, 5) == 4);
  const Tensor& cand = net.layer(0).mapping_candidates();
  CHECK(cand.shape() == Shape{40, 3});
  for (int32_t i : cand.to_vector<int32_t>()) CHECK((i == 0 || i >= 3));
  // The same seed draws the same candidates; the scores are left as they were.
  LUTNetwork again(sparse_config(3), fitted_encoder(d), gen);
  draw_informed_candidates(again, d, 5);
  CHECK(again.layer(0).mapping_candidates().to_vector<int32_t>() == cand.to_vector<int32_t>());
  CHECK(net.layer(0).parameter("mapping_weights").value.to_vector<float>() == w_before);
  // Four bits carry information: C = 5 cannot be drawn from them.
  LUTNetwork wide(sparse_config(5), fitted_encoder(d), gen);
  CHECK_THROWS_WITH_AS(draw_informed_candidates(wide, d, 5),
                       "config key 'model.params.sparse_candidate_prior': expected at least 5 "
                       "encoded inputs (model.params.sparse_candidates) that carry information "
                       "about the label, found 4 of 6; set it to uniform",
                       Error);
  LUTNetworkConfig dense = sparse_config(3);
  dense.first_mapping = MappingKind::learnable;
  LUTNetwork learnable(dense, fitted_encoder(d), gen);
  CHECK_THROWS_WITH_AS(draw_informed_candidates(learnable, d, 5),
                       "config key 'model.params.sparse_candidate_prior': expected a sparse first "
                       "layer of drawn candidates (model.params.layer_type=sparse), found "
                       "learnable; set it to uniform",
                       Error);
}

TEST_CASE(
    "difflut-train sparse_candidate_prior=label_mi: drawn, saved, exported with 0 mismatches") {
  const std::string dir = test::temp_dir("candidate_prior");
  auto train = [&](const std::string& prior) {
    return test::run_program(
        test::built_program("difflut-train"),
        str_cat("--config-dir '", test::shipped_config_dir(),
                "' device=cpu dataloaders.subset_size=600 'model.params.hidden_sizes=[60,30]' "
                "model.params.layer_type=sparse model.params.sparse_candidate_prior=",
                prior, " training.epochs=1 tracking.enabled=false experiment_name=", prior,
                " output_dir='", dir, "'"),
        "candidate_prior_" + prior);
  };
  const test::RunOutput mi = train("label_mi"), uniform = train("uniform");
  INFO(mi.err);
  REQUIRE(mi.rc == 0);
  REQUIRE(uniform.rc == 0);
  CHECK((mi.out + mi.err).find("candidates drawn by label information") != std::string::npos);
  CHECK((uniform.out + uniform.err).find("label information") == std::string::npos);
  auto model_of = [&](const std::string& name) {
    std::string path;
    for (const auto& e : fs::directory_iterator(fs::path(dir) / name))
      path = (e.path() / "model.safetensors").string();
    return path;
  };
  auto candidates = [&](const std::string& path) {
    for (const auto& [n, t] : load_safetensors(path).tensors)
      if (n == "layer0.mapping_candidates") return t.to_vector<int32_t>();
    FAIL("no layer0.mapping_candidates in ", path);
    return std::vector<int32_t>();
  };
  const std::string mi_model = model_of("label_mi");
  // The same seed draws other candidates under the prior: they are what the model file holds.
  CHECK(candidates(mi_model) != candidates(model_of("uniform")));
  // Loading takes the stored candidates, not a fresh draw from the seed.
  CHECK(load_lut_network(mi_model)->layer(0).mapping_candidates().to_vector<int32_t>() ==
        candidates(mi_model));
  const test::RunOutput x = test::run_program(
      test::built_program("difflut-export"),
      str_cat("'", mi_model, "' --dataset fashionmnist --limit 200 --out '", dir, "/v'"),
      "candidate_prior_export");
  INFO(x.out);
  INFO(x.err);
  CHECK(x.rc == 0);
  CHECK(x.last_line().rfind("mismatches=0", 0) == 0);
}
