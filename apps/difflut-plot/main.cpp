// difflut-plot: SVG figures from the tracking database, to open in a browser.
//   curves      training loss and accuracy per epoch of one or several experiments
//   histograms  LUT table values per epoch as heatmaps, one per LUT layer (the original's
//               weights-over-time plot; the trainer stores the histograms in the database)
//   sweep       best accuracy against LUT count across the experiments of a sweep
// Errors are one line "difflut-plot: error: ..." and exit code 2.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/config/cli.h"
#include "common/tracking/tracking_sqlite.h"
#include "difflut-plot/svg_plot.h"
#include "tensor/error.h"

namespace {

using namespace difflut;
using namespace difflut::app;

constexpr const char* kProgram = "difflut-plot";

const char* kUsage =
    R"(usage: difflut-plot curves|histograms|sweep [--db PATH] [--id N]... [--name PATTERN]
                    [--status STATUS] [--metric PHASE/NAME] [--group-by KEY] [-o FILE]

Writes an SVG figure from the tracking database.

commands:
  curves       training loss and accuracy per epoch of the selected experiments
  histograms   LUT table values per epoch (one heatmap per LUT layer) of one experiment (--id)
  sweep        best --metric (default val/accuracy, else test/accuracy) against LUT count, one
               colour per --group-by value (node_type, layer_type, dataset, name; default node_type)

options:
  --db PATH        the database (default: $DIFFLUT_TRACKING_DB, else results/experiments.db)
  --id N           an experiment (repeatable)
  --name PATTERN   experiments whose name contains PATTERN (SQL LIKE with % or _)
  --status STATUS  only experiments with this status
  -o FILE          output file (default: curves.svg, histograms-<id>.svg, sweep.svg)
)";

struct Options {
  std::string command;
  std::string db = default_tracking_db();
  ExperimentFilter filter;
  std::string metric;
  std::string group_by = "node_type";
  std::string output;
  bool help = false;
};

Options parse(int argc, char** argv) {
  Options o;
  for (FlagCursor f(argc, argv); f.next();) {
    const std::string& a = f.name();
    auto next = [&] { return f.value(); };
    if (a == "-h" || a == "--help") {
      o.help = true;
    } else if (a == "--db") {
      o.db = next();
    } else if (a == "--id") {
      const std::string v = next();
      size_t used = 0;
      long long id = 0;
      try {
        id = std::stoll(v, &used);
      } catch (...) {
        used = 0;
      }
      DIFFLUT_CHECK(used == v.size() && id > 0, "--id: expected an experiment id, found '", v, "'");
      o.filter.ids.push_back(id);
    } else if (a == "--name") {
      o.filter.name = next();
    } else if (a == "--status") {
      o.filter.status = next();
    } else if (a == "--metric") {
      o.metric = next();
      DIFFLUT_CHECK(o.metric.find('/') != std::string::npos,
                    "--metric: expected PHASE/NAME such as val/accuracy, found '", o.metric, "'");
    } else if (a == "--group-by") {
      o.group_by = next();
      DIFFLUT_CHECK(o.group_by == "node_type" || o.group_by == "layer_type" ||
                        o.group_by == "dataset" || o.group_by == "name",
                    "--group-by: expected node_type, layer_type, dataset or name, found '",
                    o.group_by, "'");
    } else if (a == "-o" || a == "--output") {
      o.output = next();
    } else if (!a.empty() && a[0] != '-' && o.command.empty()) {
      o.command = a;
    } else {
      DIFFLUT_FAIL("unknown argument '", f.raw(), "' (see --help)");
    }
  }
  if (!o.help) {
    DIFFLUT_CHECK(o.command == "curves" || o.command == "histograms" || o.command == "sweep",
                  "expected a command: curves, histograms or sweep, found '", o.command, "'");
  }
  return o;
}

void write_svg(const std::string& path, const std::string& svg) {
  const std::filesystem::path p(path);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  DIFFLUT_CHECK(out.good(), "cannot write '", path, "'");
  out << svg;
  DIFFLUT_CHECK(out.good(), "cannot write '", path, "'");
  std::cout << "wrote " << path << "\n";
}

std::string label_of(const ExperimentRow& e) { return "#" + std::to_string(e.id) + " " + e.name; }

