// Neural Cleanse (Wang et al., S&P 2019): for one label, reverse-engineer the
// smallest trigger (mask m shared over channels, pattern p) such that
// (1 - m)·x + m·p sends clean inputs x to that label; then the MAD outlier
// test over all labels' mask L1 norms. A backdoored label needs a much smaller
// trigger than the others.
//
// Reference parameters: mask = tanh(w)/2 + 0.5, pattern = range·(tanh(v)/2 + 0.5),
// Adam lr 0.1 betas (0.5, 0.9), loss = CE(f(x'), label) + cost·|m|₁, the cost
// starts at init_cost and is multiplied by 2 after 5 rounds in a row at or
// above the success threshold and divided by 2^1.5 after 5 rounds below it
// (a round is 10 steps); the smallest mask reaching the threshold is kept.
// Anomaly index = |L1 − median| / (1.4826·MAD); labels below the median with
// index > 2 are flagged.
//
//   NeuralCleanseOptions options{.steps = 300};
//   ASSIGN_OR_RETURN(ReversedTrigger t, ReverseTrigger(*loss, clean_pixels, label, options, cancelled));
//   MadOutliers outliers = MadAnomalyIndices(l1_norms);
#ifndef CRUCIBLE_ENGINES_BACKDOOR_NEURAL_CLEANSE_H_
#define CRUCIBLE_ENGINES_BACKDOOR_NEURAL_CLEANSE_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "engines/attack/loss_gradient.h"
#include "engines/core/tensor.h"

namespace crucible {

struct NeuralCleanseOptions {
  int steps = 300;
  float init_cost = 1e-3f;
  float learning_rate = 0.1f;
  float success_threshold = 0.99f;
  uint64_t seed = 1;
};

struct ReversedTrigger {
  int64_t label = 0;
  Tensor mask;                     // [H, W] in [0, 1] (flat models: [features]).
  Tensor pattern;                  // Example shape, in pixels.
  double mask_l1 = 0;
  double attack_success_rate = 0;  // Over all clean inputs.
};

// `clean` holds pixels [N, example...]; each step uses loss.batch_size() of
// them. CANCELLED when `cancelled` returns true (checked every step).
absl::StatusOr<ReversedTrigger> ReverseTrigger(LossGradient& loss, const Tensor& clean, int64_t label,
                                               const NeuralCleanseOptions& options,
                                               const std::function<bool()>& cancelled);

struct MadOutliers {
  std::vector<double> anomaly_index;
  std::vector<bool> flagged;  // Below the median and index > 2.
};

MadOutliers MadAnomalyIndices(const std::vector<double>& l1_norms);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_BACKDOOR_NEURAL_CLEANSE_H_
