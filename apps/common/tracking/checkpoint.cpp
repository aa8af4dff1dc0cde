// Training checkpoints and resume (see checkpoint.h).
#include "common/tracking/checkpoint.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <unistd.h>

#include "autograd/io/safetensors.h"
#include "autograd/nn/module.h"
#include "autograd/optim/lr_scheduler.h"
#include "autograd/optim/optimizer.h"
#include "common/config/config_compose.h"
#include "tensor/random.h"

namespace difflut::app {

namespace fs = std::filesystem;

namespace {
// Prefixes keep the three state families apart whatever their own names are.
const std::string kModel = "model:";
const std::string kOptim = "optim:";
const std::string kSched = "sched:";
const std::string kState = "state:";  // modules' extra state (format_version 3 on)
const std::string kMetaPrefix = "difflut.";

// Strictly a decimal unsigned integer: std::stoull also takes "-1" (as 2^64 - 1), " 7" and "+7",
// which let a damaged checkpoint resume "after epoch -1" and delete a run's history.
uint64_t parse_u64(const Metadata& meta, const std::string& key, const std::string& path) {
  auto it = meta.find(key);
  DIFFLUT_CHECK(it != meta.end(), "checkpoint '", path, "': metadata entry '", key,
                "' is missing (not a difflut-train checkpoint?)");
  const std::string& text = it->second;
  uint64_t v = 0;
  bool ok = !text.empty() && text.size() <= 20;
  for (char c : text) {
    if (!ok) break;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    ok = c >= '0' && c <= '9' && v <= (UINT64_MAX - d) / 10;
    v = v * 10 + d;
  }
  DIFFLUT_CHECK(ok, "checkpoint '", path, "': metadata entry '", key,
                "': expected an unsigned integer, found '", text, "'");
  return v;
}

// Every element of a floating-point tensor finite; `what` names the entry.
void check_finite(const Tensor& t, const std::string& path, const std::string& what) {
  if (t.dtype() != DType::f32 && t.dtype() != DType::f64) return;
  const std::vector<double> v = t.to(Device::cpu).to(DType::f64).to_vector<double>();
  for (size_t i = 0; i < v.size(); ++i)
    DIFFLUT_CHECK(std::isfinite(v[i]), "checkpoint '", path, "': ", what,
                  ": expected finite values, found ", v[i], " at element ", i);
}
}  // namespace

void save_training_checkpoint(const std::string& path, Module& model, Optimizer& optimizer,
                              const LRScheduler* scheduler, const Generator& generator,
                              const CheckpointState& state) {
  NamedTensors tensors;
  for (auto& [name, p] : model.named_parameters()) tensors.emplace_back(kModel + name, p->value);
  for (auto& [path, m] : model.named_modules())
    for (auto& [name, t] : m->extra_state())
      tensors.emplace_back(kState + (path.empty() ? name : path + "." + name), t);
  for (auto& [name, t] : optimizer.state_dict()) tensors.emplace_back(kOptim + name, t);
  if (scheduler)
    for (auto& [name, t] : scheduler->state_dict()) tensors.emplace_back(kSched + name, t);
  Metadata meta;
  meta["format"] = "difflut-train checkpoint";
  meta["format_version"] = "3";
  meta["epoch"] = std::to_string(state.epoch);
  meta["generator_seed"] = std::to_string(generator.seed());
  meta["generator_offset"] = std::to_string(generator.offset());
  meta["optimizer"] = optimizer.name();
  meta["scheduler"] = scheduler ? scheduler->name() : "none";
  for (const auto& [k, v] : state.extra) meta[kMetaPrefix + k] = v;
  meta[kChecksumKey] = "";  // filled in by the writer (safetensors.h)
  // save_safetensors flushes the file and renames it; flushing the directory makes the rename
  // itself durable, so "epoch N is recorded" (which follows) implies its checkpoint survives a
  // power loss too.
  save_safetensors(path, tensors, meta);
  sync_directory(fs::path(path).parent_path().empty() ? std::string(".")
                                                      : fs::path(path).parent_path().string());
}

CheckpointState load_training_checkpoint(const std::string& path, Module& model,
                                         Optimizer& optimizer, LRScheduler* scheduler,
                                         Generator& generator) {
  SafetensorsContents file = load_safetensors(path);
  const Metadata& meta = file.metadata;
  const auto version = meta.find("format_version");
  const std::string found_version = version == meta.end() ? "(missing)" : version->second;
  DIFFLUT_CHECK(found_version == "1" || found_version == "2" || found_version == "3",
                "checkpoint '", path, "': expected format_version 1, 2 or 3, found '",
                found_version, "'");
  // load_safetensors has verified the checksum; versions 2 and 3 must have one (a damaged entry
  // name would otherwise turn the check off).
  DIFFLUT_CHECK(found_version == "1" || meta.count(kChecksumKey), "checkpoint '", path,
                "': metadata entry 'checksum' is missing (format_version ", found_version,
                " has one): the file is damaged");
  auto meta_is = [&](const char* key, const std::string& want) {
    auto it = meta.find(key);
    const std::string found = it == meta.end() ? std::string("(missing)") : it->second;
    DIFFLUT_CHECK(found == want, "checkpoint '", path, "': expected ", key, " '", want,
                  "' (this run's setting), found '", found, "'");
  };
  meta_is("format", "difflut-train checkpoint");
  meta_is("optimizer", optimizer.name());
  meta_is("scheduler", scheduler ? scheduler->name() : "none");
  CheckpointState state;
  const uint64_t epoch = parse_u64(meta, "epoch", path);
  DIFFLUT_CHECK(epoch <= kMaxCheckpointEpoch, "checkpoint '", path,
                "': metadata entry 'epoch': ", "expected at most ", kMaxCheckpointEpoch, ", found ",
                epoch);
  state.epoch = static_cast<int64_t>(epoch);
  state.generator_seed = parse_u64(meta, "generator_seed", path);
  state.generator_offset = parse_u64(meta, "generator_offset", path);
  for (const auto& [k, v] : meta)
    if (k.rfind(kMetaPrefix, 0) == 0) state.extra[k.substr(kMetaPrefix.size())] = v;

  NamedTensors optim, sched;
  for (auto& [name, t] : file.tensors) {
    if (name.rfind(kOptim, 0) == 0) optim.emplace_back(name.substr(kOptim.size()), t);
    if (name.rfind(kSched, 0) == 0) sched.emplace_back(name.substr(kSched.size()), t);
  }
  // Validate the model entries before changing anything.
  std::vector<std::pair<Parameter*, const Tensor*>> copies;
  for (auto& [name, p] : model.named_parameters()) {
    const Tensor* t = find_tensor(file.tensors, kModel + name);
    DIFFLUT_CHECK(t != nullptr, "checkpoint '", path, "': parameter '", name,
                  "' of the model is missing (was the checkpoint written for another model?)");
    DIFFLUT_CHECK(t->shape() == p->value.shape() && t->dtype() == p->value.dtype(), "checkpoint '",
                  path, "': parameter '", name, "': expected ", p->value.describe(), ", found ",
                  t->describe());
    check_finite(*t, path, "parameter '" + name + "'");
    copies.emplace_back(p, t);
  }
  // Modules' extra state (a sparse layer's candidates), from version 3 on. Versions 1 and 2 were
  // written before training could change it, so the state the seed draws is theirs.
  std::vector<std::pair<Module*, NamedTensors>> extra;
  if (found_version == "3") {
    for (auto& [mpath, m] : model.named_modules()) {
      NamedTensors entries;
      for (const auto& [name, want] : m->extra_state()) {
        const std::string full = mpath.empty() ? name : mpath + "." + name;
        const Tensor* t = find_tensor(file.tensors, kState + full);
        DIFFLUT_CHECK(t != nullptr, "checkpoint '", path, "': entry '", kState, full,
                      "' of the model is missing (was the checkpoint written for another model?)");
        entries.emplace_back(name, *t);
      }
      try {
        m->check_extra_state(entries);
      } catch (const Error& e) {
        DIFFLUT_FAIL("checkpoint '", path, "': module '", mpath, "': ", e.what());
      }
      if (!entries.empty()) extra.emplace_back(m, std::move(entries));
    }
  }
  // The scheduler steps once per epoch, so its position must be the checkpoint's epoch.
  if (scheduler) {
    const Tensor* last = find_tensor(sched, "scheduler.last_epoch");
    DIFFLUT_CHECK(
        last && last->numel() == 1 && last->item_as_double() == static_cast<double>(state.epoch),
        "checkpoint '", path, "': entry 'sched:scheduler.last_epoch': expected ", state.epoch,
        " (the checkpoint's epoch), found ",
        last ? (last->numel() == 1 ? str_cat(last->item_as_double()) : last->describe())
             : std::string("none"));
  }
  optimizer.load_state_dict(optim);
  if (scheduler) scheduler->load_state_dict(sched);
  for (auto& [p, t] : copies) p->value.copy_(*t);
  for (auto& [m, entries] : extra) m->load_extra_state(entries);
  generator.set_state(state.generator_seed, state.generator_offset);
  return state;
}

void sync_directory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIFFLUT_CHECK(fd >= 0, "run directory '", dir,
                "': cannot open it to flush: ", std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  DIFFLUT_CHECK(rc == 0, "run directory '", dir, "': flushing failed: ", std::strerror(err));
}

std::string resume_run_dir(const std::string& resume) {
  std::error_code ec;
  if (fs::is_directory(resume, ec)) return fs::absolute(resume).lexically_normal().string();
  DIFFLUT_CHECK(fs::is_regular_file(resume, ec), "config key 'training.resume': expected a run ",
                "directory or a checkpoint file in one, found '", resume,
                "' (no such file or directory)");
  const fs::path parent = fs::absolute(resume).parent_path().lexically_normal();
  return parent.string();
}

Config resume_config(const Config& composed, const std::vector<std::string>& overrides) {
  const ConfigNode* r = composed.find("training.resume");
  if (!r || r->is_null()) return composed;
  const std::string resume = composed.get_string("training.resume");
  const std::string dir = resume_run_dir(resume);
  const fs::path config_path = fs::path(dir) / "config.yaml";
  DIFFLUT_CHECK(fs::is_regular_file(config_path), "config key 'training.resume': '", dir,
                "' has no config.yaml (not a difflut-train run directory)");
  Config config = load_config_file(config_path.string());
  const Config started = config;
  // What the checkpoint describes: the model, the data and the seed (which draws the subset, the
  // validation split, the encoder thresholds and the random mappings). A different value there
  // would continue the run as another experiment under the same row, and some changes load
  // without any shape error (node type dwn -> probabilistic has the same tables), so they are
  // refused by key, not left to the checkpoint's shapes. Values equal to the run's pass.
  auto describes_checkpoint = [](const std::string& key) {
    return key == "seed" || key == "model" || key.rfind("model.", 0) == 0 || key == "dataloaders" ||
           key.rfind("dataloaders.", 0) == 0;
  };
  for (const std::string& text : overrides) {
    const Override ov = parse_override(text);
    if (ov.key == "training.resume") continue;
    if (ov.key.find('.') == std::string::npos) {
      const ConfigNode* group = config.find(ov.key);
      if (group && group->is_map()) {
        // The launcher only matters for sweeps; anything else changes what the checkpoint holds.
        DIFFLUT_CHECK(ov.key == "launcher", ov.text, ": config groups cannot change when resuming ",
                      "(the run continues with the model and data it started with)");
        continue;
      }
    }
    apply_override(config, ov);
    if (describes_checkpoint(ov.key)) {
      const ConfigNode* before = started.find(ov.key);
      const ConfigNode* after = config.find(ov.key);
      DIFFLUT_CHECK(before && after && *before == *after, ov.text,
                    ": the model, data and seed cannot change when resuming (the checkpoint holds ",
                    "the run as it started; start a new run for another setting)");
    }
  }
  config.set("training.resume", ConfigNode::string(resume));
  return config;
}

}  // namespace difflut::app
