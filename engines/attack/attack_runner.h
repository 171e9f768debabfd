// The dataset loop every gradient attack shares (fgsm, pgd): batches,
// labels (the dataset's, or the model's own predictions when it has none),
// targets (fixed, or each example's least likely class), one attack per
// epsilon of a sweep, progress and cancellation, the AttackReport with its
// per-example records, per-class breakdown, curve and sanity warnings, and
// the adversarial examples of the reported epsilon as an NPY artifact.
// Attacks work on pixels (dataset values times preprocess.scale, clipped to
// [clip_min, clip_max], default [0, 1]): epsilons, norms and the artifact are
// in those units.
#ifndef CRUCIBLE_ENGINES_ATTACK_ATTACK_RUNNER_H_
#define CRUCIBLE_ENGINES_ATTACK_ATTACK_RUNNER_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "crucible/v1/jobs.pb.h"
#include "engines/attack/loss_gradient.h"
#include "engines/engine.h"

namespace crucible {

struct AttackSetup {
  v1::Norm norm = v1::LINF;
  std::vector<float> epsilons;  // The report's main figures are for the last one.
  bool targeted = false;
  int64_t target_class = -1;    // With targeted; -1: each example's least likely class.
  v1::Preprocess preprocess;
  int threads = 0;              // 0: the job's budget.

  // From the `epsilon`, `epsilons`, `norm`, `targeted`, `target_class`,
  // `preprocess` and `threads` fields every attack config shares.
  template <typename Config>
  static AttackSetup From(const Config& config) {
    AttackSetup setup;
    setup.norm = config.norm() == v1::NORM_UNSPECIFIED ? v1::LINF : config.norm();
    setup.epsilons.assign(config.epsilons().begin(), config.epsilons().end());
    if (setup.epsilons.empty()) setup.epsilons.push_back(config.epsilon());
    setup.targeted = config.targeted();
    setup.target_class = config.target_class();
    setup.preprocess = config.preprocess();
    setup.threads = config.threads();
    return setup;
  }
};

// INVALID_ARGUMENT naming the field: no dataset, epsilons <= 0 or not finite,
// a target class the model does not have, a bad preprocess block.
absl::Status ValidateAttackSetup(const AttackSetup& setup, const std::string& engine, const Model& model,
                                 const Dataset* dataset);

// Adversarial versions of the clean batch `x` for one epsilon. `gradient` is
// d sum CE(f(x), attack_labels) / dx at x. Targeted attacks descend towards
// attack_labels, untargeted ones ascend away from them. `seed` differs per
// batch and is fixed for a given job seed.
using AttackStep = std::function<absl::StatusOr<Tensor>(
    LossGradient& loss, const Tensor& x, const Tensor& gradient, const std::vector<int64_t>& attack_labels,
    float epsilon, uint64_t seed)>;

absl::StatusOr<v1::Report> RunAttack(const AttackSetup& setup, const std::string& engine, uint64_t seed,
                                     const AttackStep& attack, JobContext& context);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_ATTACK_ATTACK_RUNNER_H_
