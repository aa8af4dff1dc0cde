// Seed spreads over tracked runs (see seed_groups.h).
#include "common/tracking/seed_groups.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "autograd/io/mini_json.h"
#include "tensor/error.h"

namespace difflut::app {
namespace {

// Keys that say where or how a run was kept, not what was trained; `device` as requested
// ("auto", "cpu", ...) gives way to the device the run actually used, which is part of the key.
bool is_per_run_key(const std::string& path) {
  static const std::set<std::string> kKeys = {"seed",     "output_dir",      "data_root",
                                              "tracking", "training.resume", "device"};
  return kKeys.count(path) > 0;
}

void write_canonical(const json::Value& v, const std::string& path, std::string& out) {
  switch (v.kind) {
    case json::Value::Kind::null: out += "null"; return;
    case json::Value::Kind::boolean: out += v.boolean ? "true" : "false"; return;
    case json::Value::Kind::number: out += v.text; return;
    case json::Value::Kind::string: json::write_string(out, v.text); return;
    case json::Value::Kind::array:
      out += '[';
      for (size_t i = 0; i < v.items.size(); ++i) {
        if (i) out += ',';
        write_canonical(v.items[i], path, out);
      }
      out += ']';
      return;
    case json::Value::Kind::object: {
      struct Member {
        const std::string* key;
        std::string path;  // dotted, as config keys are written
        const json::Value* value;
      };
      std::vector<Member> kept;
      for (const auto& [key, value] : v.members) {
        std::string child = path.empty() ? key : path + "." + key;
        if (!is_per_run_key(child)) kept.push_back({&key, std::move(child), &value});
      }
      std::sort(kept.begin(), kept.end(),
                [](const Member& a, const Member& b) { return *a.key < *b.key; });
      out += '{';
      for (size_t i = 0; i < kept.size(); ++i) {
        if (i) out += ',';
        json::write_string(out, *kept[i].key);
        out += ':';
        write_canonical(*kept[i].value, kept[i].path, out);
      }
      out += '}';
      return;
    }
  }
}

std::string seed_of(const std::string& config_json, int64_t experiment_id) {
  const json::Value root =
      json::parse(config_json, "experiment " + std::to_string(experiment_id) + " config");
  const json::Value* seed = root.find("seed");
  // Numbers keep their literal and strings their text, so either prints as written.
  if (!seed || seed->kind == json::Value::Kind::null) return "?";
  return seed->text;
}

}  // namespace

std::string config_key_without_seed(const std::string& config_json, int64_t experiment_id) {
  const json::Value root =
      json::parse(config_json, "experiment " + std::to_string(experiment_id) + " config");
  DIFFLUT_CHECK(root.is_object(), "experiment ", experiment_id,
                " config: expected a JSON object, found ", json::kind_name(root.kind));
  std::string out;
  write_canonical(root, "", out);
  return out;
}

std::vector<SeedGroup> group_by_seed(const std::vector<ExperimentRow>& rows) {
  std::vector<const ExperimentRow*> done;
  for (const ExperimentRow& e : rows)
    if (e.status == kStatusCompleted && e.best.count("test/accuracy")) done.push_back(&e);
  std::sort(done.begin(), done.end(), [](const auto* a, const auto* b) { return a->id < b->id; });

  std::vector<SeedGroup> groups;
  std::map<std::string, size_t> index;  // device + canonical config -> group
  for (const ExperimentRow* e : done) {
    const std::string key = e->device + "\n" + config_key_without_seed(e->config_json, e->id);
    auto [it, fresh] = index.emplace(key, groups.size());
    if (fresh) {
      SeedGroup g;
      g.name = e->name;
      g.dataset = e->dataset_name;
      g.node_type = e->node_type;
      g.layer_type = e->layer_type;
      g.device = e->device;
      g.learning_rate = e->learning_rate;
      g.epochs = e->epochs;
      groups.push_back(std::move(g));
    }
    SeedGroup& g = groups[it->second];
    g.ids.push_back(e->id);
    g.seeds.push_back(seed_of(e->config_json, e->id));
    g.test_accuracy.push_back(e->best.at("test/accuracy"));
  }
  for (SeedGroup& g : groups) {
    const std::vector<double>& a = g.test_accuracy;
    double sum = 0;
    for (double v : a) sum += v;
    g.mean = sum / static_cast<double>(a.size());
    g.min = *std::min_element(a.begin(), a.end());
    g.max = *std::max_element(a.begin(), a.end());
    if (a.size() > 1) {
      double ss = 0;
      for (double v : a) ss += (v - g.mean) * (v - g.mean);
      g.sd = std::sqrt(ss / static_cast<double>(a.size() - 1));
    }
  }
  return groups;
}

}  // namespace difflut::app
