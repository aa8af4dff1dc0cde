// History is append-only (issue 12, the four LOSS cases and the resume-side validation): every
// refused resume leaves the tracking database row-for-row unchanged (experiment row and status,
// epoch rows, test rows, metrics, histograms) and the run directory's files byte-for-byte.
#include <algorithm>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <limits>
#include <string>

#include "common/tracking/checkpoint.h"
#include "test_history_util.h"

using namespace difflut;
using namespace difflut::test::history;

TEST_CASE("history: a resume whose tracking.json id now names another experiment is refused") {
  // LOSS 1: the database was recreated and the id reused; trusting it rewrote the other run.
  const std::string dir = test::temp_dir("hist-reused-id");
  const std::string db = dir + "/e.db";
  const std::string run_a = completed_run(dir, db, 2);
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(db + suffix);
  const std::string run_b = completed_run(dir, db, 2, "seed=7");  // gets id 1 again
  REQUIRE(run_a != run_b);
  REQUIRE(sql_int(db, "SELECT count(*) FROM experiments") == 1);
  expect_refused(dir, db, run_a, "training.epochs=3", "that row is another run");
  // The same with the name equal and only the run directory telling them apart.
  CHECK(sql_text(db, "SELECT status FROM experiments WHERE id = 1") == "completed");
}

TEST_CASE("history: damaged checkpoint metadata is refused before any row is deleted") {
  // LOSS 2: epoch = -1 was read by std::stoull as 2^64 - 1, i.e. epoch -1, and the resume
  // deleted every measurement of the experiment before failing.
  const std::string dir = test::temp_dir("hist-meta");
  const std::string db = dir + "/e.db";
  const std::string run = completed_run(dir, db, 2);
  const std::string ckpt = run + "/checkpoint.safetensors";
  const std::string original = read_text(ckpt);
  struct Case {
    const char* key;
    const char* value;
    const char* expected;
  };
  const Case cases[] = {
      {"epoch", "-1", "metadata entry 'epoch': expected an unsigned integer, found '-1'"},
      {"epoch", " 1", "metadata entry 'epoch': expected an unsigned integer"},
      {"epoch", "+1", "metadata entry 'epoch': expected an unsigned integer"},
      {"epoch", "1.5", "metadata entry 'epoch': expected an unsigned integer"},
      {"epoch", "", "metadata entry 'epoch': expected an unsigned integer"},
      {"epoch", "99999999999999999999999", "metadata entry 'epoch': expected an unsigned integer"},
      {"epoch", "5000000000", "metadata entry 'epoch': expected at most 1000000000"},
      {"epoch", "1", "expected 1 (the checkpoint's epoch), found 2"},
      {"generator_offset", "-3", "metadata entry 'generator_offset': expected an unsigned"},
      {"generator_seed", "7", "expected this run's seed 42, found 7"},
      {"difflut.history", "[]", "expected 2 epochs (the checkpoint's epoch), found 0"},
      {"difflut.history", "{", "difflut.history"},
      {"difflut.best_val_epoch", "9", "'difflut.best_val_epoch': expected an epoch in [0, 2]"},
      {"difflut.best_val_accuracy", "nan", "'difflut.best_val_accuracy': expected a number"},
      {"difflut.train_seconds", "-4", "'difflut.train_seconds': expected seconds >= 0"},
      {"difflut.experiment_id", "9", "written for experiment 9"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.key);
    CAPTURE(c.value);
    write_bytes(ckpt, original);
    edit_checkpoint(ckpt, [&](SafetensorsContents& f) { f.metadata[c.key] = c.value; });
    expect_refused(dir, db, run, "training.epochs=4", c.expected);
  }
  // A missing entry too.
  write_bytes(ckpt, original);
  edit_checkpoint(ckpt, [](SafetensorsContents& f) { f.metadata.erase("epoch"); });
  expect_refused(dir, db, run, "training.epochs=4", "metadata entry 'epoch' is missing");
}

