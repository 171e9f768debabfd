// NapVerifier: the nap engine's three verification queries over an
// AffineNetwork, each answered UNSAT / SAT (with a re-checked witness) /
// UNKNOWN / TIMEOUT / CANCELLED:
//   - VerifyClass: NAP => class. No input in the box that satisfies the NAP
//     is classified as another label (UNSAT = the NAP is a proven spec).
//   - VerifyExclusive: no input in the box satisfies both NAPs.
//   - AugmentedRobustness: the largest L∞ ε (by bisection) for which the
//     ε-ball around an input, clipped to the domain, has no misclassified
//     point, without the NAP and intersected with the NAP.
//
// How: a NAP fixes ReLU phases, so fixed neurons are the identity (active)
// or zero (inactive) and their phase is a linear constraint (z >= 0 or
// z <= 0 — the closed form of activation_pattern.h's states); only free
// ReLUs that the bounds cannot prove stable are non-linear. Each query is
// searched by (1) a falsifier (projected gradient descent on phase and
// misclassification penalties, from the box centre, random points, the
// caller's seeds and LP optima), (2) branch and bound over the free unstable
// ReLUs with CROWN bounds (NetworkBounds with the NAP as ReluSplits) and an
// LP relaxation (GLPK; the phase constraints exactly, free unstable ReLUs by
// their triangle) whose bound is recomputed soundly from the LP duals; the
// root's free unstable ReLUs get LP-tightened bounds first — and
// (3) Z3 (QF_LRA) at leaves with few free unstable ReLUs, those encoded
// exactly and the phases as linear constraints — for networks with few
// inputs only (Z3's exact simplex on hundreds of dense inputs ignores
// timeouts); above that, splitting down to LP-exact domains decides. A
// violation that exists only on a phase boundary (an active neuron at
// z == 0) is UNKNOWN: it proves nothing and is no witness.
//
// Soundness: UNSAT only from sound bounds (double arithmetic with a proof
// margin) or a Z3 UNSAT. A witness is reported only after the input, rounded
// to float and inside the box, satisfies every fixed neuron strictly (active:
// output > 0, inactive: pre-activation <= 0 — the NAP's own definition, so a
// point on a boundary z == 0 of an active neuron does not count) in both the
// double network and the executor's float pass (NapForwardPass), and — for
// class queries — is classified as another label by both (argmax, ties
// counted as not misclassified). A candidate that fails this is never SAT:
// its domain stays undecided (UNKNOWN). A neuron fixed active in one NAP and
// inactive in the other makes VerifyExclusive UNSAT at once (no input has
// z > 0 and z <= 0).
//
// Thread-compatible: const methods may run concurrently only if the forward
// pass allows it (MakeExecutorNapForwardPass's does); each query is searched
// on the calling thread. `cancelled` is polled at least every ~100 ms and
// running Z3 checks are interrupted.
//
//   ASSIGN_OR_RETURN(AffineNetwork net, ExtractAffineNetwork(model));
//   ASSIGN_OR_RETURN(NapForwardPass forward, MakeExecutorNapForwardPass(model, 1));
//   NapVerifier verifier(net, forward, {.timeout_seconds = 60});
//   ASSIGN_OR_RETURN(NapQueryResult r, verifier.VerifyClass(nap, InputBox::Uniform(784, 0, 1), cancelled));
//   if (r.outcome == NapOutcome::kSat) Report(r.input, r.predicted);
#ifndef CRUCIBLE_ENGINES_NAP_NAP_VERIFIER_H_
#define CRUCIBLE_ENGINES_NAP_NAP_VERIFIER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engines/nap/activation_pattern.h"
#include "engines/nap/nap_forward_pass.h"
#include "engines/verify/network.h"

namespace crucible {

// An input box in the network's input units (after any preprocessing).
struct InputBox {
  std::vector<double> lower;
  std::vector<double> upper;

