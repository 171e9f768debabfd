#include "server/http/svg_charts.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/http/html.h"

namespace crucible {
namespace {

// Plot area inside the SVG's coordinate system.
constexpr double kLeft = 56;
constexpr double kTop = 16;
constexpr double kPlotHeight = 200;
constexpr double kBottomMargin = 48;

const char* const kSeriesColors[] = {"#3b6fd8", "#e0803a", "#3aa676", "#b04fc4"};

std::string Num(double value) { return absl::StrFormat("%.2f", value); }

// A round step so that [0, max] has about five ticks.
double TickStep(double max) {
  if (max <= 0) return 1;
  const double raw = max / 5;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (const double factor : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (raw <= factor * magnitude) return factor * magnitude;
  }
  return 10 * magnitude;
}

// Y axis from 0 to 1 with grid lines, and the axis titles.
void FractionAxis(std::string& svg, double plot_width, const std::string& x_label, const std::string& y_label) {
  for (int i = 0; i <= 4; ++i) {
    const double y = kTop + kPlotHeight * (1 - i / 4.0);
    absl::StrAppend(&svg, "<line class=\"grid\" x1=\"", Num(kLeft), "\" y1=\"", Num(y), "\" x2=\"",
                    Num(kLeft + plot_width), "\" y2=\"", Num(y), "\"/>");
    absl::StrAppend(&svg, "<text class=\"tick\" x=\"", Num(kLeft - 6), "\" y=\"", Num(y + 4),
                    "\" text-anchor=\"end\">", i * 25, "%</text>");
  }
  absl::StrAppend(&svg, "<text class=\"axis-title\" x=\"", Num(kLeft + plot_width / 2), "\" y=\"",
                  Num(kTop + kPlotHeight + 40), "\" text-anchor=\"middle\">", HtmlEscape(x_label), "</text>");
  absl::StrAppend(&svg, "<text class=\"axis-title\" transform=\"translate(14,", Num(kTop + kPlotHeight / 2),
                  ") rotate(-90)\" text-anchor=\"middle\">", HtmlEscape(y_label), "</text>");
}

std::string OpenSvg(const char* kind, double width, double height, const std::string& label) {
  return absl::StrCat("<svg class=\"chart ", kind, "\" viewBox=\"0 0 ", Num(width), " ", Num(height), "\" width=\"",
                      Num(width), "\" height=\"", Num(height), "\" role=\"img\" aria-label=\"", HtmlEscape(label),
                      "\" xmlns=\"http://www.w3.org/2000/svg\">");
}

}  // namespace

std::string LineChartSvg(std::vector<std::pair<double, double>> points, const std::string& x_label,
                         const std::string& y_label, std::optional<double> y_at_zero) {
  std::sort(points.begin(), points.end());
  constexpr double kPlotWidth = 420;
  double max_x = 0;
  for (const auto& [x, y] : points) max_x = std::max(max_x, x);
  const double step = TickStep(max_x);
  const double axis_max = std::max(step, std::ceil(max_x / step - 1e-9) * step);
  auto px = [&](double x) { return kLeft + kPlotWidth * x / axis_max; };
  auto py = [&](double y) { return kTop + kPlotHeight * (1 - std::clamp(y, 0.0, 1.0)); };

  std::string svg = OpenSvg("curve", kLeft + kPlotWidth + 20, kTop + kPlotHeight + kBottomMargin,
                            absl::StrCat(y_label, " against ", x_label));
  FractionAxis(svg, kPlotWidth, x_label, y_label);
  for (double x = 0; x <= axis_max + step / 2; x += step) {
    absl::StrAppend(&svg, "<text class=\"tick\" x=\"", Num(px(x)), "\" y=\"", Num(kTop + kPlotHeight + 16),
                    "\" text-anchor=\"middle\">", absl::StrFormat("%g", std::round(x / step) * step), "</text>");
  }
  if (y_at_zero.has_value() && !points.empty() && points.front().first > 0) {
    absl::StrAppend(&svg, "<line class=\"curve-origin-line\" stroke=\"", kSeriesColors[0],
                    "\" stroke-width=\"1.5\" stroke-dasharray=\"4 3\" x1=\"", Num(px(0)), "\" y1=\"",
                    Num(py(*y_at_zero)), "\" x2=\"", Num(px(points.front().first)), "\" y2=\"",
                    Num(py(points.front().second)), "\"/>");
    absl::StrAppend(&svg, "<circle class=\"curve-origin\" r=\"4\" fill=\"#fff\" stroke=\"", kSeriesColors[0],
                    "\" stroke-width=\"2\" cx=\"", Num(px(0)), "\" cy=\"", Num(py(*y_at_zero)),
                    "\"><title>unperturbed: ", Percent(*y_at_zero), "</title></circle>");
  }
  std::string polyline;
  for (const auto& [x, y] : points) absl::StrAppend(&polyline, Num(px(x)), ",", Num(py(y)), " ");
  absl::StrAppend(&svg, "<polyline class=\"curve-line\" fill=\"none\" stroke=\"", kSeriesColors[0],
                  "\" stroke-width=\"2\" points=\"", polyline, "\"/>");
  for (const auto& [x, y] : points) {
    absl::StrAppend(&svg, "<circle class=\"curve-point\" r=\"4\" fill=\"", kSeriesColors[0], "\" cx=\"", Num(px(x)),
                    "\" cy=\"", Num(py(y)), "\"><title>", HtmlEscape(x_label), " ", absl::StrFormat("%g", x), ": ",
                    Percent(y), "</title></circle>");
  }
  absl::StrAppend(&svg, "</svg>");
  return svg;
}

std::string BarChartSvg(const std::vector<std::string>& categories, const std::vector<BarSeries>& series,
                        const std::string& y_label) {
  const double bar_width = series.size() > 1 ? 12 : 18;
  const double group_width = bar_width * static_cast<double>(std::max<size_t>(series.size(), 1)) + 10;
  const double plot_width = std::max(200.0, group_width * static_cast<double>(categories.size()));
  const double legend_height = series.size() > 1 ? 18 : 0;
  std::string svg = OpenSvg("bars", kLeft + plot_width + 20, kTop + kPlotHeight + kBottomMargin + legend_height,
                            y_label);
  FractionAxis(svg, plot_width, "class", y_label);
  for (size_t c = 0; c < categories.size(); ++c) {
    const double group_x = kLeft + group_width * static_cast<double>(c) + 5;
    for (size_t s = 0; s < series.size(); ++s) {
      if (c >= series[s].values.size()) continue;
      const double value = std::clamp(series[s].values[c], 0.0, 1.0);
      const double height = kPlotHeight * value;
      absl::StrAppend(&svg, "<rect class=\"bar\" fill=\"", kSeriesColors[s % 4], "\" x=\"",
                      Num(group_x + bar_width * static_cast<double>(s)), "\" y=\"", Num(kTop + kPlotHeight - height),
                      "\" width=\"", Num(bar_width - 1), "\" height=\"", Num(height), "\"><title>",
                      HtmlEscape(series[s].name), " ", HtmlEscape(categories[c]), ": ", Percent(series[s].values[c]),
                      "</title></rect>");
    }
    absl::StrAppend(&svg, "<text class=\"tick\" x=\"", Num(group_x + (group_width - 10) / 2), "\" y=\"",
                    Num(kTop + kPlotHeight + 16), "\" text-anchor=\"middle\">", HtmlEscape(categories[c]), "</text>");
  }
  if (series.size() > 1) {
    double x = kLeft;
    const double y = kTop + kPlotHeight + kBottomMargin + 6;
    for (size_t s = 0; s < series.size(); ++s) {
      absl::StrAppend(&svg, "<rect x=\"", Num(x), "\" y=\"", Num(y - 9), "\" width=\"10\" height=\"10\" fill=\"",
                      kSeriesColors[s % 4], "\"/><text class=\"tick\" x=\"", Num(x + 14), "\" y=\"", Num(y), "\">",
                      HtmlEscape(series[s].name), "</text>");
      x += 24 + 7.0 * static_cast<double>(series[s].name.size());
    }
  }
  absl::StrAppend(&svg, "</svg>");
  return svg;
}

std::string HeatmapSvg(const std::vector<std::vector<int64_t>>& counts, const std::string& row_label,
                       const std::string& column_label) {
  const size_t n = counts.size();
  size_t columns = 0;
  for (const auto& row : counts) columns = std::max(columns, row.size());
  const double cell = n <= 12 ? 34 : std::max(8.0, 400.0 / static_cast<double>(std::max(n, columns)));
  const bool show_numbers = cell >= 30;
  constexpr double kMargin = 48;
  std::string svg = OpenSvg("heatmap", kMargin + cell * static_cast<double>(columns) + 10,
                            kMargin + cell * static_cast<double>(n) + 10,
                            absl::StrCat(row_label, " by ", column_label));
  absl::StrAppend(&svg, "<text class=\"axis-title\" x=\"", Num(kMargin + cell * static_cast<double>(columns) / 2),
                  "\" y=\"12\" text-anchor=\"middle\">", HtmlEscape(column_label), " &#8594;</text>");
  absl::StrAppend(&svg, "<text class=\"axis-title\" transform=\"translate(12,",
                  Num(kMargin + cell * static_cast<double>(n) / 2), ") rotate(-90)\" text-anchor=\"middle\">",
                  HtmlEscape(row_label), " &#8594;</text>");
  for (size_t c = 0; c < columns && show_numbers; ++c) {
    absl::StrAppend(&svg, "<text class=\"tick\" x=\"", Num(kMargin + cell * (static_cast<double>(c) + 0.5)),
                    "\" y=\"", Num(kMargin - 6), "\" text-anchor=\"middle\">", c, "</text>");
  }
  for (size_t r = 0; r < n; ++r) {
    int64_t total = 0;
    for (const int64_t count : counts[r]) total += count;
    const double y = kMargin + cell * static_cast<double>(r);
    if (show_numbers) {
      absl::StrAppend(&svg, "<text class=\"tick\" x=\"", Num(kMargin - 6), "\" y=\"", Num(y + cell / 2 + 4),
                      "\" text-anchor=\"end\">", r, "</text>");
    }
    for (size_t c = 0; c < counts[r].size(); ++c) {
      const double share = total > 0 ? static_cast<double>(counts[r][c]) / static_cast<double>(total) : 0;
      const double x = kMargin + cell * static_cast<double>(c);
      // White (0) to deep blue (the whole row); diagonal and off-diagonal alike.
      const int red = static_cast<int>(255 - 196 * share);
      const int green = static_cast<int>(255 - 144 * share);
      const int blue = static_cast<int>(255 - 39 * share);
      absl::StrAppend(&svg, "<rect class=\"cell\" x=\"", Num(x), "\" y=\"", Num(y), "\" width=\"", Num(cell),
                      "\" height=\"", Num(cell), "\" fill=\"", absl::StrFormat("#%02x%02x%02x", red, green, blue),
                      "\"><title>", HtmlEscape(row_label), " ", r, ", ", HtmlEscape(column_label), " ", c, ": ",
                      counts[r][c], " (", Percent(share), " of the row)</title></rect>");
      if (show_numbers && counts[r][c] > 0) {
        absl::StrAppend(&svg, "<text class=\"cell-count\" x=\"", Num(x + cell / 2), "\" y=\"", Num(y + cell / 2 + 4),
                        "\" text-anchor=\"middle\" fill=\"", share > 0.5 ? "#fff" : "#222", "\">", counts[r][c],
                        "</text>");
      }
    }
  }
  absl::StrAppend(&svg, "</svg>");
  return svg;
}

}  // namespace crucible
