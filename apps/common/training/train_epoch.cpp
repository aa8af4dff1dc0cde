// Training step 4, one epoch (see train_epoch.h).
#include "common/training/train_epoch.h"

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "autograd/ops.h"
#include "tensor/error.h"

namespace difflut::app {

SignalHook signal_hook_from_env() {
  SignalHook h;
  const char* v = std::getenv("DIFFLUT_TEST_SIGNAL_AT");
  if (!v || !*v) return h;
  long long e = 0, st = 0;
  char sig[8] = {0};
  char tail = 0;
  const bool ok = std::sscanf(v, "%lld:%lld:%7[A-Z]%c", &e, &st, sig, &tail) == 3 && e >= 1 &&
                  st >= 1 && (std::string(sig) == "KILL" || std::string(sig) == "STOP");
  DIFFLUT_CHECK(ok, "environment variable DIFFLUT_TEST_SIGNAL_AT: expected ",
                "<epoch>:<step>:<KILL|STOP> with epoch, step >= 1, found '", v, "'");
  h.epoch = e;
  h.step = st;
  h.signal = std::string(sig) == "KILL" ? SIGKILL : SIGSTOP;
  return h;
}

EpochRunner::EpochRunner(LUTNetwork& model, Optimizer& optimizer, DataLoader& loader,
                         ProgressReporter& progress, const ModelSettings& model_settings,
                         int64_t num_epochs)
    : model_(model), optimizer_(optimizer), loader_(loader), progress_(progress),
      settings_(model_settings), num_epochs_(num_epochs),
      // On the GPU the loss is read (a host sync) only every 50 steps; the CPU reads it free.
      loss_every_(model.device() == Device::cuda ? 50 : 1), hook_(signal_hook_from_env()) {}

EpochRecord EpochRunner::run(int64_t epoch) {
  EpochRecord rec;
  rec.epoch = epoch;
  rec.lr = optimizer_.lr();
  model_.train();
  progress_.begin_epoch(static_cast<int>(epoch), static_cast<int>(num_epochs_), loader_.size());
  const bool regularize = settings_.regularizer != "none" && settings_.regularizer_weight > 0;
  // A node type's own term (NodeType::regularization, e.g. a custom node's weight decay) always
  // joins the loss; built-in types have none and skip it.
  const bool node_term = model_.has_node_regularization();
  double loss_sum = 0.0, shown_loss = 0.0;
  int64_t loss_count = 0, done = 0, step = 0;
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t num_steps = loader_.num_batches();
  for (const Batch& batch : loader_) {
    g_.clear();
    if (step_hook_) step_hook_->before_forward(step, num_steps);
    // The bit-flip masks follow (epoch, step), so a run resumed at an epoch boundary draws the
    // masks the uninterrupted run drew.
    model_.set_augmentation_step(static_cast<uint64_t>(epoch) << 32 | static_cast<uint64_t>(step));
    Var x = g_.input(batch.features, "x");
    Var logits = model_.forward(g_, x);
    Var loss = cross_entropy(logits, g_.input(batch.labels, "labels"));
    if (regularize)
      loss = add(loss, model_.regularization(g_, parse_lut_regularizer(settings_.regularizer),
                                             settings_.regularizer_weight));
    if (node_term) loss = add(loss, model_.node_regularization(g_));
    optimizer_.zero_grad();  // one memset: custom-update parameters own no gradient storage
    g_.backward(loss);
    if (step_hook_) step_hook_->after_backward(g_);
    optimizer_.step();
    done += batch.labels.numel();
    if (step % loss_every_ == 0 || done == loader_.size()) {
      shown_loss = loss.value().item_as_double();
      DIFFLUT_CHECK(std::isfinite(shown_loss), "training diverged: loss ", shown_loss, " at epoch ",
                    epoch, " step ", step + 1);
      loss_sum += shown_loss;
      ++loss_count;
    }
    ++step;
    if (hook_.signal && epoch == hook_.epoch && step == hook_.step) ::raise(hook_.signal);
    progress_.update(done, loss_count ? loss_sum / static_cast<double>(loss_count) : shown_loss);
  }
  g_.clear();
  rec.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  rec.samples_per_second = rec.seconds > 0 ? static_cast<double>(done) / rec.seconds : 0.0;
  rec.train_loss = loss_count ? loss_sum / static_cast<double>(loss_count) : 0.0;
  return rec;
}

namespace {
std::string fixed(double v, int digits) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}
}  // namespace

std::string epoch_summary(const EpochRecord& rec, int64_t num_epochs) {
  std::string line =
      str_cat("epoch ", rec.epoch, "/", num_epochs, ": loss ", fixed(rec.train_loss, 4), ", ",
              fixed(rec.seconds, 1), " s, ", static_cast<int64_t>(rec.samples_per_second),
              " samples/s, lr ", rec.lr);
  if (rec.val_accuracy >= 0) line += ", val_accuracy " + fixed(rec.val_accuracy, 4);
  return line;
}

}  // namespace difflut::app
