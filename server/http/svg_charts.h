// SvgCharts: the dashboard's charts as inline SVG, drawn on the server so a
// report page needs no chart library: a line chart (robustness curve), grouped
// bars (per-class accuracy) and a heat map (confusion matrix).
//
// Values on the y axis of line and bar charts are fractions in [0, 1]. All
// labels are HTML-escaped. Each chart is an <svg> with a class naming its kind
// ("chart curve", "chart bars", "chart heatmap") and a <title> per mark, so
// hovering shows the exact value and tests can find the marks.
//
//   html += LineChartSvg({{0, 0.87}, {0.05, 0.41}, {0.1, 0.08}}, "epsilon", "robust accuracy");
#ifndef CRUCIBLE_SERVER_HTTP_SVG_CHARTS_H_
#define CRUCIBLE_SERVER_HTTP_SVG_CHARTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace crucible {

// Points (x, y) joined in x order; y in [0, 1]. `y_at_zero` (optional), the
// value before any perturbation (clean accuracy), is drawn as a hollow marker
// at x = 0 joined to the first point by a dashed line.
std::string LineChartSvg(std::vector<std::pair<double, double>> points, const std::string& x_label,
                         const std::string& y_label, std::optional<double> y_at_zero = std::nullopt);

struct BarSeries {
  std::string name;            // Shown in the legend.
  std::vector<double> values;  // One per category, in [0, 1].
};

// One group of bars per category, one bar per series.
std::string BarChartSvg(const std::vector<std::string>& categories, const std::vector<BarSeries>& series,
                        const std::string& y_label);

// counts[row][column]; each cell shaded by its share of the row.
std::string HeatmapSvg(const std::vector<std::vector<int64_t>>& counts, const std::string& row_label,
                       const std::string& column_label);

}  // namespace crucible

#endif  // CRUCIBLE_SERVER_HTTP_SVG_CHARTS_H_
