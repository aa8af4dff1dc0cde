// dataloaders.holdout: the last N training samples become the test set (CIFAR-10's held-out
// data_batch_5 split), removed from training, and an N the training set cannot give is one error.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "apps_test_util.h"
#include "common/config/config_compose.h"
#include "common/config/settings.h"
#include "common/training/train_data.h"
#include "data/registry.h"
#include "encoders/thermometer.h"
#include "lut/lut_network.h"
#include "tensor/random.h"
#include "test_networks.h"
#include "test_util.h"

using namespace difflut;
using namespace difflut::app;

TEST_CASE("dataloaders.holdout: the last N training samples are the test set, not trained on") {
  const ExperimentSettings s =
      parse_experiment_settings(compose_config({test::shipped_config_dir(), "experiment"},
                                               {"dataloaders=mnist", "dataloaders.holdout=1000"}));
  REQUIRE(s.data.holdout == 1000);
  const Dataset full = load_dataset("mnist", "train", s.data.data_root);
  const TrainingData d = load_training_data(s.data, 0.0, 1);
  const int64_t n = full.size();
  REQUIRE(d.test.size() == 1000);
  REQUIRE(d.train.size() == n - 1000);
  CHECK(d.test.note.find("held out") != std::string::npos);
  const int64_t per = full.feature_dim();
  const uint8_t* f = full.features.data<uint8_t>();
  const int64_t* y = full.labels.data<int64_t>();
  // Test row i is training row n - 1000 + i; training keeps rows 0..n-1001 in order.
  for (int64_t i : {int64_t{0}, int64_t{517}, int64_t{999}}) {
    CHECK(d.test.labels.data<int64_t>()[i] == y[n - 1000 + i]);
    CHECK(std::equal(f + (n - 1000 + i) * per, f + (n - 999 + i) * per,
                     d.test.features.data<uint8_t>() + i * per));
  }
  CHECK(std::equal(y, y + (n - 1000), d.train.labels.data<int64_t>()));

  const ExperimentSettings all =
      parse_experiment_settings(compose_config({test::shipped_config_dir(), "experiment"},
                                               {"dataloaders=mnist", "dataloaders.holdout=60000"}));
  CHECK_THROWS_WITH_AS(load_training_data(all.data, 0.0, 1),
                       "config key 'dataloaders.holdout': expected fewer than the 60000 training "
                       "samples of 'mnist', found 60000",
                       Error);
  CHECK_THROWS_WITH_AS(parse_experiment_settings(compose_config(
                           {test::shipped_config_dir(), "experiment"}, {"dataloaders.holdout=0"})),
                       "config key 'dataloaders.holdout': expected an integer >= 1, found 0",
                       Error);
}

TEST_CASE("difflut-export --holdout scores the last N training samples; impossible N is refused") {
  const std::string dir = test::temp_dir("export_holdout");
  Generator g(5);
  ThermometerEncoder enc("distributive", 1);
  enc.fit(Tensor::rand({64, 784}, g));
  LUTNetworkConfig c = test::small_config(784, 10, {40, 20}, 3);
  c.first_mapping = MappingKind::random;
  LUTNetwork net(c, enc, g);
  LUTNetworkSaveOptions so;
  so.write_json = false;
  save_lut_network(net, dir + "/m.safetensors", so);
  const std::string exe = test::built_program("difflut-export");
  const test::RunOutput ok = test::run_program(
      exe, dir + "/m.safetensors --dataset mnist --holdout 300 --out " + dir + "/v",
      "export_holdout_ok");
  CHECK(ok.rc == 0);
  CHECK(ok.out.find("mismatches=0") != std::string::npos);
  CHECK(ok.out.find("test set: held out: samples 59700..59999 of 'mnist/train'") !=
        std::string::npos);
  const test::RunOutput all = test::run_program(
      exe, dir + "/m.safetensors --dataset mnist --holdout 60000 --out " + dir + "/w",
      "export_holdout_all");
  CHECK(all.rc == 2);
  CHECK(all.err.find("expected a held-out count in [1, 59999], found 60000") != std::string::npos);
  CHECK(!std::filesystem::exists(dir + "/w"));
  // Without --dataset and --holdout, the checkpoint's stored config names both: a model trained
  // with dataloaders.holdout=N is checked on those N samples, not on the published test set.
  so.config_yaml = "dataloaders:\n  name: mnist\n  holdout: 300\n";
  save_lut_network(net, dir + "/stored.safetensors", so);
  const test::RunOutput stored = test::run_program(
      exe, dir + "/stored.safetensors --out " + dir + "/s", "export_holdout_stored");
  CHECK(stored.rc == 0);
  CHECK(stored.out.find("test set: held out: samples 59700..59999 of 'mnist/train'") !=
        std::string::npos);
  CHECK(stored.out.find("mismatches=0") != std::string::npos);
  // An explicit --holdout wins over the stored one.
  const test::RunOutput wins = test::run_program(
      exe, dir + "/stored.safetensors --holdout 200 --limit 50 --out " + dir + "/t",
      "export_holdout_explicit");
  CHECK(wins.rc == 0);
  CHECK(wins.out.find("held out: samples 59800..59999") != std::string::npos);
  test::write_file(dir + "/t.csv", "a,label\n1,0\n");
  const test::RunOutput csv = test::run_program(
      exe, dir + "/m.safetensors --csv " + dir + "/t.csv --holdout 5 --out " + dir + "/x",
      "export_holdout_csv");
  CHECK(csv.rc == 2);
  CHECK(csv.err ==
        "difflut-export: error: --holdout takes its samples from a dataset's training split, not "
        "from --csv\n");
}
