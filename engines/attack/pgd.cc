#include "engines/attack/pgd.h"

#include <map>
#include <random>

#include "absl/strings/str_format.h"

#include "engines/attack/attack_runner.h"
#include "engines/attack/perturbation.h"
#include "engines/core/batched_forward.h"
#include "engines/core/status_macros.h"

namespace crucible {
namespace {

constexpr int kDefaultSteps = 10;

struct ReachedCounts {
  int64_t examples = 0, fgsm = 0, pgd = 0;
};

// True where example i has reached the attack's goal.
std::vector<bool> Reached(const Tensor& logits, const std::vector<int64_t>& attack_labels, bool targeted) {
  const std::vector<int64_t> predicted = ArgMaxRows(logits);
  std::vector<bool> reached(predicted.size());
  for (size_t i = 0; i < predicted.size(); ++i) {
    reached[i] = targeted ? predicted[i] == attack_labels[i] : predicted[i] != attack_labels[i];
  }
  return reached;
}

// A uniformly random point of the epsilon ball around x (per example).
void RandomStart(Tensor& x, float epsilon, v1::Norm norm, std::mt19937_64& rng) {
  if (norm == v1::L2) {
    std::normal_distribution<float> normal;
    Tensor direction(x.shape());
    for (float& v : direction.values()) v = normal(rng);
    const int64_t n = x.num_elements() / x.dim(0);
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    for (int64_t i = 0; i < x.dim(0); ++i) {
      // Radius eps * u^(1/n) makes the point uniform in the ball.
      const float radius = static_cast<float>(epsilon * std::pow(uniform(rng), 1.0 / n));
      std::vector<bool> only(x.dim(0), false);
      only[i] = true;
      GradientStep(x, direction, radius, v1::L2, only);
    }
    return;
  }
  std::uniform_real_distribution<float> uniform(-epsilon, epsilon);
  for (float& v : x.values()) v += uniform(rng);
}

}  // namespace

absl::Status PgdEngine::Validate(const v1::JobSpec& spec, const Model& model, const Dataset* dataset) const {
  const v1::PgdConfig& config = spec.pgd();
  if (config.steps() < 0 || config.steps() > 100000) {
    return absl::InvalidArgumentError("pgd.steps must be between 0 (default 10) and 100000");
  }
  if (!(config.step_size() >= 0) || !std::isfinite(config.step_size())) {
    return absl::InvalidArgumentError("pgd.step_size must be a non-negative number (0: 2.5 * epsilon / steps)");
  }
  if (config.restarts() < 0 || config.restarts() > 1000) {
    return absl::InvalidArgumentError("pgd.restarts must be between 0 and 1000");
  }
  return ValidateAttackSetup(AttackSetup::From(config), "pgd", model, dataset);
}

absl::StatusOr<v1::Report> PgdEngine::Run(const v1::JobSpec& spec, JobContext& context) const {
  const v1::PgdConfig& config = spec.pgd();
  const AttackSetup setup = AttackSetup::From(config);
  const int steps = config.steps() > 0 ? config.steps() : kDefaultSteps;
  const int restarts = std::max(1, config.restarts());
  // Per epsilon, examples whose attack goal single-step FGSM and PGD reach
  // (AutoAttack's sanity check: PGD must not be weaker than its own first step).
  std::map<float, ReachedCounts> reached_counts;
  const AttackStep step = [&](LossGradient& loss, const Tensor& x, const Tensor& clean_gradient,
                              const std::vector<int64_t>& attack_labels, float epsilon,
                              uint64_t seed) -> absl::StatusOr<Tensor> {
    const float alpha = config.step_size() > 0 ? config.step_size() : 2.5f * epsilon / steps;
    const float low = loss.preprocessor().clip_min(), high = loss.preprocessor().clip_max();
    Tensor fgsm = x;
    GradientStep(fgsm, clean_gradient, setup.targeted ? -epsilon : epsilon, setup.norm);
    ClipToRange(fgsm, low, high);
    ASSIGN_OR_RETURN(const Tensor fgsm_logits, loss.Logits(fgsm));
    ReachedCounts& counts = reached_counts[epsilon];
    counts.examples += x.dim(0);
    for (bool r : Reached(fgsm_logits, attack_labels, setup.targeted)) counts.fgsm += r;
    std::mt19937_64 rng(seed);
    Tensor best = x;
    std::vector<bool> best_reached(x.dim(0), false);
    for (int r = 0; r < restarts; ++r) {
      Tensor current = x;
      if (config.random_start()) {
        RandomStart(current, epsilon, setup.norm, rng);
        ProjectToBall(current, x, epsilon, setup.norm);
        ClipToRange(current, low, high);
      }
      for (int k = 0; k < steps; ++k) {
        if (context.Cancelled()) return absl::CancelledError("pgd cancelled");
        Tensor logits;
        ASSIGN_OR_RETURN(const Tensor gradient, loss.Gradient(current, attack_labels, &logits));
        std::vector<bool> active = Reached(logits, attack_labels, setup.targeted);
        active.flip();
        if (std::none_of(active.begin(), active.end(), [](bool a) { return a; })) break;
        GradientStep(current, gradient, setup.targeted ? -alpha : alpha, setup.norm, active);
        ProjectToBall(current, x, epsilon, setup.norm);
        ClipToRange(current, low, high);
      }
      ASSIGN_OR_RETURN(const Tensor logits, loss.Logits(current));
      const std::vector<bool> reached = Reached(logits, attack_labels, setup.targeted);
      const int64_t per_example = x.num_elements() / x.dim(0);
      for (int64_t i = 0; i < x.dim(0); ++i) {
        if (best_reached[i] || (r > 0 && !reached[i])) continue;
        std::copy(current.data() + i * per_example, current.data() + (i + 1) * per_example,
                  best.data() + i * per_example);
        best_reached[i] = reached[i];
      }
    }
    for (bool r : best_reached) counts.pgd += r;
    return best;
  };
  ASSIGN_OR_RETURN(v1::Report report, RunAttack(setup, "pgd", config.seed(), step, context));
  for (const auto& [epsilon, counts] : reached_counts) {
    if (counts.pgd >= counts.fgsm) continue;
    const std::string goal = setup.targeted ? "reaches its target on" : "misclassifies";
    report.mutable_attack()->add_warnings(absl::StrFormat(
        "PGD is weaker than single-step FGSM at epsilon %g: it %s %d of %d examples, FGSM %d; the step size is "
        "too small, the steps too few, or the gradients are masked: the robust accuracy is overstated",
        epsilon, goal, counts.pgd, counts.examples, counts.fgsm));
  }
  return report;
}

}  // namespace crucible
