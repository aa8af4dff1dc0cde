// Plots a person can open: the SVG files of difflut-plot (curves, table histograms, sweep scatter)
// are converted to PNG with rsvg-convert (librsvg, the renderer GNOME and many browsers' toolkits
// use; it rejects malformed XML), decoded with stb_image, and the pixels are checked: the series
// colours are there in quantity, the heatmap has many colours, and an empty chart is not mistaken
// for a full one.
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#endif
#if __has_include(<stb/stb_image.h>)
#include <stb/stb_image.h>
#else
#include <stb_image.h>
#endif
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "apps_test_util.h"
#include "common/tracking/tracking_sqlite.h"
#include "difflut-plot/svg_plot.h"
#include "test_util.h"

using namespace difflut;
using namespace difflut::app;

namespace {

bool have_rsvg() { return test::run_command("command -v rsvg-convert").exit_code == 0; }

#define REQUIRE_RSVG()                                                                   \
  do {                                                                                   \
    if (!have_rsvg()) {                                                                  \
      MESSAGE("skipped: rsvg-convert not installed (scripts/install-deps.sh pipeline)"); \
      return;                                                                            \
    }                                                                                    \
  } while (0)

struct Image {
  int w = 0, h = 0;
  std::vector<unsigned char> rgb;  // 3 bytes per pixel

  // Pixels within `tol` (per channel) of colour #rrggbb.
  size_t count_near(const std::string& hex, int tol = 40) const {
    const int r = std::stoi(hex.substr(1, 2), nullptr, 16),
              g = std::stoi(hex.substr(3, 2), nullptr, 16),
              b = std::stoi(hex.substr(5, 2), nullptr, 16);
    size_t n = 0;
    for (size_t i = 0; i + 2 < rgb.size(); i += 3)
      n += std::abs(rgb[i] - r) <= tol && std::abs(rgb[i + 1] - g) <= tol &&
           std::abs(rgb[i + 2] - b) <= tol;
    return n;
  }
  // Pixels that are clearly coloured (not white, grey or black).
  size_t count_coloured() const {
    size_t n = 0;
    for (size_t i = 0; i + 2 < rgb.size(); i += 3) {
      const int mx = std::max({rgb[i], rgb[i + 1], rgb[i + 2]});
      const int mn = std::min({rgb[i], rgb[i + 1], rgb[i + 2]});
      n += mx - mn > 60;
    }
    return n;
  }
  size_t distinct_colours() const {
    std::set<int> s;
    for (size_t i = 0; i + 2 < rgb.size(); i += 3)
      s.insert(rgb[i] << 16 | rgb[i + 1] << 8 | rgb[i + 2]);
    return s.size();
  }
};

// SVG file -> PNG with rsvg-convert -> pixels. Fails the test if rsvg rejects the file.
Image rasterise(const std::string& svg_path) {
  const std::string png = svg_path + ".png";
  const test::CommandResult r = test::run_command("rsvg-convert --background-color=white -o '" +
                                                  png + "' '" + svg_path + "'");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  Image img;
  int channels = 0;
  unsigned char* data = stbi_load(png.c_str(), &img.w, &img.h, &channels, 3);
  REQUIRE_MESSAGE(data != nullptr, "stb_image cannot read ", png);
  img.rgb.assign(data, data + static_cast<size_t>(img.w) * img.h * 3);
  stbi_image_free(data);
  return img;
}

std::string save(const std::string& path, const std::string& text) {
  test::write_file(path, text);
  return path;
}

// A sweep's worth of experiments: 2 node types x 2 learning rates, 4 epochs, table histograms
// that move from uniform towards +-1 over the epochs.
std::string make_db(const std::string& dir) {
  const std::string path = dir + "/experiments.db";
  Tracker t(path);
  int run = 0;
  for (const char* node : {"dwn", "linear_lut"}) {
    for (double lr : {0.01, 0.001}) {
      ExperimentStart s;
      s.name = std::string("sweep_") + node;
      s.node_type = node;
      s.model_name = "dwn";
      s.dataset_name = "fashionmnist";
      s.learning_rate = lr;
      s.lut_count = run % 2 ? 300 : 3000;
      const int64_t id = t.start_experiment(s);
      for (int e = 1; e <= 4; ++e) {
        const double acc = 0.5 + 0.08 * e + 0.02 * run;
        std::vector<Histogram> hist;
        for (const char* layer : {"layers.0.table", "layers.1.table"}) {
          Histogram h{layer, -1.0, 1.0, std::vector<int64_t>(20)};
          for (int b = 0; b < 20; ++b) {
            const double edge = std::fabs(b - 9.5) / 9.5;  // 0 at the centre, 1 at the ends
            h.counts[b] = static_cast<int64_t>(100 + 400 * e * edge * edge);
          }
          hist.push_back(h);
        }
        t.add_measurement(id, e, "train", 1.0, 1.0 * e,
                          {{"loss", 2.0 / e, "", false}, {"accuracy", acc - 0.03, "", false}},
                          hist);
        t.add_measurement(id, e, "val", std::nullopt, 1.0 * e, {{"accuracy", acc, "", false}});
      }
      t.add_measurement(id, 4, "test", std::nullopt, 4.5, {{"accuracy", 0.8, "", false}});
      t.finish(id, kStatusCompleted);
      ++run;
    }
  }
  return path;
}

}  // namespace

