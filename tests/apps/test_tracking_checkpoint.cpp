// Resumable checkpoints: a model trained k steps, saved, loaded into fresh objects, continues
// bit-identically to one that never stopped; mismatched checkpoints are refused before anything
// changes; a damaged file (any byte of a tensor or a metadata value changed) is refused by its
// checksum; training.resume finds the run and continues its config with the new overrides.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "apps_test_util.h"
#include "autograd/graph.h"
#include "autograd/io/safetensors.h"
#include "autograd/nn/linear.h"
#include "autograd/ops.h"
#include "autograd/optim/adam.h"
#include "autograd/optim/lr_scheduler.h"
#include "common/config/config_compose.h"
#include "common/tracking/checkpoint.h"
#include "tensor/random.h"
#include "test_util.h"

using namespace difflut;
using namespace difflut::app;

namespace {

// One Adam step of a linear model on a fixed batch drawn from `data` (the data stream is part of
// the state a resume must reproduce).
void train_step(Linear& model, Adam& opt, Generator& data) {
  Graph g;
  const Tensor xb = Tensor::randn({8, 5}, data);
  const Tensor yb = Tensor::randint({8}, 0, 3, data);
  Var loss = cross_entropy(model.forward(g, g.input(xb, "x")), g.input(yb, "y"));
  opt.zero_grad();
  g.backward(loss);
  opt.step();
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() &&
         std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

}  // namespace

TEST_CASE("checkpoint: resuming after k steps continues bit-identically to an uninterrupted run") {
  const std::string dir = test::temp_dir("ckpt-resume");
  const std::string path = dir + "/checkpoint.safetensors";
  // Reference: 6 steps (2 epochs of 3) without stopping.
  Generator init_a(7), data_a(11);
  Linear a(5, 3, true, init_a);
  Adam opt_a(a, AdamOptions{});
  StepLR sched_a(opt_a, 1, 0.5);
  for (int e = 0; e < 2; ++e) {
    for (int s = 0; s < 3; ++s) train_step(a, opt_a, data_a);
    sched_a.step();
  }
  // Interrupted: one epoch, checkpoint, then a fresh process (fresh objects) resumes.
  {
    Generator init_b(7), data_b(11);
    Linear b(5, 3, true, init_b);
    Adam opt_b(b, AdamOptions{});
    StepLR sched_b(opt_b, 1, 0.5);
    for (int s = 0; s < 3; ++s) train_step(b, opt_b, data_b);
    sched_b.step();
    CheckpointState st;
    st.epoch = 1;
    st.extra["note"] = "epoch one";
    save_training_checkpoint(path, b, opt_b, &sched_b, data_b, st);
  }
  Generator init_c(99), data_c(0);  // deliberately different: the checkpoint must override them
  Linear c(5, 3, true, init_c);
  Adam opt_c(c, AdamOptions{});
  StepLR sched_c(opt_c, 1, 0.5);
  const CheckpointState st = load_training_checkpoint(path, c, opt_c, &sched_c, data_c);
  CHECK(st.epoch == 1);
  CHECK(st.extra.at("note") == "epoch one");
  CHECK(opt_c.step_count() == 3);
  CHECK(opt_c.lr() == doctest::Approx(0.0005));  // Adam default 1e-3, halved once
  CHECK(sched_c.last_epoch() == 1);
  for (int s = 0; s < 3; ++s) train_step(c, opt_c, data_c);
  sched_c.step();
  CHECK(same_bytes(a.weight().value, c.weight().value));
  auto pa = a.named_parameters(), pc = c.named_parameters();
  REQUIRE(pa.size() == pc.size());
  for (size_t i = 0; i < pa.size(); ++i)
    CHECK(same_bytes(pa[i].second->value, pc[i].second->value));
  CHECK(opt_c.lr() == opt_a.lr());
  CHECK(data_c.offset() == data_a.offset());
  // No temporary file is left beside the checkpoint (atomic write).
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) files += e.is_regular_file();
  CHECK(files == 1);
}

TEST_CASE("checkpoint: a checkpoint of another model or optimizer is refused and changes nothing") {
  const std::string dir = test::temp_dir("ckpt-mismatch");
  Generator g(1);
  Linear small(5, 3, true, g);
  Adam opt(small, AdamOptions{});
  save_training_checkpoint(dir + "/c.safetensors", small, opt, nullptr, g, {});

  Generator g2(2);
  Linear big(6, 3, true, g2);
  Adam opt_big(big, AdamOptions{});
  const Tensor before = big.weight().value.clone();
  CHECK_THROWS_WITH_AS(load_training_checkpoint(dir + "/c.safetensors", big, opt_big, nullptr, g2),
                       doctest::Contains("parameter 'weight': expected f32[6, 3]"), Error);
  CHECK(same_bytes(before, big.weight().value));
  StepLR sched(opt, 1);
  CHECK_THROWS_WITH_AS(load_training_checkpoint(dir + "/c.safetensors", small, opt, &sched, g),
                       doctest::Contains("expected scheduler 'step_lr'"), Error);
}

