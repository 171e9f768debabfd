// PhaseFalsifier: looks for a witness of a PhaseQuery — a point of the box
// whose fixed ReLUs are strictly in their phases and whose outputs meet some
// case — by projected sign-gradient descent on
//   sum over fixed neurons of max(0, margin - phase·z)
//   + min over cases of sum over its rows of max(0, c·y - d + margin),
// which is 0 exactly when every phase and the best case hold with `margin`
// to spare (so the float re-check, which is strict, still agrees). Steps
// shrink geometrically (by default from 10% to 0.1% of the box width). Works on the double
// network; what it returns is a candidate the caller re-checks.
//
//   PhaseFalsifier falsifier(net, query);
//   std::optional<std::vector<double>> x = falsifier.Descend(start, /*steps=*/150, stop);
#ifndef CRUCIBLE_ENGINES_NAP_PHASE_FALSIFIER_H_
#define CRUCIBLE_ENGINES_NAP_PHASE_FALSIFIER_H_

#include <functional>
#include <optional>
#include <vector>

#include <Eigen/Dense>

#include "engines/nap/phase_query.h"
#include "engines/verify/network.h"

namespace crucible {

class PhaseFalsifier {
 public:
  // `net` and `query` must outlive the falsifier.
  PhaseFalsifier(const AffineNetwork& net, const PhaseQuery& query, double margin = 1e-4);

  // The loss above at x (and its gradient with respect to x when `gradient` is set).
  double Loss(const std::vector<double>& x, std::vector<double>* gradient) const;
  // Descends from `start` (clipped into the box) for at most `steps` steps
  // whose size shrinks from `initial_step` to initial_step / 100 of the box
  // width; the first point with loss 0, or nullopt.
  std::optional<std::vector<double>> Descend(const std::vector<double>& start, int steps,
                                             const std::function<bool()>& stop, double initial_step = 0.1) const;

 private:
  const AffineNetwork& net_;
  const PhaseQuery& query_;
  double margin_;
};

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_NAP_PHASE_FALSIFIER_H_
