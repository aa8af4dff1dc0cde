// A small SVG chart writer for difflut-plot: line charts (training curves), scatter charts
// (accuracy against LUT count), and heatmaps (histograms over epochs), laid out as panels of one
// figure. Axes get "nice" ticks (1, 2, 5 x 10^k; decades on log axes), legends sit right of the
// plot area, every text is XML-escaped. The output is a standalone SVG 1.1 document that browsers
// and rsvg-convert open as is (no scripts, fonts or external references).
#pragma once
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace difflut::app::svg {

// One curve. NaN y values break the line (missing epochs).
struct Series {
  std::string label;
  std::vector<double> x, y;
  bool dashed = false;
  bool markers = true;
  int color = -1;  // palette index; -1: the series' position
};

struct LineChart {
  std::string title, x_label, y_label;
  std::vector<Series> series;
  bool log_x = false;
  std::optional<double> y_min, y_max;  // fixed y range (e.g. accuracy 0..1); else from the data
  bool integer_x = false;              // x is a count (epochs): ticks at whole numbers only
};

// Points of one legend entry (e.g. one node type).
struct ScatterGroup {
  std::string label;
  std::vector<double> x, y;
  std::vector<std::string> tooltips;  // optional, one per point (SVG <title>)
};

struct ScatterChart {
  std::string title, x_label, y_label;
  std::vector<ScatterGroup> groups;
  bool log_x = false;
  std::optional<double> y_min, y_max;
};

// Columns at x positions (e.g. epochs), each a histogram of `rows` bins over [y_lo, y_hi];
// cells[c][r] is the count of column c, bin r (bin 0 at y_lo). Colour: log(1 + count) scaled to
// the largest count of the chart.
struct Heatmap {
  std::string title, x_label, y_label, value_label = "count";
  std::vector<double> x;
  double y_lo = 0.0, y_hi = 1.0;
  std::vector<std::vector<double>> cells;
};

using Panel = std::variant<LineChart, ScatterChart, Heatmap>;

struct FigureOptions {
  std::string title;
  int columns = 1;             // panels per row
  double panel_width = 560.0;  // pixels, legend included
  double panel_height = 340.0;
};

// The SVG document of `panels` laid out row by row.
std::string render_figure(const std::vector<Panel>& panels, const FigureOptions& options = {});

// Tick positions covering [lo, hi] with a 1/2/5 x 10^k step, about `target` of them.
std::vector<double> nice_ticks(double lo, double hi, int target = 6);
// A tick label for value `v` on an axis whose step is `step` (no more digits than needed).
std::string format_tick(double v, double step);
// Escapes &, <, >, " and ' for XML text and attributes.
std::string xml_escape(const std::string& s);
// "#rrggbb" of palette entry i (10 colours, repeating).
std::string palette(int i);

}  // namespace difflut::app::svg
