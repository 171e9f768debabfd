#include "clients/cli/value_format.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"

namespace crucible {
namespace {

template <typename T, typename Formatter>
std::string FormatListImpl(absl::Span<const T> values, size_t max_items, Formatter format) {
  std::vector<std::string> items;
  for (size_t i = 0; i < values.size() && i < max_items; ++i) items.push_back(format(values[i]));
  std::string text = absl::StrCat("[", absl::StrJoin(items, ", "));
  if (values.size() > max_items) absl::StrAppend(&text, ", ... (", values.size(), " values)");
  return absl::StrCat(text, "]");
}

}  // namespace

double ClampFraction(double fraction) { return std::isnan(fraction) ? 0.0 : std::clamp(fraction, 0.0, 1.0); }

std::string FormatPercent(double fraction) { return absl::StrFormat("%.2f%%", 100.0 * fraction); }

std::string FormatNumber(double value) { return absl::StrFormat("%.4g", value); }

std::string FormatBytes(int64_t bytes) {
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return absl::StrCat(bytes, " B");
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  for (value /= 1024; value >= 1024 && unit + 1 < std::size(kUnits); value /= 1024) ++unit;
  return absl::StrFormat("%.1f %s", value, kUnits[unit]);
}

std::string FormatTimestamp(const google::protobuf::Timestamp& timestamp) {
  if (timestamp.seconds() == 0 && timestamp.nanos() == 0) return "-";
  const absl::Time time = absl::FromUnixSeconds(timestamp.seconds()) + absl::Nanoseconds(timestamp.nanos());
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", time, absl::UTCTimeZone());
}

std::string FormatShape(absl::Span<const int64_t> dims) {
  return dims.empty() ? "-" : absl::StrJoin(dims, "x");
}

std::string FormatList(absl::Span<const double> values, size_t max_items) {
  return FormatListImpl(values, max_items, FormatNumber);
}

std::string FormatList(absl::Span<const int64_t> values, size_t max_items) {
  return FormatListImpl(values, max_items, [](int64_t v) { return absl::StrCat(v); });
}

std::string FormatProgress(const v1::Progress& progress) {
  std::string text = absl::StrFormat("%.0f%%", std::floor(100.0 * ClampFraction(progress.fraction())));
  if (!progress.stage().empty()) absl::StrAppend(&text, "  ", progress.stage());
  if (!progress.message().empty()) {
    absl::StrAppend(&text, progress.stage().empty() ? "  " : ": ", progress.message());
  }
  return text;
}

std::string Indent(absl::string_view text, absl::string_view indent) {
  const std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) out.push_back('\n');
    if (!lines[i].empty()) absl::StrAppend(&out, indent, lines[i]);
  }
  return out;
}

}  // namespace crucible