// "#3 sweep node_type=dwn lr=0.01": the settings that differ between the plotted experiments, so
// the runs of one sweep (which share a name) can be told apart.
std::vector<std::string> distinct_labels(const std::vector<ExperimentRow>& rows) {
  struct Field {
    const char* name;
    std::function<std::string(const ExperimentRow&)> get;
  };
  auto opt_text = [](const auto& v) {
    std::ostringstream s;
    if (v) s << *v;
    return s.str();
  };
  const std::vector<Field> fields = {
      {"dataset", [](const ExperimentRow& e) { return e.dataset_name; }},
      {"node_type", [](const ExperimentRow& e) { return e.node_type; }},
      {"layer_type", [](const ExperimentRow& e) { return e.layer_type; }},
      {"luts", [&](const ExperimentRow& e) { return opt_text(e.lut_count); }},
      {"n", [&](const ExperimentRow& e) { return opt_text(e.n); }},
      {"lr", [&](const ExperimentRow& e) { return opt_text(e.learning_rate); }},
      {"batch", [&](const ExperimentRow& e) { return opt_text(e.batch_size); }}};
  std::vector<std::string> labels;
  for (const ExperimentRow& e : rows) labels.push_back(label_of(e));
  for (const Field& f : fields) {
    std::set<std::string> seen;
    for (const ExperimentRow& e : rows) seen.insert(f.get(e));
    if (seen.size() < 2) continue;
    for (size_t i = 0; i < rows.size(); ++i)
      labels[i] += std::string(" ") + f.name + "=" + f.get(rows[i]);
  }
  return labels;
}

// Per-epoch values of metric `name` in `phase` (NaN where an epoch lacks it).
svg::Series series_of(const std::vector<MeasurementRow>& points, const std::string& phase,
                      const std::string& name) {
  svg::Series s;
  for (const MeasurementRow& p : points) {
    if (p.phase != phase) continue;
    for (const auto& [metric, value] : p.metrics) {
      if (metric != name) continue;
      s.x.push_back(static_cast<double>(p.epoch));
      s.y.push_back(value ? *value : std::nan(""));
    }
  }
  return s;
}

int curves(const Tracker& db, const Options& o) {
  const std::vector<ExperimentRow> rows = db.experiments(o.filter);
  DIFFLUT_CHECK(!rows.empty(), "curves: no experiment matches (use --id, --name or --status; ",
                "difflut-query lists them)");
  svg::LineChart loss{"Training loss", "epoch",      "loss",       {},
                      false,           std::nullopt, std::nullopt, true};
  svg::LineChart acc{"Accuracy (solid: validation, dashed: training, dot: test)",
                     "epoch",
                     "accuracy",
                     {},
                     false,
                     std::nullopt,
                     std::nullopt,
                     true};
  const std::vector<std::string> labels = distinct_labels(rows);
  bool any = false;
  for (size_t i = 0; i < rows.size(); ++i) {
    const std::vector<MeasurementRow> points = db.measurements(rows[i].id);
    const int color = static_cast<int>(i);
    svg::Series l = series_of(points, "train", "loss");
    l.label = labels[i];
    l.color = color;
    any |= !l.x.empty();
    loss.series.push_back(std::move(l));
    struct Kind {
      const char* phase;
      const char* suffix;
      bool dashed;
    };
    for (const Kind k : {Kind{"val", " val", false}, Kind{"train", " train", true},
                         Kind{"test", " test", false}}) {
      svg::Series s = series_of(points, k.phase, "accuracy");
      if (s.x.empty()) continue;
      any = true;
      s.label = labels[i] + k.suffix;
      s.color = color;
      s.dashed = k.dashed;
      s.markers = std::string(k.phase) != "train";
      acc.series.push_back(std::move(s));
    }
  }
  DIFFLUT_CHECK(any, "curves: the selected experiments have no per-epoch metrics yet");
  svg::FigureOptions fo;
  fo.title = rows.size() == 1 ? "Experiment " + label_of(rows[0]) : "Training curves";
  fo.columns = 2;
  // A 460-pixel plot area plus the legend ("#3 sweep node_type=dwn lr=0.01 val").
  size_t longest = 0;
  for (const std::string& l : labels) longest = std::max(longest, l.size() + 5);
  fo.panel_width = std::min(1400.0, 500.0 + 7.0 * static_cast<double>(longest));
  write_svg(o.output.empty() ? "curves.svg" : o.output, svg::render_figure({loss, acc}, fo));
  return 0;
}

