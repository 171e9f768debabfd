// CarliniWagnerLinf: the L-infinity attack of Carlini & Wagner (S&P 2017) on
// one batch, as Carlini's reference li_attack.py, each example with its own
// state:
//   - minimise c * margin(x') + sum_j max(0, |x'_j - x0_j| - tau) over
//     x' = tanh(w + modifier) * mul + plus (TanhBox, TF's Adam), starting
//     from w = the tanh-space image of the previous solution (warm start);
//   - a round ends in success once that loss is below 1e-4 * c (with
//     abort_early; otherwise only at a round's last iteration) and x' is
//     adversarial (IsAdversarialWithMargin; the reference takes the loss test
//     alone, which also accepts exact ties). Then tau becomes
//     min(tau, max_j |x'_j - x_j|) * 0.9, x' is the new solution, and the
//     modifier and Adam restart from it with the same c;
//   - max_iterations without success double c and go on from where the
//     modifier is; once c reaches largest_const the example is finished;
//   - tau starts at the width of the pixel range and the example is finished
//     once tau is at most 1/256 of it.
// Each example ends at its last solution, or unchanged when none was found.
//
//   CwLinfOptions options;                // the reference defaults
//   ASSIGN_OR_RETURN(Tensor adversarial, CarliniWagnerLinf(*margin, x, targets, options, progress));
#ifndef CRUCIBLE_ENGINES_ATTACK_CW_LINF_H_
#define CRUCIBLE_ENGINES_ATTACK_CW_LINF_H_

#include <vector>

#include "absl/status/statusor.h"
#include "engines/attack/cw_l2.h"
#include "engines/attack/margin_gradient.h"
#include "engines/core/tensor.h"

namespace crucible {

struct CwLinfOptions {
  float confidence = 0.0f;
  float learning_rate = 5e-3f;
  int max_iterations = 1000;
  float initial_const = 1e-5f;
  float largest_const = 20.0f;
  float const_factor = 2.0f;
  float decrease_factor = 0.9f;
  bool abort_early = true;
  bool targeted = false;
};

// Adversarial versions of pixels x [n, ...] (n <= margin.batch_size())
// attacked with targets[i] (the label when untargeted). `progress` gets a
// rough fraction done (tau's progress towards its floor, per example).
absl::StatusOr<Tensor> CarliniWagnerLinf(MarginGradient& margin, const Tensor& x, const std::vector<int64_t>& targets,
                                         const CwLinfOptions& options, const CwProgress& progress);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_ATTACK_CW_LINF_H_
