// The Z3 side of the dlv engine: growing a layer's region until Z3 proves it
// covers the image of the previous layer's region, and asking Z3 whether any
// point of a layer's region changes the class.
//
// RefineLayerRegion (the paper's condition that region k contains the image
// of region k-1 under the layer function): the first guess is the box around
// the input's activation spanned by the images of sampled points of the
// previous region. Then, neuron by neuron, Z3 (rational arithmetic on
// weights rounded to 2^-20, made sound by moving each threshold by the
// largest rounding error over the box) is asked for a point of the previous
// region whose image leaves the box on any side; each witness widens every
// span it escapes, past the witness. After kWitnessRounds witnesses on one
// neuron, its span are set to the interval image (exact for one layer up to
// rounding, widened to cover it). `covered` is true only when Z3 answered
// UNSAT for every neuron (spans only grow, so earlier answers stay valid).
//
// CheckRegionSafe encodes the rest of the network from layer k exactly (ReLUs
// that the interval bounds cannot fix are case splits) and asks whether some
// point of the region reaches a logit >= the label's logit.
//
// Every Z3 call gets the time left before the budget's deadline (at most
// max_call_seconds) and is interrupted when the budget's cancellation flag is
// raised; z3::exception propagates to the caller (the engine turns it into a
// status).
//
//   SmtBudget budget{deadline, [&] { return context.Cancelled(); }};
//   Z3Stats stats;
//   ASSIGN_OR_RETURN(CoverageResult c, RefineLayerRegion(net.layers[0], input_box, acts[1], 7, budget, stats));
//   ASSIGN_OR_RETURN(RegionCheck r, CheckRegionSafe(net, 1, c.region, label, budget, stats));
#ifndef CRUCIBLE_ENGINES_VERIFY_DLV_LAYER_REFINEMENT_H_
#define CRUCIBLE_ENGINES_VERIFY_DLV_LAYER_REFINEMENT_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engines/verify/dlv_region.h"
#include "engines/verify/network.h"

namespace crucible {

struct SmtBudget {
  absl::Time deadline = absl::InfiniteFuture();
  std::function<bool()> cancelled;  // may be empty
  double max_call_seconds = 30.0;
};

struct Z3Stats {
  int64_t calls = 0;
  double seconds = 0.0;
};

enum class SmtAnswer { kUnsat, kSat, kUnknown, kTimeout, kCancelled };

struct CoverageResult {
  LayerBox region;
  bool covered = false;  // Z3 proved: image of the previous region is inside `region`
  int rounds = 0;        // SAT answers (witnesses) that widened the spans
  SmtAnswer last = SmtAnswer::kUnknown;
};

// The region at the output of `layer` around `center` (the input's activation
// there). REQUIRES: previous has layer.inputs dims, center layer.outputs.
absl::StatusOr<CoverageResult> RefineLayerRegion(const AffineLayer& layer, const LayerBox& previous,
                                                 const std::vector<double>& center, uint64_t seed,
                                                 const SmtBudget& budget, Z3Stats& stats);

struct RegionCheck {
  SmtAnswer answer = SmtAnswer::kUnknown;  // kUnsat: every point of the region keeps `label`
  std::vector<double> witness;             // kSat: a point of the region (layer k) that does not
};

// REQUIRES: 1 <= k < net.layers.size(); region has layer k's size.
absl::StatusOr<RegionCheck> CheckRegionSafe(const AffineNetwork& net, int k, const LayerBox& region, int64_t label,
                                            const SmtBudget& budget, Z3Stats& stats);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_VERIFY_DLV_LAYER_REFINEMENT_H_
