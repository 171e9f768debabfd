// UnlearnableEngine ("unlearnable"): is a labelled dataset poisoned to be
// unlearnable (Huang et al. 2021 error-minimizing noise; Sadasivan et al. 2023
// CUDA class-wise convolutions)? Such poisons plant a class-wise shortcut that
// tiny models pick up implausibly well. Two tests on a seeded split of the
// data (the job's model is not used):
//  - learnability: a linear softmax model and a 2-layer MLP trained from
//    scratch (engines/backdoor/tiny_classifier.h); held-out accuracy above
//    accuracy_ceiling (0.95: above what such models reach on natural image
//    data — a linear model gets about 92% on MNIST, 84% on Fashion-MNIST)
//    is suspicious. The per-epoch curve shows how fast it got there.
//  - spectrum (aimed at CUDA): the same linear model on each image's log power
//    spectrum. A class-wise convolution multiplies every image's spectrum by
//    its class's filter response, an additive class-wise offset in the log
//    spectrum; natural classes differ mostly in phase (shape). The ratio of
//    spectrum to pixel held-out accuracy (both averaged over 4 splits) above
//    spectral_ratio_threshold (0.89; about 0.83 on clean Fashion-MNIST, 0.93
//    on its CUDA-poisoned version) is suspicious.
// score = max(accuracy / accuracy_ceiling, spectral_ratio / threshold);
// verdict SUSPICIOUS when score >= 1.
#ifndef CRUCIBLE_ENGINES_BACKDOOR_UNLEARNABLE_ENGINE_H_
#define CRUCIBLE_ENGINES_BACKDOOR_UNLEARNABLE_ENGINE_H_

#include "engines/engine.h"

namespace crucible {

class UnlearnableEngine final : public Engine {
 public:
  std::string_view name() const override { return "unlearnable"; }
  absl::Status Validate(const v1::JobSpec& spec, const Model& model, const Dataset* dataset) const override;
  absl::StatusOr<v1::Report> Run(const v1::JobSpec& spec, JobContext& context) const override;
};

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_BACKDOOR_UNLEARNABLE_ENGINE_H_
