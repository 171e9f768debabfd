// The discretised manipulation family of one dlv layer and its search.
//
// A ManipulationGrid fixes a centre (the input's activation at the layer), a
// region box, features (dlv_features.h) and a number of steps per side. A
// manipulation moves one feature by one step; a ladder is a sequence of
// manipulations starting at the centre, so the ends of all ladders are the
// grid points: for coordinates j (|j_f| <= steps per feature f), every dim p
// of feature f with orientation o sits at
//   centre_p + (t / steps) * (upper_p - centre_p)   if t = j_f * o >= 0,
//   centre_p + (t / steps) * (centre_p - lower_p)   otherwise,
// and every other dim stays at the centre. So each side of each dim is split
// into `steps` equal steps and the grid never leaves the box.
//
// SearchLadders evaluates grid points in batches through a caller-supplied
// evaluator (executor forward passes at the input layer, the rest of the
// network from a hidden layer). When the grid has at most `budget` points it
// is explored exhaustively, shortest ladders first; otherwise best-first by
// margin (the lowest-margin end is extended by every manipulation) until the
// budget is spent, and the result says it was not exhaustive.
//
//   ManipulationGrid grid{center, box, features, 2};
//   ASSIGN_OR_RETURN(LadderSearchResult r, SearchLadders(grid, evaluate, {.budget = 20000}));
//   if (r.exhaustive && r.misclassified == 0) { /* the discretised family is safe */ }
#ifndef CRUCIBLE_ENGINES_VERIFY_DLV_LADDER_SEARCH_H_
#define CRUCIBLE_ENGINES_VERIFY_DLV_LADDER_SEARCH_H_

#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

#include "absl/status/statusor.h"
#include "engines/verify/dlv_features.h"
#include "engines/verify/dlv_region.h"

namespace crucible {

struct ManipulationGrid {
  std::vector<double> center;
  LayerBox box;  // REQUIRES: lower <= center <= upper
  std::vector<Feature> features;
  int steps = 1;

  // The grid point with these coordinates (one per feature, |j| <= steps).
  std::vector<double> Point(const std::vector<int>& coordinates) const;
  // Per dim, half the largest step of the dim (0 for dims no feature moves):
  // every point of the continuous family (real coordinates) is at most this
  // far from its nearest grid point in each dim.
  std::vector<double> HalfSteps() const;
  // (2 * steps + 1)^features, as a double because it may be astronomically large.
  double GridPoints() const;
};

struct GridEvaluation {
  double margin = 0.0;         // logit of the class - best other logit
  bool misclassified = false;  // the predicted class differs
};
using GridEvaluator =
    std::function<absl::StatusOr<std::vector<GridEvaluation>>(const std::vector<std::vector<double>>& points)>;

struct LadderSearchOptions {
  int64_t budget = 20000;           // grid points evaluated at most
  int max_examples = 10;            // misclassified points kept
  int64_t batch_size = 256;         // points per evaluator call
  std::function<bool()> stop;       // checked before each batch (cancellation, deadline); may be empty
};

struct LadderSearchResult {
  int64_t explored = 0;
  bool exhaustive = false;          // every grid point was evaluated
  bool stopped = false;             // `stop` ended the search early
  int64_t misclassified = 0;
  double min_margin = std::numeric_limits<double>::infinity();
  std::vector<std::vector<double>> examples;  // misclassified points, shortest ladders first (exhaustive)
};

absl::StatusOr<LadderSearchResult> SearchLadders(const ManipulationGrid& grid, const GridEvaluator& evaluate,
                                                 const LadderSearchOptions& options);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_VERIFY_DLV_LADDER_SEARCH_H_
