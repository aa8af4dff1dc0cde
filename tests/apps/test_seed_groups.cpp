// Seed spreads (apps/common/seed_groups): runs that differ only in seed and per-run keys form one
// group with the right mean, sample standard deviation and extremes; a different setting or
// device starts another group; unfinished runs are left out; a broken stored config is an error
// naming the experiment.
#include <string>
#include <vector>

#include "common/tracking/seed_groups.h"
#include "test_util.h"

using namespace difflut;
using namespace difflut::app;

namespace {

ExperimentRow run(int64_t id, const std::string& config, double test_acc,
                  const std::string& device = "cpu", const std::string& status = kStatusCompleted) {
  ExperimentRow e;
  e.id = id;
  e.name = "fmnist";
  e.status = status;
  e.device = device;
  e.node_type = "dwn";
  e.config_json = config;
  e.best["test/accuracy"] = test_acc;
  return e;
}

std::string config(int seed, const std::string& lr = "0.01", const std::string& out = "outputs",
                   const std::string& requested_device = "auto") {
  return "{\"experiment_name\":\"fmnist\",\"seed\":" + std::to_string(seed) + ",\"device\":\"" +
         requested_device + "\",\"output_dir\":\"" + out +
         "\",\"tracking\":{\"enabled\":true},\"training\":{\"lr\":" + lr +
         ",\"resume\":null,\"epochs\":15}}";
}

}  // namespace

TEST_CASE("runs differing only in seed and where they were kept form one group") {
  const std::vector<ExperimentRow> rows = {
      run(1, config(1), 0.876),
      run(2, config(2, "0.01", "elsewhere"), 0.878),
      run(3, config(3, "0.01", "outputs", "cpu"), 0.872),  // asked for cpu, ran on cpu
      run(4, config(1, "0.003"), 0.860),                   // another learning rate
      run(5, config(1), 0.870, "cuda"),                    // another device
      run(6, config(4), 0.99, "cpu", kStatusRunning),      // not finished: left out
  };
  const std::vector<SeedGroup> g = group_by_seed(rows);
  REQUIRE(g.size() == 3);
  CHECK(g[0].ids == std::vector<int64_t>{1, 2, 3});
  CHECK(g[0].seeds == std::vector<std::string>{"1", "2", "3"});
  CHECK(g[0].mean == doctest::Approx(0.8753333333));
  REQUIRE(g[0].sd.has_value());
  CHECK(*g[0].sd == doctest::Approx(0.0030550505));  // sample sd of 0.876, 0.878, 0.872
  CHECK(g[0].min == doctest::Approx(0.872));
  CHECK(g[0].max == doctest::Approx(0.878));
  CHECK(g[1].ids == std::vector<int64_t>{4});
  CHECK_FALSE(g[1].sd.has_value());
  CHECK(g[2].device == "cuda");
}

TEST_CASE("the grouping key ignores member order but not values") {
  const std::string a = "{\"b\":{\"y\":2,\"x\":1},\"a\":[1,2],\"seed\":5}";
  const std::string b = "{\"a\":[1,2],\"seed\":9,\"b\":{\"x\":1,\"y\":2}}";
  const std::string c = "{\"a\":[2,1],\"seed\":9,\"b\":{\"x\":1,\"y\":2}}";
  CHECK(config_key_without_seed(a, 1) == config_key_without_seed(b, 2));
  CHECK(config_key_without_seed(a, 1) != config_key_without_seed(c, 3));
}

TEST_CASE("a stored config that is not a JSON object is an error naming the experiment") {
  CHECK_THROWS_WITH_AS(config_key_without_seed("[1, 2]", 7),
                       doctest::Contains("experiment 7 config: expected a JSON object"), Error);
  CHECK_THROWS_WITH_AS(config_key_without_seed("{\"seed\": ", 8),
                       doctest::Contains("experiment 8 config: invalid JSON"), Error);
}
