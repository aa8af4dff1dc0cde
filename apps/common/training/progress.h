// Training progress for the terminal: on a TTY one live line redrawn with '\r' (epoch, bar,
// percent, samples/s, loss, ETA); otherwise (logs, pipes) plain lines every `percent_step`
// percent or every `interval_s` seconds, whichever comes first. The clock is injectable for tests.
#pragma once
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>

namespace difflut::app {

// Seconds from an arbitrary origin (steady clock by default).
using ProgressClock = std::function<double()>;
double steady_seconds();

struct ProgressOptions {
  bool live = false;         // true: redraw one line with '\r' (use stderr_is_tty())
  int percent_step = 10;     // plain mode: a line each time this many percent are done
  double interval_s = 30.0;  // plain mode: ... or when this much time passed since the last one
  double redraw_interval_s = 0.1;  // live mode: at most this often
  int bar_width = 24;
};

bool stderr_is_tty();

class ProgressReporter {
 public:
  ProgressReporter(std::ostream& out, ProgressOptions options,
                   ProgressClock clock = steady_seconds);

  // Starts epoch `epoch` of `num_epochs` (1-based) over `total_samples` samples.
  void begin_epoch(int epoch, int num_epochs, int64_t total_samples);
  // `samples_done` so far in this epoch and the running loss to show.
  void update(int64_t samples_done, double loss);
  // Ends the epoch: finishes the live line (or prints the 100% line if not yet shown), then
  // prints `summary` on its own line if it is not empty.
  void end_epoch(std::string_view summary = {});
  // Prints a line without breaking the live bar (it is cleared and redrawn below the message).
  void message(std::string_view line);

  // The status text for the current state, without '\r' or '\n' (exposed for tests).
  std::string status_line() const;

 private:
  void draw_live();
  void print_plain();

  std::ostream& out_;
  ProgressOptions opt_;
  ProgressClock clock_;
  int epoch_ = 0, num_epochs_ = 0;
  int64_t total_ = 0, done_ = 0;
  double loss_ = 0.0;
  double start_ = 0.0, now_ = 0.0, last_print_ = 0.0;
  int next_percent_ = 0;  // plain mode: print when this percentage is reached
  bool printed_final_ = false;
  size_t live_len_ = 0;  // length of the live line on screen (0 = none)
};

// "1:05", "1:02:03": seconds as m:ss below an hour, h:mm:ss above.
std::string format_duration(double seconds);

}  // namespace difflut::app
