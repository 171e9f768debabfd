// STRIP (Gao et al., 2019): a trojaned input keeps its (target) prediction
// whatever clean image is superimposed on it, so the predictions over N
// superimposed copies have low entropy; a clean input's prediction wanders.
// Each input is blended with N randomly chosen clean images (pixel sum,
// clipped to the pixel range), and its score is the mean Shannon entropy
// (nats) of the N softmax outputs. The rejection threshold is the entropy
// quantile of the clean calibration inputs at the chosen false-rejection rate;
// inputs below it are rejected.
//
//   StripOptions options{.overlays = 100, .false_rejection_rate = 0.01};
//   ASSIGN_OR_RETURN(StripResult r, RunStrip(*loss, clean_pixels, checked_pixels, options, cancelled));
//   r.rejected[i]   // checked input i looks trojaned
#ifndef CRUCIBLE_ENGINES_BACKDOOR_STRIP_H_
#define CRUCIBLE_ENGINES_BACKDOOR_STRIP_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "engines/attack/loss_gradient.h"
#include "engines/core/tensor.h"

namespace crucible {

struct StripOptions {
  int overlays = 100;
  double false_rejection_rate = 0.01;
  uint64_t seed = 1;
};

struct StripResult {
  double threshold = 0;
  double calibration_rejection_rate = 0;  // Share of clean inputs below the threshold.
  std::vector<double> entropies;          // Per checked input.
  std::vector<bool> rejected;
};

// `clean` and `checked` hold pixels [N, example...]. REQUIRES: clean has at
// least 2 rows. `progress` gets the fraction done.
absl::StatusOr<StripResult> RunStrip(LossGradient& loss, const Tensor& clean, const Tensor& checked,
                                     const StripOptions& options, const std::function<bool()>& cancelled,
                                     const std::function<void(double)>& progress);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_BACKDOOR_STRIP_H_
