// SVG charts (see svg_plot.h). Coordinates are pixels with y growing downwards; every panel is a
// <g> translated to its slot, its plot area framed, ticks and grid lines drawn before the data.
#include "difflut-plot/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace difflut::app::svg {
namespace {

constexpr double kFontSize = 12.0;
constexpr double kCharWidth = 6.8;  // average glyph width of 12 px sans-serif, for layout only
constexpr double kMarginLeft = 66.0, kMarginTop = 30.0, kMarginBottom = 46.0, kMarginRight = 18.0;

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  std::string s = buf;
  // Trim "12.50" -> "12.5", "12.00" -> "12".
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s == "-0" ? "0" : s;
}

std::string text(double x, double y, const std::string& s, const char* anchor = "start",
                 double size = kFontSize, const std::string& extra = "") {
  return "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" font-size=\"" + num(size) +
         "\" text-anchor=\"" + anchor + "\"" + extra + ">" + xml_escape(s) + "</text>\n";
}

std::string line(double x1, double y1, double x2, double y2, const std::string& stroke,
                 double width = 1.0, const std::string& extra = "") {
  return "<line x1=\"" + num(x1) + "\" y1=\"" + num(y1) + "\" x2=\"" + num(x2) + "\" y2=\"" +
         num(y2) + "\" stroke=\"" + stroke + "\" stroke-width=\"" + num(width) + "\"" + extra +
         "/>\n";
}

std::string rect(double x, double y, double w, double h, const std::string& fill,
                 const std::string& extra = "") {
  return "<rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(w) + "\" height=\"" +
         num(h) + "\" fill=\"" + fill + "\"" + extra + "/>\n";
}

// One axis: data range [lo, hi] (log10 of it on log axes) onto pixels [p0, p1].
struct Axis {
  double lo = 0.0, hi = 1.0;
  bool log = false;
  double p0 = 0.0, p1 = 1.0;
  std::vector<double> ticks;  // in data units
  double step = 1.0;          // linear tick step (for labels); log axes label each tick itself

  double map(double v) const {
    const double a = log ? std::log10(lo) : lo, b = log ? std::log10(hi) : hi;
    const double t = ((log ? std::log10(v) : v) - a) / (b - a);
    return p0 + t * (p1 - p0);
  }
  std::string label(double v) const {
    if (!log) return format_tick(v, step);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
  }
};

bool usable(double v, bool log) { return std::isfinite(v) && (!log || v > 0.0); }

// Axis over the values in [mn, mx] (already filtered), extended to whole ticks; a fixed range
// (`fixed_lo/hi`) is kept as given.
Axis make_axis(double mn, double mx, bool log, std::optional<double> fixed_lo = std::nullopt,
               std::optional<double> fixed_hi = std::nullopt) {
  Axis a;
  a.log = log;
  if (!(mn <= mx)) {  // no data
    mn = log ? 1.0 : 0.0;
    mx = log ? 10.0 : 1.0;
  }
  if (log) {
    double l = std::floor(std::log10(mn)), h = std::ceil(std::log10(mx));
    if (h <= l) h = l + 1;
    a.lo = std::pow(10.0, l);
    a.hi = std::pow(10.0, h);
    const bool fine = h - l <= 2;
    for (double e = l; e <= h; ++e)
      for (double m : {1.0, 2.0, 5.0}) {
        if (m != 1.0 && !fine) continue;
        const double v = m * std::pow(10.0, e);
        if (v >= a.lo * (1 - 1e-9) && v <= a.hi * (1 + 1e-9)) a.ticks.push_back(v);
      }
    return a;
  }
  if (fixed_lo) mn = *fixed_lo;
  if (fixed_hi) mx = *fixed_hi;
  if (mx - mn < 1e-12 * std::max(1.0, std::fabs(mx))) {
    const double pad = mn == 0.0 ? 0.5 : std::fabs(mn) * 0.1;
    if (!fixed_lo) mn -= pad;
    if (!fixed_hi) mx += pad;
  }
  a.ticks = nice_ticks(mn, mx);
  a.step = a.ticks.size() > 1 ? a.ticks[1] - a.ticks[0] : (mx - mn);
  a.lo = fixed_lo ? *fixed_lo : std::min(mn, std::floor(mn / a.step + 1e-9) * a.step);
  a.hi = fixed_hi ? *fixed_hi : std::max(mx, std::ceil(mx / a.step - 1e-9) * a.step);
  if (!fixed_lo && a.lo < mn - 1e-12) a.ticks.insert(a.ticks.begin(), a.lo);
  if (!fixed_hi && a.hi > mx + 1e-12) a.ticks.push_back(a.hi);
  a.ticks.erase(std::remove_if(
                    a.ticks.begin(), a.ticks.end(),
                    [&](double t) { return t < a.lo - 1e-9 * a.step || t > a.hi + 1e-9 * a.step; }),
                a.ticks.end());
  return a;
}

