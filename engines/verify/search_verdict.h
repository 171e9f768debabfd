// SearchVerdict: how a branch-and-bound search ends — the outcome and the
// detail line people read — shared by VerifyProperty (branch_and_bound.h) and
// the nap engine's fixed-phase search, so both report in the same words.
// Precedence: a re-checked counterexample, then cancellation, timeout, any
// undecided domain (never UNSAT on doubt), else UNSAT.
//
//   SearchEnd end{.found = found_, .timed_out = timed_out_, .undecided = undecided_, ...};
//   out.outcome = SearchVerdict(end, stats, "every case refuted", out.detail);
#ifndef CRUCIBLE_ENGINES_VERIFY_SEARCH_VERDICT_H_
#define CRUCIBLE_ENGINES_VERIFY_SEARCH_VERDICT_H_

#include <cstdint>
#include <string>

#include "engines/verify/branch_and_bound.h"

namespace crucible {

struct SearchEnd {
  bool found = false;
  bool cancelled = false;
  bool timed_out = false;
  int64_t undecided = 0;
  std::string last_undecided_reason;
  int64_t failed_rechecks = 0;
};

// `detail` holds the counterexample's description when end.found and is
// replaced otherwise; `stats` (domains, solver calls, seconds) is appended.
// `refuted` names what an UNSAT answer refuted ("every case refuted").
VerifierOutcome SearchVerdict(const SearchEnd& end, const std::string& stats, const std::string& refuted,
                              std::string& detail);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_VERIFY_SEARCH_VERDICT_H_
