// Seed spreads over tracked runs: experiments whose resolved configs are equal except for the seed
// (and where the run went: output_dir, data_root, tracking.*, training.resume) on the same device
// (the one the run used; the requested `device` key is ignored) form one group, summarised by the count, mean, sample standard deviation, minimum and maximum
// of their test accuracy. One run of a LUT network is one draw (a few tenths of a point apart from
// seed to seed), so accuracy claims are made on such groups; difflut-query --seeds prints them.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/tracking/tracking_sqlite.h"

namespace difflut::app {

struct SeedGroup {
  // From the group's first experiment (equal across the group apart from ids and seeds).
  std::string name, dataset, node_type, layer_type, device;
  std::optional<double> learning_rate;
  std::optional<int64_t> epochs;
  std::vector<int64_t> ids;           // experiment ids, ascending
  std::vector<std::string> seeds;     // each run's `seed` as written in its config ("?" if absent)
  std::vector<double> test_accuracy;  // per run, in the order of ids
  double mean = 0, min = 0, max = 0;
  std::optional<double> sd;  // sample standard deviation (n - 1); none for a single run
};

// The config JSON with the per-run keys listed above removed and every object's members sorted,
// so that two runs of one configuration give the same text. Throws difflut::Error naming the
// experiment when the stored config is not a JSON object.
std::string config_key_without_seed(const std::string& config_json, int64_t experiment_id);

// Groups the completed experiments that have a test accuracy (others are skipped), in order of
// their first experiment id.
std::vector<SeedGroup> group_by_seed(const std::vector<ExperimentRow>& rows);

}  // namespace difflut::app
