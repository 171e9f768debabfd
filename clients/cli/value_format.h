// Text forms of single values in the human-readable output of the `crucible`
// command. Deterministic (times are shown in UTC) so output can be tested.
//
//   FormatPercent(0.973)            // "97.30%"
//   FormatNumber(0.0312345)         // "0.03123"
//   FormatBytes(1536)               // "1.5 KiB"
//   FormatShape({1, 28, 28})        // "1x28x28"
//   FormatList({0.1, 0.2}, 16)      // "[0.1, 0.2]"
#ifndef CRUCIBLE_CLIENTS_CLI_VALUE_FORMAT_H_
#define CRUCIBLE_CLIENTS_CLI_VALUE_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "crucible/v1/jobs.pb.h"
#include "google/protobuf/timestamp.pb.h"

namespace crucible {

// `fraction` limited to [0, 1]; NaN becomes 0.
double ClampFraction(double fraction);
// A fraction in [0, 1] as a percentage with two decimals.
std::string FormatPercent(double fraction);
// Four significant digits.
std::string FormatNumber(double value);
std::string FormatBytes(int64_t bytes);
// "2025-01-31 12:00:00 UTC"; "-" for an unset (zero) timestamp.
std::string FormatTimestamp(const google::protobuf::Timestamp& timestamp);
// Dimensions joined by 'x'; "-" when empty.
std::string FormatShape(absl::Span<const int64_t> dims);
// "[a, b, c]" with FormatNumber, or the first `max_items` then ", ... (N values)]".
std::string FormatList(absl::Span<const double> values, size_t max_items);
std::string FormatList(absl::Span<const int64_t> values, size_t max_items);
// "42%  stage: message" (parts that are empty are left out).
std::string FormatProgress(const v1::Progress& progress);
// `text` with `indent` in front of every non-empty line.
std::string Indent(absl::string_view text, absl::string_view indent);

}  // namespace crucible

#endif  // CRUCIBLE_CLIENTS_CLI_VALUE_FORMAT_H_