struct Frame {
  double x0, y0, x1, y1;  // plot area
};

// Room right of the plot area for the legend: its longest label, at most 55% of the panel.
double legend_width(const std::vector<std::string>& labels, double panel_width) {
  size_t longest = 0;
  for (const std::string& l : labels) longest = std::max(longest, l.size());
  if (labels.empty()) return kMarginRight;
  return std::min(0.55 * panel_width, 40.0 + kCharWidth * static_cast<double>(longest));
}

// Title, frame, grid, tick labels and axis labels.
std::string draw_axes(const Frame& f, const Axis& ax, const Axis& ay, const std::string& title,
                      const std::string& x_label, const std::string& y_label, double width) {
  std::string s;
  s += text(width / 2, 18, title, "middle", 14, " font-weight=\"bold\"");
  s += rect(f.x0, f.y0, f.x1 - f.x0, f.y1 - f.y0, "#ffffff", " stroke=\"#444444\"");
  for (double t : ax.ticks) {
    const double x = ax.map(t);
    s += line(x, f.y0, x, f.y1, "#e4e4e4");
    s += line(x, f.y1, x, f.y1 + 4, "#444444");
    s += text(x, f.y1 + 17, ax.label(t), "middle");
  }
  for (double t : ay.ticks) {
    const double y = ay.map(t);
    s += line(f.x0, y, f.x1, y, "#e4e4e4");
    s += line(f.x0 - 4, y, f.x0, y, "#444444");
    s += text(f.x0 - 7, y + 4, ay.label(t), "end");
  }
  s += text((f.x0 + f.x1) / 2, f.y1 + 36, x_label, "middle");
  const double ym = (f.y0 + f.y1) / 2;
  s += text(16, ym, y_label, "middle", kFontSize, " transform=\"rotate(-90 16 " + num(ym) + ")\"");
  return s;
}

std::string draw_legend(double x, double y, const std::vector<std::string>& labels,
                        const std::vector<std::string>& colors, const std::vector<bool>& dashed,
                        bool points) {
  std::string s;
  for (size_t i = 0; i < labels.size(); ++i) {
    const double yy = y + 18.0 * static_cast<double>(i);
    if (points) {
      s += "<circle cx=\"" + num(x + 10) + "\" cy=\"" + num(yy) + "\" r=\"4\" fill=\"" + colors[i] +
           "\"/>\n";
    } else {
      s += line(x, yy, x + 20, yy, colors[i], 2.0, dashed[i] ? " stroke-dasharray=\"5 3\"" : "");
    }
    s += text(x + 26, yy + 4, labels[i]);
  }
  return s;
}

