// Progress reporter (see progress.h).
#include "common/training/progress.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ostream>

namespace difflut::app {

double steady_seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

bool stderr_is_tty() { return ::isatty(STDERR_FILENO) == 1; }

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const long s = std::lround(seconds);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof(buf), "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  else
    std::snprintf(buf, sizeof(buf), "%ld:%02ld", s / 60, s % 60);
  return buf;
}

ProgressReporter::ProgressReporter(std::ostream& out, ProgressOptions options, ProgressClock clock)
    : out_(out), opt_(options), clock_(std::move(clock)) {
  opt_.percent_step = std::max(1, opt_.percent_step);
}

void ProgressReporter::begin_epoch(int epoch, int num_epochs, int64_t total_samples) {
  epoch_ = epoch;
  num_epochs_ = num_epochs;
  total_ = std::max<int64_t>(total_samples, 0);
  done_ = 0;
  loss_ = 0.0;
  start_ = now_ = last_print_ = clock_();
  next_percent_ = opt_.percent_step;
  printed_final_ = false;
  live_len_ = 0;
  if (opt_.live) draw_live();
}

std::string ProgressReporter::status_line() const {
  const double elapsed = now_ - start_;
  const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
  const double frac = total_ > 0 ? std::min(1.0, static_cast<double>(done_) / total_) : 1.0;
  const double eta = rate > 0 ? static_cast<double>(total_ - done_) / rate : -1.0;
  std::string s = "epoch ";
  s.append(std::to_string(epoch_)).append("/").append(std::to_string(num_epochs_)).append(" ");
  if (opt_.live) {
    const int filled = static_cast<int>(frac * opt_.bar_width);
    s.append("[").append(filled, '#').append(opt_.bar_width - filled, '.').append("] ");
  }
  char buf[160];
  std::snprintf(buf, sizeof(buf), "%3d%% (%lld/%lld)  %.0f samples/s  loss %.4f  ETA %s",
                static_cast<int>(frac * 100.0), static_cast<long long>(done_),
                static_cast<long long>(total_), rate, loss_, format_duration(eta).c_str());
  return s + buf;
}

void ProgressReporter::draw_live() {
  const std::string line = status_line();
  out_ << '\r' << line;
  // Blank out the tail of a longer previous line.
  if (line.size() < live_len_) out_ << std::string(live_len_ - line.size(), ' ');
  out_.flush();
  live_len_ = std::max(live_len_, line.size());
  last_print_ = now_;
}

void ProgressReporter::print_plain() {
  out_ << status_line() << '\n';
  out_.flush();
  last_print_ = now_;
}

void ProgressReporter::update(int64_t samples_done, double loss) {
  done_ = std::clamp<int64_t>(samples_done, 0, total_);
  loss_ = loss;
  now_ = clock_();
  if (opt_.live) {
    if (now_ - last_print_ >= opt_.redraw_interval_s || done_ == total_) draw_live();
    return;
  }
  const int percent = total_ > 0 ? static_cast<int>(100 * done_ / total_) : 100;
  const bool step = percent >= next_percent_;
  if (step || now_ - last_print_ >= opt_.interval_s) {
    print_plain();
    if (done_ == total_) printed_final_ = true;
    // Next threshold above the current percentage (one line even if a step skips several).
    next_percent_ = (percent / opt_.percent_step + 1) * opt_.percent_step;
  }
}

void ProgressReporter::end_epoch(std::string_view summary) {
  now_ = clock_();
  if (opt_.live) {
    draw_live();
    out_ << '\n';
    live_len_ = 0;
  } else if (!printed_final_) {
    print_plain();
  }
  printed_final_ = true;
  if (!summary.empty()) out_ << summary << '\n';
  out_.flush();
}

void ProgressReporter::message(std::string_view line) {
  if (opt_.live && live_len_ > 0) {
    out_ << '\r' << std::string(live_len_, ' ') << '\r' << line << '\n';
    live_len_ = 0;
    draw_live();
  } else {
    out_ << line << '\n';
    out_.flush();
  }
}

}  // namespace difflut::app
