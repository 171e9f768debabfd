// Complete verification of a VNN-LIB property on an AffineNetwork: a
// falsification pre-pass, then branch and bound over CROWN bounds with Z3 at
// the leaves the relaxation cannot decide.
//
// Cases with the same input box are searched together: a domain is closed
// once every case still open in it is refuted (some constraint's lower bound
// is above a small proof margin) or the domain is empty. Undecided domains
// are split on the input dimension with the largest smear (|coefficient| ×
// width of the bound's linear function) when the input has at most
// `input_split_max_dims` values, otherwise on the unstable ReLU with the
// largest BaBSR-style score; a domain with few unstable ReLUs (or too deep)
// goes to Z3. Every domain also tries the vertices minimising its linear
// bounds and its centre as counterexamples, and descends the margin from the
// most violating of them. Bounds are tightened down the tree: each child
// starts from its parent's intermediate bounds and optimised lower slopes. `threads` workers share one
// work queue, best-first by the parent's most negative case bound (or
// depth-first without `best_first`).
//
// Soundness: a counterexample is reported only after the input, rounded to
// float and kept inside the box, violates the case both in the double
// network and in `forward` (the executor's float pass); if the re-check fails
// the domain counts as undecided. Any undecided domain makes the answer
// kUnknown — never kUnsat. kTimeout after `timeout_seconds`, kCancelled when
// `cancelled` says so (checked every ~50 ms; running Z3 checks are
// interrupted).
//
//   VerifierResult r = *VerifyProperty(net, property, {.timeout_seconds = 116, .threads = 2},
//                                      forward, [] { return false; }, nullptr);
#ifndef CRUCIBLE_ENGINES_VERIFY_BRANCH_AND_BOUND_H_
#define CRUCIBLE_ENGINES_VERIFY_BRANCH_AND_BOUND_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engines/verify/falsify.h"
#include "engines/verify/network.h"
#include "engines/verify/vnnlib.h"

namespace crucible {

struct VerifierOptions {
  double timeout_seconds = 0;             // 0: no limit but cancellation
  int threads = 1;
  int64_t input_split_max_dims = 16;      // input splitting up to this many inputs, ReLU splitting above
  int64_t smt_unstable_limit = 2;         // Z3 when at most this many ReLUs are unstable (input splitting)
  int64_t relu_smt_unstable_limit = 24;   // the same under ReLU splitting
  int max_depth = 200;                    // Z3 regardless beyond this many splits
  double smt_leaf_timeout_seconds = 5;
  FalsifyOptions falsify;
  // Projected-gradient steps on the lower ReLU slopes (alpha-CROWN) for each
  // undecided case's best constraint, warm-started from the parent domain's
  // slopes; 0 turns the optimisation off.
  int alpha_iterations = 8;
  // Gradient-descent steps on the margin inside every undecided input-split
  // domain, from its most violating candidate vertex; 0 turns it off.
  int domain_descent_steps = 10;
  // Undecided domains are searched best-first (the most negative lower bound
  // on an open case's margin in the parent first) instead of depth-first: a
  // counterexample in a small region of a wide box (ACAS Xu 1_9 prop_7:
  // timeout at 116 s depth-first, ~400 domains best-first) is reached sooner.
  bool best_first = true;
};

enum class VerifierOutcome { kUnsat, kSat, kUnknown, kTimeout, kCancelled };

struct VerifierResult {
  VerifierOutcome outcome = VerifierOutcome::kUnknown;
  std::vector<double> input;   // kSat: the re-checked counterexample (float values)
  std::vector<double> output;  // kSat: the executor's outputs at `input`
  std::string detail;
  int64_t domains = 0;
  int64_t smt_calls = 0;
};

// The executor's float forward pass: outputs for one input.
using ForwardPass = std::function<absl::StatusOr<std::vector<double>>(const std::vector<float>& input)>;
using VerifierProgress = std::function<void(double fraction, const std::string& message)>;

// REQUIRES: property.num_inputs == net.input_size(), num_outputs == net.output_size().
// Errors only from `forward`.
absl::StatusOr<VerifierResult> VerifyProperty(const AffineNetwork& net, const Property& property,
                                              const VerifierOptions& options, const ForwardPass& forward,
                                              const std::function<bool()>& cancelled,
                                              const VerifierProgress& progress);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_VERIFY_BRANCH_AND_BOUND_H_