int histograms(const Tracker& db, const Options& o) {
  DIFFLUT_CHECK(o.filter.ids.size() == 1, "histograms: expected exactly one --id, found ",
                o.filter.ids.size());
  const int64_t id = o.filter.ids[0];
  const std::optional<ExperimentRow> e = db.experiment(id);
  DIFFLUT_CHECK(e.has_value(), "histograms: no experiment ", id, " in ", db.path());
  const std::vector<HistogramRow> rows = db.histograms(id);
  DIFFLUT_CHECK(!rows.empty(), "histograms: experiment ", id,
                " has no table histograms (tracking.histograms was off, or no epoch ended yet)");
  // One heatmap per parameter, columns in epoch order.
  std::vector<std::string> names;
  std::map<std::string, svg::Heatmap> maps;
  for (const HistogramRow& r : rows) {
    auto [it, fresh] = maps.try_emplace(r.histogram.name);
    svg::Heatmap& h = it->second;
    if (fresh) {
      names.push_back(r.histogram.name);
      h.title = r.histogram.name;
      h.x_label = "epoch";
      h.y_label = "table value";
      h.y_lo = r.histogram.lo;
      h.y_hi = r.histogram.hi;
    }
    h.x.push_back(static_cast<double>(r.epoch));
    h.cells.emplace_back(r.histogram.counts.begin(), r.histogram.counts.end());
  }
  std::vector<svg::Panel> panels;
  for (const std::string& n : names) panels.push_back(maps[n]);
  svg::FigureOptions fo;
  fo.title = "LUT table values over epochs: " + label_of(*e);
  fo.columns = 1;
  fo.panel_width = 640;
  fo.panel_height = 300;
  write_svg(o.output.empty() ? "histograms-" + std::to_string(id) + ".svg" : o.output,
            svg::render_figure(panels, fo));
  return 0;
}

int sweep(const Tracker& db, const Options& o) {
  const std::vector<ExperimentRow> rows = db.experiments(o.filter);
  DIFFLUT_CHECK(!rows.empty(), "sweep: no experiment matches the filters");
  std::string metric = o.metric;
  if (metric.empty()) {
    metric = "test/accuracy";
    for (const ExperimentRow& e : rows)
      if (e.best.count("val/accuracy")) metric = "val/accuracy";
  }
  std::vector<std::string> groups;
  std::map<std::string, svg::ScatterGroup> by_group;
  double xmin = INFINITY, xmax = 0;
  size_t points = 0;
  for (const ExperimentRow& e : rows) {
    auto it = e.best.find(metric);
    if (it == e.best.end() || !e.lut_count) continue;
    const std::string key = o.group_by == "node_type"    ? e.node_type
                            : o.group_by == "layer_type" ? e.layer_type
                            : o.group_by == "dataset"    ? e.dataset_name
                                                         : e.name;
    auto [g, fresh] = by_group.try_emplace(key.empty() ? "(none)" : key);
    if (fresh) {
      groups.push_back(g->first);
      g->second.label = g->first;
    }
    const double x = static_cast<double>(*e.lut_count);
    g->second.x.push_back(x);
    g->second.y.push_back(it->second);
    char tip[256];
    std::snprintf(tip, sizeof tip, "#%lld %s: %s %.4f, %lld LUTs", static_cast<long long>(e.id),
                  e.name.c_str(), metric.c_str(), it->second, static_cast<long long>(*e.lut_count));
    g->second.tooltips.push_back(tip);
    xmin = std::min(xmin, x);
    xmax = std::max(xmax, x);
    ++points;
  }
  DIFFLUT_CHECK(points > 0, "sweep: no selected experiment has a ", metric,
                " value and a LUT count");
  svg::ScatterChart c;
  c.title = "Best " + metric + " against LUT count (" + std::to_string(points) + " runs)";
  c.x_label = "LUTs (nodes in all LUT layers)";
  c.y_label = metric;
  c.log_x = xmax > 10 * xmin;
  for (const std::string& g : groups) c.groups.push_back(by_group[g]);
  svg::FigureOptions fo;
  fo.panel_width = 720;
  fo.panel_height = 420;
  write_svg(o.output.empty() ? "sweep.svg" : o.output, svg::render_figure({c}, fo));
  return 0;
}

int run(int argc, char** argv) {
  const Options o = parse(argc, argv);
  if (o.help) {
    std::cout << kUsage;
    return 0;
  }
  const Tracker db(o.db, existing_database_options());
  if (o.command == "curves") return curves(db, o);
  if (o.command == "histograms") return histograms(db, o);
  return sweep(db, o);
}

}  // namespace

int main(int argc, char** argv) {
  return run_guarded(kProgram, [&] { return run(argc, argv); });
}
