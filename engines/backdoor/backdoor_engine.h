// BackdoorEngine ("backdoor"): is there a trojan in the model? Runs the
// methods the config selects over the job's dataset:
//  - NEURAL_CLEANSE: reverse-engineers a trigger per label from the first
//    nc_samples examples (treated as clean inputs), labels in parallel within
//    the thread budget; MAD anomaly index over mask L1 norms; the reversed
//    masks and patterns are artifacts (nc_masks.npy [L,H,W], nc_patterns.npy,
//    and nc_triggers.png: per label its mask and mask * pattern).
//  - STRIP: the first strip_clean_examples examples are the trusted clean
//    split (overlays and threshold); the remaining examples are checked and
//    rejected ones reported as flagged_inputs (dataset indices).
//  - ACTIVATION_CLUSTERING / SPECTRAL_SIGNATURES: the dataset is the training
//    set (labels required); per-class analysis of the penultimate-layer
//    activations; flagged_samples are dataset indices.
// flagged_classes: labels flagged by Neural Cleanse, Activation Clustering or
// Spectral Signatures (sorted, unique).
#ifndef CRUCIBLE_ENGINES_BACKDOOR_BACKDOOR_ENGINE_H_
#define CRUCIBLE_ENGINES_BACKDOOR_BACKDOOR_ENGINE_H_

#include "engines/engine.h"

namespace crucible {

class BackdoorEngine final : public Engine {
 public:
  std::string_view name() const override { return "backdoor"; }
  absl::Status Validate(const v1::JobSpec& spec, const Model& model, const Dataset* dataset) const override;
  absl::StatusOr<v1::Report> Run(const v1::JobSpec& spec, JobContext& context) const override;
};

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_BACKDOOR_BACKDOOR_ENGINE_H_
