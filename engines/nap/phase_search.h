// SearchPhaseQuery: sound, and complete when time allows, search of a
// PhaseQuery (engines/nap/phase_query.h).
//
//   1. Falsification: PhaseFalsifier descents from the caller's seeds, the
//      box centre and random points.
//   2. Depth-first branch and bound over the free ReLUs. Each domain (the
//      query's phases plus the branch's splits) gets CROWN bounds
//      (NetworkBounds with the phases as ReluSplits — empty if they
//      contradict), then the LP relaxation (PhaseLp) per open case, whose
//      optimum also seeds a short falsifier descent. A case is refuted when a
//      sound bound of one of its rows stays above a proof margin. Before the
//      root is split, the bounds of its free unstable ReLUs are tightened by
//      LP (min and max of each pre-activation under the phase constraints,
//      layer by layer, widest first, within half the remaining time); every
//      domain's CROWN bounds are intersected with them.
//   3. A domain without free unstable ReLUs is exact for the LP: what its
//      optima did not refute stays undecided (a violation only on a phase
//      boundary). For networks with at most `smt_max_inputs` inputs, a domain
//      with at most `smt_unstable_limit` free unstable ReLUs, or `max_depth`
//      splits deep, goes to Z3 (CheckLeafWithZ3 with the phases). Otherwise
//      it is split on the free unstable ReLU with the largest LP relaxation
//      gap, the side the LP optimum lies on first — so splitting alone is
//      complete. (Z3's exact simplex on 784 dense inputs was measured to
//      ignore a 10 s timeout and interrupts for over 10 minutes.)
//
// Every candidate goes through `check`, which returns true only for a
// re-checked witness (the caller keeps it): a candidate it refuses leaves its
// domain undecided, so the answer is kSat only with an accepted witness and
// kUnsat only when every domain is decided by bounds or Z3. kTimeout after
// timeout_seconds, kCancelled when `cancelled` says so (polled every ~20 ms
// by a watcher thread that also interrupts Z3). Single-threaded otherwise.
//
//   ASSIGN_OR_RETURN(PhaseSearchResult r, SearchPhaseQuery(net, query, {.timeout_seconds = 60}, check, cancelled));
#ifndef CRUCIBLE_ENGINES_NAP_PHASE_SEARCH_H_
#define CRUCIBLE_ENGINES_NAP_PHASE_SEARCH_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engines/nap/phase_query.h"
#include "engines/verify/branch_and_bound.h"
#include "engines/verify/network.h"

namespace crucible {

struct PhaseSearchOptions {
  double timeout_seconds = 60;  // 0: only cancellation
  double smt_leaf_timeout_seconds = 10;
  int64_t smt_unstable_limit = 12;
  int64_t smt_max_inputs = 64;  // Z3 leaves only for networks with at most this many inputs
  int max_depth = 48;
  int falsify_restarts = 8;
  int falsify_steps = 150;
  uint64_t seed = 1;
  std::vector<std::vector<double>> seeds = {};
};

struct PhaseSearchResult {
  VerifierOutcome outcome = VerifierOutcome::kUnknown;
  std::vector<double> witness;  // kSat: the candidate `check` accepted
  std::string detail;
  int64_t domains = 0;
  int64_t lp_calls = 0;
  int64_t smt_calls = 0;
};

// True when x is a re-checked witness; errors abort the search.
using WitnessCheck = std::function<absl::StatusOr<bool>(const std::vector<double>& x)>;

absl::StatusOr<PhaseSearchResult> SearchPhaseQuery(const AffineNetwork& net, const PhaseQuery& query,
                                                   const PhaseSearchOptions& options, const WitnessCheck& check,
                                                   const std::function<bool()>& cancelled);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_NAP_PHASE_SEARCH_H_