TEST_CASE("history: a failed resume of a completed run leaves it completed") {
  // LOSS 3: e.g. a resume with a changed architecture turned "completed" into "failed".
  const std::string dir = test::temp_dir("hist-completed");
  const std::string db = dir + "/e.db";
  const std::string run = completed_run(dir, db, 2);
  const std::string fixed = "the model, data and seed cannot change when resuming";
  const std::string refused[][2] = {
      {"'model.params.hidden_sizes=[30,20]' training.epochs=3", fixed},
      {"'model.params.hidden_sizes=[40,20,10]' training.epochs=3", fixed},
      {"model.params.num_inputs=4 training.epochs=3", fixed},
      {"model.params.encoder.num_bits=4 training.epochs=3", fixed},
      {"model.params.encoder.name=gaussian training.epochs=3", fixed},
      {"dataloaders.subset_size=200 training.epochs=3", fixed},
      {"seed=7 training.epochs=3", "seed=7: " + fixed},
      {"mapping=x training.epochs=3", "unknown config key"},
      {"dataloaders=mnist training.epochs=3", "config groups cannot change when resuming"},
      {"training.optimizer=sgd training.epochs=3", "expected optimizer 'sgd'"},
      {"training.scheduler.type=cosine training.epochs=3", "expected scheduler"},
      {"training.epochs=2", "experiment 1 is completed after epoch 2; nothing to resume"},
      {"training.epochs=1", "the checkpoint is after epoch 2 but training.epochs is 1"},
  };
  for (const auto& [overrides, expected] : refused)
    expect_refused(dir, db, run, overrides, expected);
  // Every other node type and mapping: the parameters differ, and the error names one.
  for (const char* change :
       {"model.params.node_type=linear_lut", "model.params.node_type=polylut",
        "model.params.node_type=neurallut", "model.params.node_type=probabilistic",
        "model.params.node_type=unbound_probabilistic", "model.params.node_type=dwn",
        "model.params.node_type=difflogic model.params.num_inputs=2",
        "model.params.layer_type=random", "model.params.layer_type=cyclic",
        "model.params.later_layer_type=learnable"})
    expect_refused(dir, db, run, std::string(change) + " training.epochs=3", fixed);
  // The run's own values may be repeated (scripts pass the same arguments again).
  expect_refused(dir, db, run, "model.params.node_type=hybrid seed=42 training.epochs=2",
                 "is completed after epoch 2");
  CHECK(sql_text(db, "SELECT status FROM experiments WHERE id = 1") == "completed");
}

TEST_CASE("history: a config.yaml edited in the run directory cannot continue the run") {
  // LOSS: a model key changed in config.yaml (not on the command line, where it is refused) was
  // taken by the resume: the remaining epochs trained with flip_probability 0.5 while the row
  // recorded 0.05. The checkpoint now holds a fingerprint of the seed, model and data.
  const std::string dir = test::temp_dir("hist-edited-config");
  const std::string db = dir + "/e.db";
  const std::string run = completed_run(dir, db, 2, "model.params.flip_probability=0.05");
  const std::string yaml = run + "/config.yaml";
  const std::string original = read_text(yaml);
  const std::string edits[][2] = {{"flip_probability: 0.05", "flip_probability: 0.5"},
                                  {"subset_size: 300", "subset_size: 250"},
                                  {"seed: 42", "seed: 43"}};
  for (const auto& [from, to] : edits) {
    CAPTURE(to);
    std::string edited = original;
    const size_t at = edited.find(from);
    REQUIRE(at != std::string::npos);
    edited.replace(at, from.size(), to);
    write_bytes(yaml, edited);
    expect_refused(dir, db, run, "training.epochs=3",
                   std::string(to) == "seed: 43" ? "expected this run's seed 43, found 42"
                                                 : "expected the seed, model and data it was "
                                                   "written for (fingerprint ");
  }
  // Restored, it resumes.
  write_bytes(yaml, original);
  const test::CommandResult r = train(dir, "training.resume=" + run + " training.epochs=3");
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(sql_text(db, "SELECT status FROM experiments WHERE id = 1") == "completed");
}

