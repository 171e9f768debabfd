// Perturbation arithmetic shared by the gradient attacks, per example over a
// batch [N, ...]: L-inf sign steps and L2 normalised steps, projection onto
// the epsilon ball around the clean inputs, clipping to the valid range, and
// the norms of a perturbation.
#ifndef CRUCIBLE_ENGINES_ATTACK_PERTURBATION_H_
#define CRUCIBLE_ENGINES_ATTACK_PERTURBATION_H_

#include <vector>

#include "crucible/v1/engines.pb.h"
#include "engines/core/tensor.h"

namespace crucible {

// x += step * direction(g) for the examples with active[i] (all when empty):
// sign(g) for LINF, g / ||g||_2 for L2 (no step where g is 0). `step` may be
// negative (descent, for targeted attacks).
void GradientStep(Tensor& x, const Tensor& gradient, float step, v1::Norm norm, const std::vector<bool>& active = {});

// Projects x onto the ball of radius epsilon around `center`.
void ProjectToBall(Tensor& x, const Tensor& center, float epsilon, v1::Norm norm);

void ClipToRange(Tensor& x, float low, float high);

// Norms of x[i] - center[i] for example i.
double L2Distance(const Tensor& x, const Tensor& center, int64_t i);
double LinfDistance(const Tensor& x, const Tensor& center, int64_t i);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_ATTACK_PERTURBATION_H_
