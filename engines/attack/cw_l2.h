// CarliniWagnerL2: the L2 attack of Carlini & Wagner (S&P 2017) on one batch,
// step for step as Carlini's reference l2_attack.py:
//   - x' = tanh(w0 + modifier) * mul + plus (TanhBox, 0.999999 factor), so x'
//     stays in the pixel range; the distance is ||x' - x0||^2 with x0 the
//     box-mapped original;
//   - minimise ||x' - x0||^2 + c * margin(x') (MarginGradient, kappa =
//     confidence) with TF's Adam, the modifier and Adam reset at every
//     binary-search step; an iteration's loss and x' are those before its
//     update;
//   - abort early: every max(1, max_iterations / 10) iterations an example
//     stops once its loss is above 0.9999 times its loss at the previous
//     check. The reference decides this for its whole batch, whose default
//     size is 1; deciding per example keeps that meaning at any batch size
//     and makes each example's result independent of its batch;
//   - an iteration's x' is a success when argmax of the logits with Z_t
//     shifted by -kappa (targeted) / +kappa (untargeted) is (not) t; the
//     smallest-L2 success is kept per binary step and over the search;
//   - c per example: on success upper = min(upper, c), c = (lower + upper) / 2;
//     on failure lower = max(lower, c) and c = (lower + upper) / 2 once an
//     upper bound exists, else c *= 10; with >= 10 binary steps the last one
//     runs at c = upper (the reference's `repeat`).
// Examples without any success come back unchanged.
//
//   CwL2Options options;                  // the reference defaults
//   ASSIGN_OR_RETURN(Tensor adversarial,
//                    CarliniWagnerL2(*margin, x, targets, options, [&](double) { return !cancelled; }));
#ifndef CRUCIBLE_ENGINES_ATTACK_CW_L2_H_
#define CRUCIBLE_ENGINES_ATTACK_CW_L2_H_

#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "engines/attack/margin_gradient.h"
#include "engines/core/tensor.h"

namespace crucible {

struct CwL2Options {
  float confidence = 0.0f;
  float learning_rate = 0.01f;
  int binary_search_steps = 9;
  int max_iterations = 10000;
  float initial_const = 1e-3f;
  bool abort_early = true;
  bool targeted = false;
};

// Called before every iteration with the fraction of the batch's iterations
// done so far; returning false stops the attack with CANCELLED.
using CwProgress = std::function<bool(double fraction)>;

// Adversarial versions of pixels x [n, ...] (n <= margin.batch_size()) attacked
// with targets[i] (the label when untargeted).
absl::StatusOr<Tensor> CarliniWagnerL2(MarginGradient& margin, const Tensor& x, const std::vector<int64_t>& targets,
                                       const CwL2Options& options, const CwProgress& progress);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_ATTACK_CW_L2_H_