TEST_CASE("checkpoint: a changed byte anywhere in a tensor or a metadata value is refused") {
  // Safetensors has no checksum: a flipped byte in the Adam state or the learning rate used to
  // resume silently (or diverge epochs later).
  const std::string dir = test::temp_dir("ckpt-damage");
  const std::string path = dir + "/c.safetensors";
  Generator g(1);
  Linear model(5, 3, true, g);
  Adam opt(model, AdamOptions{});
  StepLR sched(opt, 1, 0.5);
  train_step(model, opt, g);
  sched.step();
  CheckpointState st;
  st.epoch = 1;
  save_training_checkpoint(path, model, opt, &sched, g, st);
  const std::string original = test::read_text(path);
  const SafetensorsContents parsed = load_safetensors(path);
  CHECK(parsed.metadata.at("format_version") == "3");
  CHECK(parsed.metadata.at("checksum") == safetensors_checksum(parsed.tensors, parsed.metadata));
  // Loads `bytes` as the checkpoint into fresh objects: "" or the error (the model unchanged).
  auto load_bytes = [&](const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
    Generator g2(5);
    Linear fresh(5, 3, true, g2);
    Adam opt2(fresh, AdamOptions{});
    StepLR sched2(opt2, 1, 0.5);
    const Tensor before = fresh.weight().value.clone();
    try {
      load_training_checkpoint(path, fresh, opt2, &sched2, g2);
    } catch (const Error& e) {
      CHECK(same_bytes(before, fresh.weight().value));
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(load_bytes(original).empty());
  uint64_t header = 0;
  std::memcpy(&header, original.data(), 8);
  // Every byte of the data section (the tensors), and the first digit of a metadata value.
  std::vector<size_t> offsets;
  for (size_t i = 8 + header; i < original.size(); ++i) offsets.push_back(i);
  const size_t value_at = original.find("\"generator_offset\":\"");
  REQUIRE(value_at != std::string::npos);
  offsets.push_back(value_at + 20);
  int refused = 0;
  for (size_t at : offsets) {
    std::string bytes = original;
    bytes[at] = static_cast<char>(bytes[at] ^ 0x01);
    const std::string err = load_bytes(bytes);
    const bool damaged = err.find("': expected checksum ") != std::string::npos &&
                         err.find("the file is damaged") != std::string::npos;
    if (!damaged) MESSAGE("byte " << at << " not refused as damage: '" << err << "'");
    refused += damaged;
  }
  CHECK(refused == static_cast<int>(offsets.size()));
  // A file of format_version 1 (written before checksums) still loads; an unknown version not.
  SafetensorsContents v1 = parsed;
  v1.metadata["format_version"] = "1";
  v1.metadata.erase("checksum");
  CHECK(load_bytes(serialize_safetensors(v1.tensors, v1.metadata)).empty());
  v1.metadata["format_version"] = "4";
  CHECK(load_bytes(serialize_safetensors(v1.tensors, v1.metadata))
            .find("expected format_version 1, 2 or 3, found '4'") != std::string::npos);
  SafetensorsContents no_sum = parsed;
  no_sum.metadata.erase("checksum");
  CHECK(load_bytes(serialize_safetensors(no_sum.tensors, no_sum.metadata))
            .find("metadata entry 'checksum' is missing") != std::string::npos);
}

TEST_CASE("checkpoint: training.resume continues the run's own config with the new overrides") {
  const std::string dir = test::temp_dir("ckpt-config");
  const std::string cfgdir = test::shipped_config_dir();
  Config original =
      compose_config({cfgdir, "experiment"}, {"dataloaders=mnist", "training.epochs=3", "seed=5"});
  const std::string run = dir + "/outputs/x/run1";
  save_config_file(original, run + "/config.yaml");
  test::write_file(run + "/checkpoint.safetensors", "x");

  const std::vector<std::string> ov = {"training.resume=" + run + "/checkpoint.safetensors",
                                       "training.epochs=6"};
  const Config composed = compose_config({cfgdir, "experiment"}, ov);
  const Config resumed = resume_config(composed, ov);
  CHECK(resumed.get_string("dataloaders.name") == "mnist");  // from the run, not the defaults
  CHECK(resumed.get_int("seed") == 5);
  CHECK(resumed.get_int("training.epochs") == 6);  // the new override
  CHECK(resumed.get_string("training.resume") == run + "/checkpoint.safetensors");
  CHECK(resume_run_dir(run + "/checkpoint.safetensors") == std::filesystem::absolute(run).string());
  CHECK(resume_run_dir(run) == std::filesystem::absolute(run).string());

  const std::vector<std::string> group = {"training.resume=" + run, "dataloaders=cifar10"};
  CHECK_THROWS_WITH_AS(resume_config(compose_config({cfgdir, "experiment"}, group), group),
                       doctest::Contains("config groups cannot change when resuming"), Error);
  const std::vector<std::string> missing = {"training.resume=" + dir + "/nowhere"};
  CHECK_THROWS_WITH_AS(resume_config(compose_config({cfgdir, "experiment"}, missing), missing),
                       doctest::Contains("expected a run directory or a checkpoint file"), Error);
  // Without training.resume nothing changes.
  CHECK(resume_config(original, {}) == original);
}
