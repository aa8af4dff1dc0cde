// Resumable training checkpoints: one safetensors file holding the model's parameters
// ("model.<name>"), the optimizer state ("optimizer.<param>.<slot>", step, lr), the LR scheduler
// state ("scheduler.*") and, in its metadata, the completed epoch, the generator state and
// whatever the trainer adds (history, best values, tracking ids). Written atomically (temp file +
// rename, by save_safetensors), so a crash leaves the previous checkpoint or the new one, never a
// torn file. Also: finding a run from `training.resume=` and composing the resumed run's config.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/config/config.h"

namespace difflut {
class Module;
class Optimizer;
class LRScheduler;
class Generator;
}  // namespace difflut

namespace difflut::app {

inline constexpr const char* kCheckpointFile = "checkpoint.safetensors";
inline constexpr const char* kBestModelFile = "best.safetensors";
inline constexpr const char* kTrackingFile = "tracking.json";

// The largest epoch a checkpoint may claim (a sanity bound against damaged metadata).
inline constexpr uint64_t kMaxCheckpointEpoch = 1000000000;

struct CheckpointState {
  int64_t epoch = 0;  // completed epochs; training continues with epoch + 1
  uint64_t generator_seed = 0, generator_offset = 0;
  std::map<std::string, std::string> extra;  // caller's metadata (string values)
};

// Writes `path` atomically. `scheduler` may be null. Format version 2 carries the safetensors
// content checksum (autograd/io/safetensors.h): a flipped byte in the Adam state or a metadata
// value used to resume silently from damaged state.
void save_training_checkpoint(const std::string& path, Module& model, Optimizer& optimizer,
                              const LRScheduler* scheduler, const Generator& generator,
                              const CheckpointState& state);
// Restores model parameters, the modules' extra state (Module::extra_state: a sparse layer's
// candidates, "state:<module>.<name>", from format_version 3 on; versions 1 and 2 predate it),
// optimizer and scheduler state and the generator from `path`. A format_version 2 or 3 file must
// hold its checksum, which load_safetensors verifies (format_version 1, written before it, has
// none).
// Every
// model parameter must be present with its shape and dtype and finite values; the metadata's
// integers must be plain decimals (epoch <= kMaxCheckpointEpoch), the scheduler's epoch the checkpoint's, the optimizer state finite with a step
// count >= 0. Errors name the file and the entry; the model is not changed unless everything
// matches. Returns the metadata.
CheckpointState load_training_checkpoint(const std::string& path, Module& model,
                                         Optimizer& optimizer, LRScheduler* scheduler,
                                         Generator& generator);

// fsync of a directory: makes the renames inside it durable.
void sync_directory(const std::string& dir);

// `training.resume` names a run directory or a file inside one (its checkpoint.safetensors):
// returns the run directory. Throws when it is neither a directory nor an existing file.
std::string resume_run_dir(const std::string& resume);

// When `composed` sets training.resume, the run continues with the configuration it was started
// with: <run dir>/config.yaml, with this command line's value overrides applied on top (e.g.
// training.epochs=30 trains longer) and training.resume set. Group selections (dataloaders=...)
// and values that differ from the run's under model.*, dataloaders.* and seed are refused: they
// would change the model or data under the checkpoint. Without
// training.resume, `composed` is returned as is.
Config resume_config(const Config& composed, const std::vector<std::string>& overrides);

}  // namespace difflut::app
