// Human-readable form of an audit report: per report type, the fields that
// DESIGN.md names as read by people and scripts (accuracy, per-class accuracy
// and confusion matrix for an evaluation; clean/robust accuracy, curve,
// warnings and the first examples for an attack; the verdict and
// counterexample for a verification; ...). `--json` is the complete form.
//
//   std::fputs(FormatReport(report).c_str(), stdout);
#ifndef CRUCIBLE_CLIENTS_CLI_REPORT_PRINTING_H_
#define CRUCIBLE_CLIENTS_CLI_REPORT_PRINTING_H_

#include <cstddef>
#include <string>

#include "crucible/v1/jobs.pb.h"

namespace crucible {

// Attack examples shown before "... and N more".
inline constexpr size_t kMaxExampleRows = 10;
// Values shown of long vectors (counterexamples, flagged indices).
inline constexpr size_t kMaxListItems = 16;

// Newline-terminated lines; "no report" when none of the oneof is set.
std::string FormatReport(const v1::Report& report);

}  // namespace crucible

#endif  // CRUCIBLE_CLIENTS_CLI_REPORT_PRINTING_H_
