// Discretisation error bound of the dlv engine: how far the classification
// margin can move between a point of a layer's region and a grid point near it.
//
// For every class j other than `label`, an interval Jacobian of
// logit[label] - logit[j] with respect to layer k's activation is computed
// over `box` (interval propagation forward to fix which ReLUs are stably on or
// off, then backward with derivative [0, 1] for the unstable ones). With
// L[j][p] the largest |derivative| in dim p, two points of the box that differ
// by at most deltas[p] in each dim have margins within
//   max_j sum_p L[j][p] * deltas[p]
// of each other, which is what MarginChangeBound returns. So if every grid
// point's margin exceeds the bound computed with deltas = half steps, no point
// of the continuous family changes the class.
//
//   double err = MarginChangeBound(net, 0, family_box, label, grid.HalfSteps());
#ifndef CRUCIBLE_ENGINES_VERIFY_DLV_MARGIN_BOUND_H_
#define CRUCIBLE_ENGINES_VERIFY_DLV_MARGIN_BOUND_H_

#include <cstdint>
#include <vector>

#include "engines/verify/dlv_region.h"
#include "engines/verify/network.h"

namespace crucible {

// REQUIRES: 0 <= k < net.layers.size(); box and deltas have layer k's size.
double MarginChangeBound(const AffineNetwork& net, int k, const LayerBox& box, int64_t label,
                         const std::vector<double>& deltas);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_VERIFY_DLV_MARGIN_BOUND_H_