TEST_CASE("history: a checkpoint that is a directory is refused, not taken as 'no checkpoint'") {
  // LOSS 4: the resume restarted from epoch 1 and deleted the recorded epochs before failing.
  const std::string dir = test::temp_dir("hist-ckpt-dir");
  const std::string db = dir + "/e.db";
  const std::string run = completed_run(dir, db, 2);
  fs::rename(run + "/checkpoint.safetensors", dir + "/saved.safetensors");
  fs::create_directory(run + "/checkpoint.safetensors");
  expect_refused(dir, db, run, "training.epochs=3",
                 "expected a checkpoint file, found a directory");
  // No checkpoint at all while the database records checkpointed epochs: refused as well.
  fs::remove(run + "/checkpoint.safetensors");
  expect_refused(dir, db, run, "training.epochs=3", "refusing to delete recorded epochs");
  // And with the checkpoint back, training longer appends: epochs 1-2 kept, 3 added, two test rows.
  fs::rename(dir + "/saved.safetensors", run + "/checkpoint.safetensors");
  const std::vector<std::string> before = db_rows(db);
  const test::CommandResult r = train(dir, "training.resume='" + run + "' training.epochs=3");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  // Every earlier measurement row is still there; metrics compared without their last column,
  // is_best, which moves to a newer epoch when epoch 3 validates better.
  auto unlabelled = [](std::vector<std::string> rows) {
    std::vector<std::string> out;
    for (std::string& r : rows) {
      if (r.rfind("experiments", 0) == 0) continue;
      if (r.rfind("metrics", 0) == 0) r = r.substr(0, r.rfind('|'));
      out.push_back(r);
    }
    return out;
  };
  const std::vector<std::string> after = unlabelled(db_rows(db));
  for (const std::string& row : unlabelled(before))
    CHECK(std::find(after.begin(), after.end(), row) != after.end());
  CHECK(sql_int(db, "SELECT count(*) FROM metrics WHERE is_best = 1") == 1);
  CHECK(sql_int(db, "SELECT count(*) FROM measurement_points WHERE phase = 'train'") == 3);
  CHECK(sql_int(db, "SELECT count(*) FROM measurement_points WHERE phase = 'test'") == 2);
  CHECK(sql_text(db, "SELECT status FROM experiments WHERE id = 1") == "completed");
}

TEST_CASE(
    "history: NaN/Inf parameters and bad optimizer state in a checkpoint are refused by name") {
  const std::string dir = test::temp_dir("hist-values");
  const std::string db = dir + "/e.db";
  const std::string run = completed_run(dir, db, 2);
  const std::string ckpt = run + "/checkpoint.safetensors";
  const std::string original = read_text(ckpt);
  // Sets element 3 of the first tensor whose name starts with `prefix` (any float dtype).
  auto poke = [&](const std::string& prefix, double value) {
    std::string hit;
    write_bytes(ckpt, original);
    edit_checkpoint(ckpt, [&](SafetensorsContents& f) {
      for (auto& [name, t] : f.tensors) {
        if (name.rfind(prefix, 0) != 0 ||
            (t.dtype() != DType::f32 && t.dtype() != DType::f64 && t.dtype() != DType::i64))
          continue;
        std::vector<double> v = t.to(DType::f64).to_vector<double>();
        v[std::min<size_t>(3, v.size() - 1)] = value;
        t = Tensor::from_vector(v, t.shape()).to(t.dtype());
        hit = name;
        return;
      }
    });
    REQUIRE(!hit.empty());
    return hit;
  };
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  std::string name = poke("model:", nan);
  expect_refused(dir, db, run, "training.epochs=4",
                 "parameter '" + name.substr(6) + "': expected finite values, found nan");
  name = poke("model:", -inf);
  expect_refused(dir, db, run, "training.epochs=4", "parameter '" + name.substr(6) + "'");
  poke("optim:optimizer.step", -5);
  expect_refused(dir, db, run, "training.epochs=4",
                 "entry 'optimizer.step': expected an integer >= 0, found -5");
  poke("optim:optimizer.lr", nan);
  expect_refused(dir, db, run, "training.epochs=4", "entry 'optimizer.lr': expected a finite lr");
  name = poke("optim:layer0.params.exp_avg", nan);
  expect_refused(dir, db, run, "training.epochs=4",
                 "entry '" + name.substr(6) + "': expected finite values");
  // Adam's second moment cannot be negative.
  std::string sq;
  for (const auto& [n, t] : load_safetensors(ckpt).tensors)
    if (n.find("exp_avg_sq") != std::string::npos && sq.empty()) sq = n;
  REQUIRE(!sq.empty());
  poke(sq, -1.0);
  expect_refused(dir, db, run, "training.epochs=4", "expected values >= 0, found -1");
  poke("sched:scheduler.last_epoch", 7);
  expect_refused(dir, db, run, "training.epochs=4",
                 "'sched:scheduler.last_epoch': expected 2 (the checkpoint's epoch), found 7");
}