  static InputBox Uniform(int64_t size, double lower, double upper);
};

struct NapVerifierOptions {
  double timeout_seconds = 60;            // per query (each bisection step too); 0: only cancellation
  double smt_leaf_timeout_seconds = 10;   // one Z3 check
  int64_t smt_unstable_limit = 12;        // Z3 once at most this many free ReLUs are unstable
  int64_t smt_max_inputs = 64;            // Z3 only for networks with at most this many inputs
  int max_depth = 48;                     // ReLU splits before a domain goes to Z3 regardless
  int falsify_restarts = 8;               // projected gradient descent starts (besides seeds)
  int falsify_steps = 150;
  uint64_t seed = 1;
  // Extra falsifier starting points (e.g. dataset inputs), each of input_size values.
  std::vector<std::vector<double>> seeds = {};
};

enum class NapOutcome { kUnsat, kSat, kUnknown, kTimeout, kCancelled };

// "UNSAT", "SAT", "UNKNOWN", "TIMEOUT", "CANCELLED".
const char* NapOutcomeName(NapOutcome outcome);

struct NapQueryResult {
  NapOutcome outcome = NapOutcome::kUnknown;
  std::vector<double> input;   // kSat: the re-checked witness (float values, inside the box)
  std::vector<double> output;  // kSat: the executor's logits at `input`
  int64_t predicted = -1;      // kSat: the executor's label at `input`
  std::string detail;          // how it was decided, or why not
  double seconds = 0;
  int64_t domains = 0;         // branch-and-bound domains processed
  int64_t lp_calls = 0;
  int64_t smt_calls = 0;
};

struct RobustnessOptions {
  double max_epsilon = 0.1;    // the bisection's upper end (L∞, network input units)
  int bisection_steps = 8;
  double domain_lower = 0.0;   // the ε-ball is clipped to [domain_lower, domain_upper]
  double domain_upper = 1.0;
};

struct RobustnessStep {
  double epsilon = 0;
  bool with_nap = false;
  NapOutcome outcome = NapOutcome::kUnknown;
  double seconds = 0;
};

struct RobustnessResult {
  bool correctly_classified = false;  // by the executor; false: no queries, both ε are 0
  bool satisfies_nap = false;         // the input itself satisfies the NAP (float pass)
  double epsilon_without_nap = 0;     // largest ε verified (UNSAT) without the NAP; 0 if none
  // Largest ε verified with the NAP. The NAP only shrinks the region, so the
  // search starts from epsilon_without_nap: always >= it.
  double epsilon_with_nap = 0;
  std::vector<RobustnessStep> steps;
  double seconds = 0;
};

class NapVerifier {
 public:
  // `net` must outlive the verifier; `forward` is the float re-check pass of the same model.
  NapVerifier(const AffineNetwork& net, NapForwardPass forward, NapVerifierOptions options = {});

  // INVALID_ARGUMENT naming the field for a box of the wrong size or with
  // lower > upper, a neuron outside the network's hidden ReLU layers, or a
  // label outside the outputs. Errors otherwise only from the forward pass.
  absl::StatusOr<NapQueryResult> VerifyClass(const ActivationPattern& nap, const InputBox& box,
                                             const std::function<bool()>& cancelled) const;
  absl::StatusOr<NapQueryResult> VerifyExclusive(const ActivationPattern& first, const ActivationPattern& second,
                                                 const InputBox& box,
                                                 const std::function<bool()>& cancelled) const;
  // The NAP's label is not used: `label` is the class the input must keep.
  // CANCELLED when `cancelled` stops a bisection query.
  absl::StatusOr<RobustnessResult> AugmentedRobustness(const std::vector<double>& input, int64_t label,
                                                       const ActivationPattern& nap,
                                                       const RobustnessOptions& robustness,
                                                       const std::function<bool()>& cancelled) const;

 private:
  const AffineNetwork& net_;
  NapForwardPass forward_;
  NapVerifierOptions options_;
};

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_NAP_NAP_VERIFIER_H_