std::string render_line(const LineChart& c, double w, double h) {
  std::vector<std::string> labels, colors;
  std::vector<bool> dashed;
  double xmn = std::numeric_limits<double>::infinity(), xmx = -xmn, ymn = xmn, ymx = -xmn;
  for (size_t i = 0; i < c.series.size(); ++i) {
    const Series& s = c.series[i];
    labels.push_back(s.label);
    colors.push_back(palette(s.color >= 0 ? s.color : static_cast<int>(i)));
    dashed.push_back(s.dashed);
    for (size_t j = 0; j < std::min(s.x.size(), s.y.size()); ++j) {
      if (!usable(s.x[j], c.log_x) || !std::isfinite(s.y[j])) continue;
      xmn = std::min(xmn, s.x[j]);
      xmx = std::max(xmx, s.x[j]);
      ymn = std::min(ymn, s.y[j]);
      ymx = std::max(ymx, s.y[j]);
    }
  }
  const Frame f{kMarginLeft, kMarginTop, w - legend_width(labels, w), h - kMarginBottom};
  Axis ax = make_axis(xmn, xmx, c.log_x);
  if (c.integer_x && !c.log_x && ax.step < 1.0) {
    // Whole numbers only: epochs 1..E, thinned to about 8 labels.
    const double step = std::max(1.0, std::ceil((ax.hi - ax.lo) / 8.0));
    ax.ticks.clear();
    for (double t = std::ceil(ax.lo); t <= ax.hi + 1e-9; t += step) ax.ticks.push_back(t);
    ax.step = step;
  }
  Axis ay = make_axis(ymn, ymx, false, c.y_min, c.y_max);
  ax.p0 = f.x0;
  ax.p1 = f.x1;
  ay.p0 = f.y1;
  ay.p1 = f.y0;
  std::string out = draw_axes(f, ax, ay, c.title, c.x_label, c.y_label, w);
  for (size_t i = 0; i < c.series.size(); ++i) {
    const Series& s = c.series[i];
    std::string d, dots;
    bool pen_down = false;
    for (size_t j = 0; j < std::min(s.x.size(), s.y.size()); ++j) {
      if (!usable(s.x[j], c.log_x) || !std::isfinite(s.y[j])) {
        pen_down = false;
        continue;
      }
      const double px = ax.map(s.x[j]), py = ay.map(std::clamp(s.y[j], ay.lo, ay.hi));
      d += pen_down ? " L" : " M";
      d += num(px) + " " + num(py);
      pen_down = true;
      if (s.markers)
        dots += "<circle cx=\"" + num(px) + "\" cy=\"" + num(py) + "\" r=\"2.5\" fill=\"" +
                colors[i] + "\"/>\n";
    }
    if (!d.empty())
      out += "<path d=\"" + d.substr(1) + "\" fill=\"none\" stroke=\"" + colors[i] +
             "\" stroke-width=\"2\"" + (s.dashed ? " stroke-dasharray=\"5 3\"" : "") + "/>\n";
    out += dots;
  }
  out += draw_legend(f.x1 + 12, f.y0 + 8, labels, colors, dashed, false);
  return out;
}

std::string render_scatter(const ScatterChart& c, double w, double h) {
  std::vector<std::string> labels, colors;
  double xmn = std::numeric_limits<double>::infinity(), xmx = -xmn, ymn = xmn, ymx = -xmn;
  for (size_t i = 0; i < c.groups.size(); ++i) {
    const ScatterGroup& g = c.groups[i];
    labels.push_back(g.label);
    colors.push_back(palette(static_cast<int>(i)));
    for (size_t j = 0; j < std::min(g.x.size(), g.y.size()); ++j) {
      if (!usable(g.x[j], c.log_x) || !std::isfinite(g.y[j])) continue;
      xmn = std::min(xmn, g.x[j]);
      xmx = std::max(xmx, g.x[j]);
      ymn = std::min(ymn, g.y[j]);
      ymx = std::max(ymx, g.y[j]);
    }
  }
  const Frame f{kMarginLeft, kMarginTop, w - legend_width(labels, w), h - kMarginBottom};
  // Points on the frame are hard to see: keep 5% of the range free on every side.
  if (xmn <= xmx) {
    if (c.log_x) {
      xmn /= 1.2;
      xmx *= 1.2;
    } else {
      const double pad = 0.05 * std::max(xmx - xmn, 1e-9 + 0.1 * std::fabs(xmx));
      xmn -= pad;
      xmx += pad;
    }
    const double pad = 0.05 * std::max(ymx - ymn, 1e-9 + 0.1 * std::fabs(ymx));
    ymn -= pad;
    ymx += pad;
  }
  Axis ax = make_axis(xmn, xmx, c.log_x);
  Axis ay = make_axis(ymn, ymx, false, c.y_min, c.y_max);
  ax.p0 = f.x0;
  ax.p1 = f.x1;
  ay.p0 = f.y1;
  ay.p1 = f.y0;
  std::string out = draw_axes(f, ax, ay, c.title, c.x_label, c.y_label, w);
  for (size_t i = 0; i < c.groups.size(); ++i) {
    const ScatterGroup& g = c.groups[i];
    for (size_t j = 0; j < std::min(g.x.size(), g.y.size()); ++j) {
      if (!usable(g.x[j], c.log_x) || !std::isfinite(g.y[j])) continue;
      out += "<circle cx=\"" + num(ax.map(g.x[j])) + "\" cy=\"" +
             num(ay.map(std::clamp(g.y[j], ay.lo, ay.hi))) + "\" r=\"4.5\" fill=\"" + colors[i] +
             "\" fill-opacity=\"0.85\" stroke=\"#222222\" stroke-width=\"0.5\">";
      if (j < g.tooltips.size()) out += "<title>" + xml_escape(g.tooltips[j]) + "</title>";
      out += "</circle>\n";
    }
  }
  out += draw_legend(f.x1 + 12, f.y0 + 8, labels, colors, std::vector<bool>(labels.size()), true);
  return out;
}