TEST_CASE("plot: a line chart rasterises with both series' colours and an empty one stays blank") {
  REQUIRE_RSVG();
  const std::string dir = test::temp_dir("plot-line");
  svg::LineChart c;
  c.title = "curves";
  c.x_label = "epoch";
  c.y_label = "accuracy";
  c.series.push_back({"a", {1, 2, 3, 4}, {0.5, 0.7, 0.8, 0.85}, false, true, -1});
  c.series.push_back({"b", {1, 2, 3, 4}, {0.4, 0.5, 0.7, 0.75}, true, true, -1});
  const Image full = rasterise(save(dir + "/full.svg", svg::render_figure({c})));
  CHECK(full.w == 560);
  CHECK(full.h == 340);
  CHECK(full.count_near(svg::palette(0)) > 300);
  CHECK(full.count_near(svg::palette(1)) > 200);

  svg::LineChart empty;
  empty.title = "nothing";
  const Image blank = rasterise(save(dir + "/empty.svg", svg::render_figure({empty})));
  CHECK(blank.count_coloured() < 20);
  CHECK(full.count_coloured() > 10 * (blank.count_coloured() + 50));
}

TEST_CASE("plot: difflut-plot writes curves, table histograms and the sweep scatter as valid SVG") {
  REQUIRE_RSVG();
  const std::string dir = test::temp_dir("plot-app");
  const std::string db = make_db(dir);
  const std::string plot = test::built_program("difflut-plot") + " --db " + db;

  test::CommandResult r =
      test::run_command(plot + " curves --id 1 --id 4 -o " + dir + "/curves.svg");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("wrote " + dir + "/curves.svg") != std::string::npos);
  const Image curves = rasterise(dir + "/curves.svg");
  CHECK(curves.w >= 1000);                          // two panels, each a plot area and a legend
  CHECK(curves.count_near(svg::palette(0)) > 300);  // experiment 1
  CHECK(curves.count_near(svg::palette(1)) > 300);  // experiment 4

  r = test::run_command(plot + " histograms --id 2 -o " + dir + "/hist.svg");
  REQUIRE(r.exit_code == 0);
  const Image hist = rasterise(dir + "/hist.svg");
  CHECK(hist.distinct_colours() > 20);
  CHECK(hist.count_near("#fde725", 30) > 100);  // the colour of the largest counts
  CHECK(hist.count_near("#440154", 30) > 100);  // the colour of the smallest counts
  std::ifstream in(dir + "/hist.svg");
  std::stringstream ss;
  ss << in.rdbuf();
  CHECK(ss.str().find("layers.1.table") != std::string::npos);

  r = test::run_command(plot + " sweep --status completed -o " + dir + "/sweep.svg");
  REQUIRE(r.exit_code == 0);
  const Image sweep = rasterise(dir + "/sweep.svg");
  CHECK(sweep.count_near(svg::palette(0)) > 100);  // dwn
  CHECK(sweep.count_near(svg::palette(1)) > 100);  // linear_lut

  if (test::run_command("command -v xmllint").exit_code == 0) {
    for (const char* f : {"curves.svg", "hist.svg", "sweep.svg"}) {
      r = test::run_command("xmllint --noout '" + dir + "/" + f + "'");
      CHECK_MESSAGE(r.exit_code == 0, f, ": ", r.output);
    }
  }
}

TEST_CASE("plot: difflut-plot explains what is missing") {
  const std::string dir = test::temp_dir("plot-errors");
  const std::string db = make_db(dir);
  const std::string plot = test::built_program("difflut-plot");
  test::CommandResult r = test::run_command(plot + " curves --db " + dir + "/none.db");
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("no such file") != std::string::npos);
  r = test::run_command(plot + " bars --db " + db);
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("expected a command: curves, histograms or sweep, found 'bars'") !=
        std::string::npos);
  r = test::run_command(plot + " histograms --db " + db);
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("expected exactly one --id") != std::string::npos);
  r = test::run_command(plot + " curves --db " + db + " --name nothing");
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("no experiment matches") != std::string::npos);
}
