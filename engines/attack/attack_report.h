// AttackReportBuilder: the AttackReport and artifacts every attack engine
// (fgsm, pgd, cw) produces from its per-batch outcomes: per-example records,
// clean and robust accuracy, success rate, mean/median L2 and L-inf of the
// successful perturbations, the per-class breakdown, and the adversarial
// examples as the `adversarial_examples.npy` artifact, and for picture inputs
// `adversarial_examples.png` (original | perturbation | adversarial rows,
// see example_grid.h). Engine-specific parts
// (sweep curves, sanity warnings) are added to the report by the caller.
//
// Success: targeted, the adversarial is classified as its target; untargeted,
// the clean input was classified correctly and the adversarial is not. The
// success rate counts targeted attacks over every example, untargeted ones
// over the correctly classified examples. Norms are in pixel units.
//
//   AttackReportBuilder builder(model, data.num_examples(), targeted);
//   builder.Add(begin, x, adversarial, labels, attack_labels, clean_pred, adv_logits);  // per batch
//   RETURN_IF_ERROR(builder.Finish(*report.mutable_attack(), context));
#ifndef CRUCIBLE_ENGINES_ATTACK_ATTACK_REPORT_H_
#define CRUCIBLE_ENGINES_ATTACK_ATTACK_REPORT_H_

#include <vector>

#include "absl/status/status.h"
#include "crucible/v1/engines.pb.h"
#include "engines/core/model.h"
#include "engines/core/tensor.h"
#include "engines/engine.h"

namespace crucible {

// The class each example is attacked with: its label when untargeted; when
// targeted, target_class, or the example's least likely class when
// target_class is negative.
std::vector<int64_t> AttackLabels(const std::vector<int64_t>& labels, const Tensor& clean_logits, bool targeted,
                                  int64_t target_class);

class AttackReportBuilder {
 public:
  // [pixel_low, pixel_high]: the valid pixel range, drawn black to white.
  AttackReportBuilder(const Model& model, int64_t num_examples, bool targeted, float pixel_low = 0.0f,
                      float pixel_high = 1.0f);

  // Examples begin .. begin + x.dim(0) - 1: clean pixels x, their adversarial
  // versions, true labels (or the model's clean predictions when the dataset
  // has none), attack labels (the targets when targeted), the clean
  // predictions and the adversarial logits. Appends their records to `report`.
  void Add(int64_t begin, const Tensor& x, const Tensor& adversarial, const std::vector<int64_t>& labels,
           const std::vector<int64_t>& attack_labels, const std::vector<int64_t>& clean_predictions,
           const Tensor& adversarial_logits, v1::AttackReport& report);

  // Sets the summary fields of `report` and writes the artifacts. Call once,
  // after every example was added.
  absl::Status Finish(v1::AttackReport& report, JobContext& context);

 private:
  bool targeted_;
  int64_t num_examples_;
  int64_t per_example_;
  int64_t clean_correct_ = 0, robust_correct_ = 0, successes_ = 0, attempts_ = 0;
  std::vector<double> l2s_, linfs_;
  std::vector<int64_t> class_total_, class_clean_, class_robust_;
  Tensor adversarial_all_;
  Tensor clean_all_;
  std::vector<int64_t> labels_all_, predictions_all_;
  float pixel_low_, pixel_high_;
};

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_ATTACK_ATTACK_REPORT_H_
