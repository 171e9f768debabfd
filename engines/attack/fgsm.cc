#include "engines/attack/fgsm.h"

#include "engines/attack/attack_runner.h"
#include "engines/attack/perturbation.h"

namespace crucible {

absl::Status FgsmEngine::Validate(const v1::JobSpec& spec, const Model& model, const Dataset* dataset) const {
  return ValidateAttackSetup(AttackSetup::From(spec.fgsm()), "fgsm", model, dataset);
}

absl::StatusOr<v1::Report> FgsmEngine::Run(const v1::JobSpec& spec, JobContext& context) const {
  const AttackSetup setup = AttackSetup::From(spec.fgsm());
  const AttackStep step = [&](LossGradient&, const Tensor& x, const Tensor& gradient, const std::vector<int64_t>&,
                              float epsilon, uint64_t) -> absl::StatusOr<Tensor> {
    Tensor adversarial = x;
    GradientStep(adversarial, gradient, setup.targeted ? -epsilon : epsilon, setup.norm);
    return adversarial;
  };
  return RunAttack(setup, "fgsm", spec.fgsm().seed(), step, context);
}

}  // namespace crucible