// A perceptually ordered dark-blue -> green -> yellow map (viridis-like stops), t in [0, 1].
std::string colormap(double t) {
  static const double stops[][3] = {
      {68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
  t = std::clamp(t, 0.0, 1.0) * 4.0;
  const int i = std::min(3, static_cast<int>(t));
  const double u = t - i;
  char buf[8];
  int rgb[3];
  for (int k = 0; k < 3; ++k)
    rgb[k] = static_cast<int>(std::lround(stops[i][k] + u * (stops[i + 1][k] - stops[i][k])));
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
  return buf;
}

std::string render_heatmap(const Heatmap& c, double w, double h) {
  const Frame f{kMarginLeft, kMarginTop, w - 90.0, h - kMarginBottom};
  const size_t cols = c.cells.size();
  size_t rows = 0;
  double peak = 0.0;
  for (const auto& col : c.cells) {
    rows = std::max(rows, col.size());
    for (double v : col) peak = std::max(peak, v);
  }
  Axis ay;
  ay.lo = c.y_lo;
  ay.hi = c.y_hi > c.y_lo ? c.y_hi : c.y_lo + 1.0;
  ay.ticks = nice_ticks(ay.lo, ay.hi, 5);
  ay.step = ay.ticks.size() > 1 ? ay.ticks[1] - ay.ticks[0] : 1.0;
  ay.p0 = f.y1;
  ay.p1 = f.y0;
  // The x axis is categorical: one column per entry of c.x, labelled with at most ~12 values.
  Axis ax;  // only for the frame; its ticks are drawn below
  ax.lo = 0;
  ax.hi = 1;
  ax.p0 = f.x0;
  ax.p1 = f.x1;
  std::string out = draw_axes(f, ax, ay, c.title, c.x_label, c.y_label, w);
  const double cw = cols ? (f.x1 - f.x0) / static_cast<double>(cols) : 0.0;
  const double rh = rows ? (f.y1 - f.y0) / static_cast<double>(rows) : 0.0;
  const double denom = std::log1p(peak);
  for (size_t ci = 0; ci < cols; ++ci) {
    const auto& col = c.cells[ci];
    for (size_t r = 0; r < col.size(); ++r) {
      const double t = denom > 0 ? std::log1p(std::max(0.0, col[r])) / denom : 0.0;
      // Slight overlap hides hairline seams between cells in some renderers.
      out += rect(f.x0 + cw * static_cast<double>(ci), f.y1 - rh * static_cast<double>(r + 1),
                  cw + 0.3, rh + 0.3, colormap(t));
    }
  }
  const size_t every = std::max<size_t>(1, (cols + 11) / 12);
  for (size_t ci = 0; ci < cols; ci += every) {
    const double x = f.x0 + cw * (static_cast<double>(ci) + 0.5);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", ci < c.x.size() ? c.x[ci] : static_cast<double>(ci));
    out += line(x, f.y1, x, f.y1 + 4, "#444444");
    out += text(x, f.y1 + 17, buf, "middle");
  }
  out += rect(f.x0, f.y0, f.x1 - f.x0, f.y1 - f.y0, "none", " stroke=\"#444444\"");
  // Colour bar.
  const double bx = f.x1 + 18, bw = 14;
  const int steps = 32;
  for (int i = 0; i < steps; ++i) {
    const double y = f.y1 - (f.y1 - f.y0) * (i + 1) / steps;
    out += rect(bx, y, bw, (f.y1 - f.y0) / steps + 0.3, colormap((i + 0.5) / steps));
  }
  out += rect(bx, f.y0, bw, f.y1 - f.y0, "none", " stroke=\"#444444\"");
  char peak_text[32];
  std::snprintf(peak_text, sizeof peak_text, "%g", peak);
  out += text(bx + bw + 4, f.y0 + 10, peak_text);
  out += text(bx + bw + 4, f.y1, "0");
  const double ym = (f.y0 + f.y1) / 2;
  out += text(bx + bw + 14, ym, c.value_label + " (log)", "middle", kFontSize,
              " transform=\"rotate(90 " + num(bx + bw + 14) + " " + num(ym) + ")\"");
  return out;
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return {};
  if (hi < lo) std::swap(lo, hi);
  if (hi - lo <= 0.0) return {lo};
  const double raw = (hi - lo) / std::max(1, target - 1);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  // The 1/2/5/10 step nearest to the raw step (in ratio), so the count stays near `target`.
  double step = mag;
  for (double m : {2.0, 5.0, 10.0})
    if (std::fabs(std::log(m * mag / raw)) < std::fabs(std::log(step / raw))) step = m * mag;
  std::vector<double> ticks;
  const double first = std::ceil(lo / step - 1e-9) * step;
  for (int i = 0; i < 1000; ++i) {
    double t = first + step * i;
    if (t > hi + step * 1e-9) break;
    if (std::fabs(t) < step * 1e-9) t = 0.0;
    ticks.push_back(t);
  }
  return ticks;
}

std::string format_tick(double v, double step) {
  char buf[40];
  if (std::fabs(v) >= 1e6 || (step > 0 && step < 1e-4 && v != 0.0)) {
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
  }
  const int decimals =
      step > 0 ? std::max(0, static_cast<int>(std::ceil(-std::log10(step) - 1e-9))) : 2;
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  std::string s = buf;
  return s.rfind("-0", 0) == 0 && std::stod(s) == 0.0 ? s.substr(1) : s;
}

std::string xml_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // Control characters are not allowed in XML 1.0 text.
        if (static_cast<unsigned char>(ch) < 0x20 && ch != '\n' && ch != '\t')
          out += ' ';
        else
          out += ch;
    }
  }
  return out;
}