TEST_CASE("history: dataloaders.subset_size above the dataset size is an error naming both") {
  const std::string dir = test::temp_dir("hist-subset");
  const test::CommandResult r = train(
      dir, std::string(kSmallRun) + " dataloaders.subset_size=60001 tracking.db=" + dir + "/e.db");
  INFO(r.output);
  CHECK(r.exit_code != 0);
  // Refused before anything was written: no run directory, no database.
  CHECK_FALSE(fs::exists(dir + "/outputs"));
  CHECK_FALSE(fs::exists(dir + "/e.db"));
  CHECK(r.last_line() ==
        "difflut-train: error: config key 'dataloaders.subset_size': expected at most the 60000 "
        "training samples of 'fashionmnist', found 60001 (set it to null for all of them)");
}

TEST_CASE("history: resuming a run whose process is still alive is refused") {
  const std::string dir = test::temp_dir("hist-alive");
  const std::string db = dir + "/e.db";
  const std::string log = dir + "/run.log";
  // The first run stops itself (SIGSTOP) in epoch 2: alive, its row "running".
  const pid_t pid = spawn_train(
      dir, std::string(kSmallRun) + " output_dir=out training.epochs=3 tracking.db=" + db,
      {"DIFFLUT_TEST_SIGNAL_AT=2:1:STOP"}, log);
  REQUIRE_MESSAGE(wait_stopped(pid), read_text(log));
  const std::string run = sql_text(db, "SELECT run_dir FROM experiments");
  expect_refused(dir, db, run, "", "is running in process " + std::to_string(pid));
  ::kill(pid, SIGKILL);
  CHECK(wait_exit(pid) == 128 + SIGKILL);
  // Once it is gone the same resume completes the run, every epoch once.
  const test::CommandResult r = train(dir, "training.resume='" + run + "'");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  for (int e = 1; e <= 3; ++e)
    CHECK(sql_int(db, "SELECT count(*) FROM measurement_points WHERE phase = 'train' AND epoch = " +
                          std::to_string(e)) == 1);
  CHECK(sql_text(db, "SELECT status FROM experiments") == "completed");
}

TEST_CASE("history: with checkpoint_every=2, epochs after the checkpoint are recorded again once") {
  // Epoch 1 has no checkpoint; a kill in epoch 2 resumes from the start, and epoch 1's rows are
  // replaced by the bit-identical recomputation (documented), not duplicated.
  const std::string dir = test::temp_dir("hist-every2");
  const std::string db = dir + "/e.db";
  const std::string args =
      std::string(kSmallRun) + " training.checkpoint_every=2 training.epochs=3";
  const test::CommandResult ref =
      train(dir, args + " output_dir=ref tracking.db=" + dir + "/ref.db");
  REQUIRE(ref.exit_code == 0);
  const test::CommandResult victim =
      train(dir, args + " output_dir=out tracking.db=" + db, "DIFFLUT_TEST_SIGNAL_AT=2:2:KILL");
  CHECK(victim.exit_code == 128 + SIGKILL);
  const std::string run = sql_text(db, "SELECT run_dir FROM experiments");
  CHECK_FALSE(fs::exists(run + "/checkpoint.safetensors"));
  CHECK(sql_int(db, "SELECT count(*) FROM measurement_points WHERE epoch = 1") == 2);
  const test::CommandResult r = train(dir, "training.resume='" + run + "'");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.last_line() == ref.last_line());
  for (int e = 1; e <= 3; ++e)
    CHECK(sql_int(db, "SELECT count(*) FROM measurement_points WHERE phase = 'train' AND epoch = " +
                          std::to_string(e)) == 1);
  // Same losses as the run that was never killed.
  CHECK(
      sql_text(db,
               "SELECT group_concat(metric_value) FROM (SELECT m.metric_value FROM metrics m "
               "JOIN measurement_points p ON m.measurement_point_id = p.id WHERE m.metric_name "
               "= 'loss' ORDER BY p.epoch)") ==
      sql_text(dir + "/ref.db",
               "SELECT group_concat(metric_value) FROM (SELECT m.metric_value FROM metrics m JOIN "
               "measurement_points p ON m.measurement_point_id = p.id WHERE m.metric_name = "
               "'loss' ORDER BY p.epoch)"));
}
