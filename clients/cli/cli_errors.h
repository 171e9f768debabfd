// Errors of the `crucible` command: usage errors (a bad command line, an
// unknown engine) are told apart from every other failure so that they can be
// printed without a status code. Both kinds make the command exit with 2.
//
//   if (!cmd.value("--engine")) return UsageError("missing --engine E");
//   ...
//   std::fprintf(stderr, "%s\n", ErrorText(status).c_str());
//     // "error: missing --engine E"  or  "error: NOT_FOUND: no job 'x'"
#ifndef CRUCIBLE_CLIENTS_CLI_CLI_ERRORS_H_
#define CRUCIBLE_CLIENTS_CLI_CLI_ERRORS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace crucible {

// INVALID_ARGUMENT marked as a usage error.
absl::Status UsageError(absl::string_view message);

bool IsUsageError(const absl::Status& status);

// The one line printed for a failed command: "error: <message>" for a usage
// error, "error: <CODE>: <message>" (e.g. "error: UNAVAILABLE: ...") otherwise.
// REQUIRES: !status.ok().
std::string ErrorText(const absl::Status& status);

}  // namespace crucible

#endif  // CRUCIBLE_CLIENTS_CLI_CLI_ERRORS_H_
