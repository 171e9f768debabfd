// EvaluateEngine ("evaluate"): clean accuracy, per-class accuracy and the
// confusion matrix of the model on a labelled dataset, computed batch by
// batch on the core executor with progress and cancellation per batch.
// Artifact: predictions.npy, the predicted class of every example (int64 [N]).
#ifndef CRUCIBLE_ENGINES_EVALUATE_EVALUATE_ENGINE_H_
#define CRUCIBLE_ENGINES_EVALUATE_EVALUATE_ENGINE_H_

#include "engines/engine.h"

namespace crucible {

class EvaluateEngine final : public Engine {
 public:
  std::string_view name() const override { return "evaluate"; }
  absl::Status Validate(const v1::JobSpec& spec, const Model& model, const Dataset* dataset) const override;
  absl::StatusOr<v1::Report> Run(const v1::JobSpec& spec, JobContext& context) const override;
};

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_EVALUATE_EVALUATE_ENGINE_H_
