// PgdEngine ("pgd"): projected gradient descent (Madry et al. 2018) in the
// L-inf or L2 ball: `steps` gradient steps of `step_size` (sign steps for
// L-inf, normalised steps for L2), each followed by projection onto the
// epsilon ball and the valid input range. An example stops moving once it is
// misclassified (untargeted) or classified as the target. With random_start,
// each of `restarts` runs starts from a seeded uniform point of the ball and
// the first run that succeeds is kept per example. Defaults: 10 steps, step
// size 2.5 * epsilon / steps.
#ifndef CRUCIBLE_ENGINES_ATTACK_PGD_H_
#define CRUCIBLE_ENGINES_ATTACK_PGD_H_

#include "engines/engine.h"

namespace crucible {

class PgdEngine final : public Engine {
 public:
  std::string_view name() const override { return "pgd"; }
  absl::Status Validate(const v1::JobSpec& spec, const Model& model, const Dataset* dataset) const override;
  absl::StatusOr<v1::Report> Run(const v1::JobSpec& spec, JobContext& context) const override;
};

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_ATTACK_PGD_H_
