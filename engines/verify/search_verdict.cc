#include "engines/verify/search_verdict.h"

#include "absl/strings/str_cat.h"

namespace crucible {

VerifierOutcome SearchVerdict(const SearchEnd& end, const std::string& stats, const std::string& refuted,
                              std::string& detail) {
  VerifierOutcome outcome;
  if (end.found) {
    outcome = VerifierOutcome::kSat;
    detail = absl::StrCat(detail, "; ", stats);
  } else if (end.cancelled) {
    outcome = VerifierOutcome::kCancelled;
    detail = absl::StrCat("cancelled after ", stats);
  } else if (end.timed_out) {
    outcome = VerifierOutcome::kTimeout;
    detail = absl::StrCat("timed out after ", stats);
  } else if (end.undecided > 0) {
    outcome = VerifierOutcome::kUnknown;
    detail = absl::StrCat(end.undecided, " undecided domains, e.g. ", end.last_undecided_reason, "; ", stats);
  } else {
    outcome = VerifierOutcome::kUnsat;
    detail = absl::StrCat(refuted, ": ", stats);
  }
  if (end.failed_rechecks > 0) absl::StrAppend(&detail, "; ", end.failed_rechecks, " candidates failed the re-check");
  return outcome;
}

}  // namespace crucible
