// The exact decision procedure at branch-and-bound leaves: Z3 (linear real
// arithmetic) on the network restricted to an input box, with ReLUs that the
// leaf's bounds prove stable fixed to their linear piece and unstable ones
// encoded exactly (z >= 0 → a = z, z <= 0 → a = 0, with a >= 0, a >= z and
// z's bounds as redundant lemmas that help Z3 propagate).
//
// Z3's variables are the inputs and one activation per unstable ReLU: the
// stable parts of the network are composed (in double precision) into affine
// functions of those, so a leaf with few unstable ReLUs is a small query.
// Numerals are fixed-point binary fractions (2^-48 grid; exact doubles carry
// denominators up to 2^1074 and make Z3's exact arithmetic ignore timeouts);
// the box and z's bounds are rounded outwards and each output constraint gets
// a 1e-8 slack, so rounding only enlarges the query: an UNSAT answer covers
// the real one, and SAT answers are re-checked by the caller.
//
// The query asks for an input in the box whose outputs meet all constraints
// of at least one of the given cases. SAT answers carry Z3's model (not yet
// re-checked: the caller re-checks every counterexample). A leaf that times
// out, is interrupted or throws is kUnknown with the reason.
//
// With `phases` (the nap engine's fixed ReLU phases, ReluSplits layout), a
// neuron with phase +1 is encoded as active with the linear constraint
// z >= 0 and one with -1 as inactive with z <= 0 (each relaxed by 1e-9 for
// the numeral rounding), whatever its bounds say: the answer is for the
// inputs in the box whose fixed neurons are in their phase.
//
// Z3Interrupter lets another thread stop running checks (cancellation or the
// job's deadline): Interrupt() interrupts every registered context and makes
// later registrations fail fast.
//
//   Z3Interrupter interrupter;
//   SmtResult r = CheckLeafWithZ3(net, layer_bounds, lo, hi, {&property_case.constraints}, 5.0, &interrupter);
//   if (r.answer == SmtAnswer::kSat) Recheck(r.input);
#ifndef CRUCIBLE_ENGINES_VERIFY_SMT_H_
#define CRUCIBLE_ENGINES_VERIFY_SMT_H_

#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "engines/verify/bounds.h"
#include "engines/verify/network.h"
#include "engines/verify/vnnlib.h"

namespace z3 {
class context;
}

namespace crucible {

enum class SmtAnswer { kUnsat, kSat, kUnknown };

struct SmtResult {
  SmtAnswer answer = SmtAnswer::kUnknown;
  std::vector<double> input;  // kSat: Z3's model, clamped into the box
  std::string reason;         // kUnknown: why
};

class Z3Interrupter {
 public:
  // False when Interrupt() was already called: the caller should not start.
  bool Register(z3::context* context);
  void Unregister(z3::context* context);
  void Interrupt();
  bool interrupted() const;

 private:
  mutable std::mutex mutex_;
  std::set<z3::context*> active_;
  bool interrupted_ = false;
};

// REQUIRES: `bounds` are sound pre-activation bounds of `net` over [lo, hi]
// (NetworkBounds::PreActivation, possibly with ReLU splits: then the answer
// is for the split sub-domain). `interrupter` and `phases` may be null.
SmtResult CheckLeafWithZ3(const AffineNetwork& net, const LayerBounds& bounds, const Eigen::VectorXd& lo,
                          const Eigen::VectorXd& hi, const std::vector<const std::vector<OutputConstraint>*>& cases,
                          double timeout_seconds, Z3Interrupter* interrupter, const ReluSplits* phases = nullptr);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_VERIFY_SMT_H_
