#include "engines/attack/attack_runner.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engines/attack/attack_report.h"
#include "engines/attack/perturbation.h"
#include "engines/core/batched_forward.h"
#include "engines/core/status_macros.h"

namespace crucible {
namespace {

constexpr int64_t kBatch = 64;

}  // namespace

absl::Status ValidateAttackSetup(const AttackSetup& setup, const std::string& engine, const Model& model,
                                 const Dataset* dataset) {
  if (dataset == nullptr) return absl::InvalidArgumentError(absl::StrCat(engine, " needs a dataset (spec.dataset_id)"));
  for (float epsilon : setup.epsilons) {
    if (!(epsilon > 0) || !std::isfinite(epsilon)) {
      return absl::InvalidArgumentError(absl::StrCat(engine, ".epsilon (or every value of ", engine,
                                                     ".epsilons) must be a positive number, got ", epsilon));
    }
  }
  if (setup.targeted && setup.target_class >= model.num_classes()) {
    return absl::InvalidArgumentError(absl::StrCat(engine, ".target_class ", setup.target_class,
                                                   " is not one of the model's ", model.num_classes(), " classes"));
  }
  if (setup.threads < 0) return absl::InvalidArgumentError(absl::StrCat(engine, ".threads must not be negative"));
  RETURN_IF_ERROR(ValidatePreprocess(setup.preprocess, model.ExampleShape()));
  return CheckDatasetFitsModel(*dataset, model);
}

absl::StatusOr<v1::Report> RunAttack(const AttackSetup& setup, const std::string& engine, uint64_t seed,
                                     const AttackStep& attack, JobContext& context) {
  const Model& model = context.model();
  const Dataset& data = *context.dataset();
  const int64_t n = data.num_examples();
  const int threads = setup.threads > 0 ? std::min(setup.threads, context.threads()) : context.threads();
  ASSIGN_OR_RETURN(auto loss, LossGradient::Create(model, setup.preprocess, std::min(n, kBatch), threads));
  const float clip_min = loss->preprocessor().clip_min(), clip_max = loss->preprocessor().clip_max();
  const size_t sweep = setup.epsilons.size();

  v1::Report report;
  v1::AttackReport& out = *report.mutable_attack();
  std::vector<int64_t> robust(sweep, 0);
  int64_t zero_gradients = 0;
  AttackReportBuilder builder(model, n, setup.targeted, clip_min, clip_max);
  const int64_t per_example = NumElements(model.ExampleShape());

  const int64_t batches = (n + loss->batch_size() - 1) / loss->batch_size();
  for (int64_t b = 0; b < batches; ++b) {
    const int64_t begin = b * loss->batch_size(), end = std::min(n, begin + loss->batch_size());
    ASSIGN_OR_RETURN(Tensor x, FitToModelInput(data.inputs.Slice(begin, end), model));
    loss->preprocessor().ToPixels(x);
    ASSIGN_OR_RETURN(const Tensor clean_logits, loss->Logits(x));
    const std::vector<int64_t> clean_pred = ArgMaxRows(clean_logits);
    std::vector<int64_t> labels(clean_pred);
    if (data.has_labels()) labels.assign(data.labels.begin() + begin, data.labels.begin() + end);
    const std::vector<int64_t> attack_labels = AttackLabels(labels, clean_logits, setup.targeted, setup.target_class);
    ASSIGN_OR_RETURN(const Tensor gradient, loss->Gradient(x, attack_labels, nullptr));
    for (int64_t i = 0; i < end - begin; ++i) {
      bool zero = true;
      for (int64_t j = 0; j < per_example && zero; ++j) zero = gradient.at(i * per_example + j) == 0.0f;
      zero_gradients += zero;
    }
    for (size_t e = 0; e < sweep; ++e) {
      if (context.Cancelled()) return absl::CancelledError(absl::StrCat(engine, " cancelled"));
      ASSIGN_OR_RETURN(Tensor adversarial,
                       attack(*loss, x, gradient, attack_labels, setup.epsilons[e], seed * 1000003 + b));
      ClipToRange(adversarial, clip_min, clip_max);
      ASSIGN_OR_RETURN(const Tensor adv_logits, loss->Logits(adversarial));
      const std::vector<int64_t> adv_pred = ArgMaxRows(adv_logits);
      for (int64_t i = 0; i < end - begin; ++i) robust[e] += adv_pred[i] == labels[i];
      context.ReportProgress(double(b * sweep + e + 1) / double(batches * sweep), engine,
                             absl::StrCat(end, " of ", n, " examples, epsilon ", setup.epsilons[e]));
      if (e + 1 == sweep) builder.Add(begin, x, adversarial, labels, attack_labels, clean_pred, adv_logits, out);
    }
  }

  if (sweep > 1) {
    for (size_t e = 0; e < sweep; ++e) {
      v1::CurvePoint* point = out.add_curve();
      point->set_epsilon(setup.epsilons[e]);
      point->set_robust_accuracy(double(robust[e]) / n);
    }
    for (size_t e = 1; e < sweep; ++e) {
      if (setup.epsilons[e] > setup.epsilons[e - 1] && robust[e] > robust[e - 1]) {
        out.add_warnings(absl::StrFormat(
            "robust accuracy rises from %.4f to %.4f as epsilon grows from %g to %g: the attack is not converging "
            "(possible gradient masking)",
            double(robust[e - 1]) / n, double(robust[e]) / n, setup.epsilons[e - 1], setup.epsilons[e]));
      }
    }
  }
  if (zero_gradients * 2 > n) {
    out.add_warnings(absl::StrFormat(
        "the loss gradient is exactly zero on %d of %d inputs: likely gradient masking (saturated or "
        "non-differentiable layers); gradient attacks understate the risk",
        zero_gradients, n));
  }
  RETURN_IF_ERROR(builder.Finish(out, context));
  return report;
}

}  // namespace crucible
