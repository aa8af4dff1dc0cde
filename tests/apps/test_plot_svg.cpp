// The SVG chart writer's pieces: nice ticks, tick labels, XML escaping, and the elements a chart
// consists of (one path per unbroken stretch of a series, markers, heatmap cells, legend texts).
#include <cmath>
#include <string>
#include <vector>

#include "difflut-plot/svg_plot.h"
#include "test_util.h"

using namespace difflut::app;

namespace {
size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}
}  // namespace

TEST_CASE("svg: nice ticks are 1/2/5 steps covering the range") {
  CHECK(svg::nice_ticks(0, 1, 6) == std::vector<double>{0, 0.2, 0.4, 0.6000000000000001, 0.8, 1});
  const std::vector<double> t = svg::nice_ticks(0.13, 0.87, 5);
  REQUIRE(t.size() >= 3);
  CHECK(t.front() >= 0.13);
  CHECK(t.back() <= 0.87);
  CHECK(t[1] - t[0] == doctest::Approx(0.2));
  CHECK(svg::nice_ticks(1, 15, 6) == std::vector<double>{2, 4, 6, 8, 10, 12, 14});
  CHECK(svg::nice_ticks(-3, 3, 4) == std::vector<double>{-2, 0, 2});
  CHECK(svg::nice_ticks(5, 5) == std::vector<double>{5});
}

TEST_CASE("svg: tick labels show as many digits as the step needs") {
  CHECK(svg::format_tick(0.2, 0.2) == "0.2");
  CHECK(svg::format_tick(0.25, 0.05) == "0.25");
  CHECK(svg::format_tick(10, 2) == "10");
  CHECK(svg::format_tick(-0.0, 0.1) == "0.0");
  CHECK(svg::format_tick(2500000, 500000) == "2.5e+06");
}

TEST_CASE("svg: text is XML-escaped") {
  CHECK(svg::xml_escape("a<b & \"c\" 'd'>") == "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;");
  CHECK(svg::xml_escape(std::string("bell\x07")) == "bell ");
}

TEST_CASE("svg: a line chart draws one path per unbroken stretch, markers and a legend") {
  svg::LineChart c;
  c.title = "loss <train>";
  c.series.push_back(
      {"#1 a&b", {1, 2, 3, 4, 5}, {1.0, 0.5, std::nan(""), 0.3, 0.2}, false, true, -1});
  c.series.push_back({"#2", {1, 2, 3}, {0.9, 0.8, 0.7}, true, false, -1});
  const std::string s = svg::render_figure({c});
  CHECK(s.rfind("<?xml", 0) == 0);
  CHECK(s.find("<svg xmlns=\"http://www.w3.org/2000/svg\"") != std::string::npos);
  CHECK(count(s, "<path ") == 2);
  CHECK(count(s, " M") + count(s, "d=\"M") == 3);  // series 1 is broken by its NaN
  CHECK(count(s, "<circle") == 4);                 // only series 1 has markers
  CHECK(count(s, "stroke-dasharray") >= 2);        // series 2 and its legend sample
  CHECK(s.find("loss &lt;train&gt;") != std::string::npos);
  CHECK(s.find("#1 a&amp;b") != std::string::npos);
  CHECK(s.find(svg::palette(0)) != std::string::npos);
  CHECK(s.find(svg::palette(1)) != std::string::npos);
  CHECK(s.rfind("</svg>\n") == s.size() - 7);
}

TEST_CASE("svg: a heatmap has one cell per bin and column; a figure stacks its panels") {
  svg::Heatmap h;
  h.x = {1, 2, 3};
  h.y_lo = -1;
  h.y_hi = 1;
  h.cells = {{1, 2, 3, 4}, {4, 3, 2, 1}, {0, 0, 10, 0}};
  svg::ScatterChart sc;
  sc.groups.push_back({"dwn", {100, 1000}, {0.8, 0.9}, {"run 1", "run 2"}});
  sc.log_x = true;
  const std::string s = svg::render_figure({h, sc}, {"two panels", 1, 500, 300});
  CHECK(s.find("height=\"630\"") != std::string::npos);  // 30 title + 2 x 300
  CHECK(count(s, "<g transform=") == 2);
  // 12 cells + 32 colour-bar steps + background, frame and bar outline rectangles.
  CHECK(count(s, "<rect") == 12 + 32 + 1 + 2 + 1 + 1);
  CHECK(count(s, "<title>run 1</title>") == 1);
  CHECK(s.find(">1000<") != std::string::npos);  // a decade tick on the log axis
}
