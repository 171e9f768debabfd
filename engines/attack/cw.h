// CwEngine ("cw"): the Carlini & Wagner attacks (S&P 2017), which look for
// the smallest perturbation that flips each decision rather than testing a
// fixed epsilon: CW-L2 (CarliniWagnerL2, the default norm) or CW-L-inf
// (CarliniWagnerLinf), batched across examples, untargeted (at the label, or
// the model's own prediction when the dataset has none) or targeted (fixed
// target_class, or each example's least likely class with -1).
//
// Config (CwConfig; 0 or unset means the norm's reference default):
//   L2:   learning_rate 0.01, binary_search_steps 9, max_iterations 10000,
//         initial_const 0.001, confidence 0, abort_early true;
//   LINF: learning_rate 0.005, max_iterations 1000, initial_const 1e-5
//         (doubled up to 20), confidence 0, abort_early true;
//   batch_size 64; preprocess and threads as every engine.
// The report is the AttackReport of AttackReportBuilder: every adversarial is
// re-classified by a forward pass, and mean/median L2 and L-inf are over the
// successful examples; artifacts as every attack (adversarial_examples.npy and .png).
#ifndef CRUCIBLE_ENGINES_ATTACK_CW_H_
#define CRUCIBLE_ENGINES_ATTACK_CW_H_

#include "engines/engine.h"

namespace crucible {

class CwEngine final : public Engine {
 public:
  std::string_view name() const override { return "cw"; }
  absl::Status Validate(const v1::JobSpec& spec, const Model& model, const Dataset* dataset) const override;
  absl::StatusOr<v1::Report> Run(const v1::JobSpec& spec, JobContext& context) const override;
};

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_ATTACK_CW_H_
