#include "clients/cli/cli_errors.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace crucible {
namespace {

constexpr absl::string_view kUsagePayload = "type.crucible.dev/crucible.cli.UsageError";

}  // namespace

absl::Status UsageError(absl::string_view message) {
  absl::Status status = absl::InvalidArgumentError(message);
  status.SetPayload(kUsagePayload, absl::Cord());
  return status;
}

bool IsUsageError(const absl::Status& status) {
  return status.GetPayload(kUsagePayload).has_value();
}

std::string ErrorText(const absl::Status& status) {
  if (IsUsageError(status)) return absl::StrCat("error: ", status.message());
  return absl::StrCat("error: ", absl::StatusCodeToString(status.code()), ": ", status.message());
}

}  // namespace crucible