std::string palette(int i) {
  static const char* const kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                        "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  return kColors[((i % 10) + 10) % 10];
}

std::string render_figure(const std::vector<Panel>& panels, const FigureOptions& o) {
  const int columns = std::max(1, o.columns);
  const int rows = static_cast<int>((panels.size() + columns - 1) / columns);
  const double title_h = o.title.empty() ? 0.0 : 30.0;
  const double width =
      o.panel_width * std::min<int>(columns, std::max<int>(1, static_cast<int>(panels.size())));
  const double height = title_h + o.panel_height * std::max(1, rows);
  std::string s = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" + num(width) +
       "\" height=\"" + num(height) + "\" viewBox=\"0 0 " + num(width) + " " + num(height) +
       "\" font-family=\"DejaVu Sans, Arial, Helvetica, sans-serif\">\n";
  s += rect(0, 0, width, height, "#ffffff");
  if (!o.title.empty()) s += text(width / 2, 21, o.title, "middle", 16, " font-weight=\"bold\"");
  for (size_t i = 0; i < panels.size(); ++i) {
    const double x = o.panel_width * static_cast<double>(i % columns);
    const double y = title_h + o.panel_height * static_cast<double>(i / columns);
    s += "<g transform=\"translate(" + num(x) + " " + num(y) + ")\">\n";
    std::visit(
        [&](const auto& p) {
          using T = std::decay_t<decltype(p)>;
          if constexpr (std::is_same_v<T, LineChart>)
            s += render_line(p, o.panel_width, o.panel_height);
          else if constexpr (std::is_same_v<T, ScatterChart>)
            s += render_scatter(p, o.panel_width, o.panel_height);
          else
            s += render_heatmap(p, o.panel_width, o.panel_height);
        },
        panels[i]);
    s += "</g>\n";
  }
  s += "</svg>\n";
  return s;
}

}  // namespace difflut::app::svg
