// FgsmEngine ("fgsm"): the fast gradient sign method (Goodfellow et al.
// 2015) and its L2 variant, one gradient step of size epsilon:
//   L-inf: x' = clip(x + eps * sign(g)),  L2: x' = clip(x + eps * g / ||g||_2),
// with g the gradient of the cross-entropy at the true label (untargeted) or
// minus the gradient at the target (targeted). An epsilons[] sweep reports
// the robust accuracy curve from one gradient per batch.
#ifndef CRUCIBLE_ENGINES_ATTACK_FGSM_H_
#define CRUCIBLE_ENGINES_ATTACK_FGSM_H_

#include "engines/engine.h"

namespace crucible {

class FgsmEngine final : public Engine {
 public:
  std::string_view name() const override { return "fgsm"; }
  absl::Status Validate(const v1::JobSpec& spec, const Model& model, const Dataset* dataset) const override;
  absl::StatusOr<v1::Report> Run(const v1::JobSpec& spec, JobContext& context) const override;
};

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_ATTACK_FGSM_H_
