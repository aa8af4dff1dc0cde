// Progress reporter output under a fake clock, and the command-line splitter.
#include <doctest/doctest.h>

#include <algorithm>
#include <sstream>

#include "common/config/cli.h"
#include "common/training/progress.h"
#include "tensor/error.h"

namespace app = difflut::app;
using difflut::Error;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

}  // namespace

TEST_CASE("plain progress prints a line every 10 percent with rate, loss and ETA") {
  std::ostringstream out;
  double now = 100.0;
  app::ProgressReporter p(out, {.live = false, .percent_step = 10, .interval_s = 1e9},
                          [&] { return now; });
  p.begin_epoch(2, 15, 1000);
  for (int done = 50; done <= 1000; done += 50) {
    now += 0.1;  // 50 samples per 0.1 s = 500 samples/s
    p.update(done, 0.5);
  }
  p.end_epoch("epoch 2/15: train loss 0.5000");
  const auto lines = lines_of(out.str());
  REQUIRE(lines.size() == 11);  // 10%, 20%, ..., 100%, then the summary
  // At 100 samples: 0.2 s elapsed, 500 samples/s, 900 left -> ETA 1.8 s, shown as 0:02.
  CHECK(lines[0] == "epoch 2/15  10% (100/1000)  500 samples/s  loss 0.5000  ETA 0:02");
  CHECK(lines[9] == "epoch 2/15 100% (1000/1000)  500 samples/s  loss 0.5000  ETA 0:00");
  CHECK(lines[10] == "epoch 2/15: train loss 0.5000");
  CHECK(out.str().find('\r') == std::string::npos);
}

TEST_CASE("plain progress also prints after interval_s without a new step, once per crossing") {
  std::ostringstream out;
  double now = 0.0;
  app::ProgressReporter p(out, {.live = false, .percent_step = 50, .interval_s = 5.0},
                          [&] { return now; });
  p.begin_epoch(1, 1, 100);
  now = 2.0, p.update(10, 1.0);  // 10%: nothing
  now = 6.0, p.update(20, 1.0);  // 6 s since start: a timed line
  now = 7.0, p.update(30, 1.0);  // nothing
  now = 8.0, p.update(70, 1.0);  // crosses 50%: a line (even though it skipped past 50)
  now = 9.0, p.update(80, 1.0);  // nothing: the next step is 100%
  p.end_epoch();                 // not at 100% yet: prints the final state
  const auto lines = lines_of(out.str());
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].find(" 20% (20/100)") != std::string::npos);
  CHECK(lines[1].find(" 70% (70/100)") != std::string::npos);
  CHECK(lines[2].find(" 80% (80/100)") != std::string::npos);
}

TEST_CASE("live progress redraws one line with a bar and ends it with a newline") {
  std::ostringstream out;
  double now = 0.0;
  app::ProgressReporter p(out, {.live = true, .redraw_interval_s = 0.5, .bar_width = 10},
                          [&] { return now; });
  p.begin_epoch(1, 3, 200);
  now = 0.1, p.update(20, 2.0);   // throttled
  now = 1.0, p.update(100, 1.5);  // drawn
  p.message("note");
  now = 2.0, p.update(200, 1.25);  // done: drawn
  p.end_epoch();
  const std::string s = out.str();
  CHECK(s.find("epoch 1/3 [#####.....]  50% (100/200)  100 samples/s  loss 1.5000  ETA 0:01") !=
        std::string::npos);
  CHECK(s.find("[##########] 100% (200/200)") != std::string::npos);
  CHECK(s.find("(20/200)") == std::string::npos);
  CHECK(s.find("\rnote\n") != std::string::npos);
  CHECK(s.back() == '\n');
  // Only the message and the end of the epoch break lines.
  CHECK(std::count(s.begin(), s.end(), '\n') == 2);
}

TEST_CASE("format_duration writes m:ss and h:mm:ss") {
  CHECK(app::format_duration(0) == "0:00");
  CHECK(app::format_duration(65.4) == "1:05");
  CHECK(app::format_duration(3723) == "1:02:03");
  CHECK(app::format_duration(-1) == "--:--");
}

TEST_CASE("cli splits flags from overrides, flags anywhere") {
  const char* argv[] = {"difflut-train",
                        "training.epochs=3",
                        "--config-dir",
                        "/c",
                        "-m",
                        "dataloaders=mnist,cifar10",
                        "--config-name=bench.yaml",
                        "--print-config"};
  const app::CliArgs a = app::parse_cli(8, argv);
  CHECK(a.config_dir == std::optional<std::string>("/c"));
  CHECK(a.config_name == "bench");
  CHECK(a.multirun);
  CHECK(a.print_config);
  CHECK(!a.help);
  CHECK(a.overrides == std::vector<std::string>{"training.epochs=3", "dataloaders=mnist,cifar10"});

  const char* help[] = {"difflut-train", "--help"};
  CHECK(app::parse_cli(2, help).help);
  const char* plain[] = {"difflut-train"};
  const app::CliArgs d = app::parse_cli(1, plain);
  CHECK(!d.config_dir);
  CHECK(d.config_name == "experiment");
  CHECK(d.overrides.empty());
}

TEST_CASE("cli errors: unknown flag, missing flag value, argument without '='") {
  const char* unknown[] = {"x", "--epochs", "3"};
  CHECK_THROWS_WITH_AS(app::parse_cli(3, unknown), "unknown option '--epochs' (see --help)", Error);
  const char* missing[] = {"x", "--config-dir"};
  CHECK_THROWS_WITH_AS(app::parse_cli(2, missing), doctest::Contains("expected a value"), Error);
  const char* bare[] = {"x", "foo"};
  CHECK_THROWS_WITH_AS(app::parse_cli(2, bare),
                       doctest::Contains("override 'foo': expected key=value"), Error);
}

TEST_CASE("help text names the flags and the main keys") {
  const std::string h = app::help_text("difflut-train");
  for (const char* s : {"usage: difflut-train", "--config-dir", "-m", "dataloaders=mnist",
                        "model.params.hidden_sizes", "model.params.encoder.name", "training.lr",
                        "training.scheduler.type", "dataloaders.subset_size"})
    CHECK_MESSAGE(h.find(s) != std::string::npos, s);
}
