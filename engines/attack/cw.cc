#include "engines/attack/cw.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "engines/attack/attack_report.h"
#include "engines/attack/cw_l2.h"
#include "engines/attack/cw_linf.h"
#include "engines/attack/margin_gradient.h"
#include "engines/core/batched_forward.h"
#include "engines/core/status_macros.h"
#include "engines/preprocess.h"

namespace crucible {
namespace {

constexpr int64_t kDefaultBatch = 64;
constexpr int64_t kMaxBatch = 4096;
constexpr int kMaxBinarySteps = 1000;
constexpr int kMaxIterations = 1000000;

v1::Norm NormOf(const v1::CwConfig& config) {
  return config.norm() == v1::NORM_UNSPECIFIED ? v1::L2 : config.norm();
}

// A config number that must be 0 (the default) or positive and finite.
absl::Status CheckPositiveOrDefault(float value, const char* field) {
  if (value >= 0 && std::isfinite(value)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("cw.", field, " must be a positive number (0: the default), got ",
                                                 value));
}

CwL2Options L2Options(const v1::CwConfig& config) {
  CwL2Options options;
  options.confidence = config.confidence();
  if (config.learning_rate() > 0) options.learning_rate = config.learning_rate();
  if (config.binary_search_steps() > 0) options.binary_search_steps = config.binary_search_steps();
  if (config.max_iterations() > 0) options.max_iterations = config.max_iterations();
  if (config.initial_const() > 0) options.initial_const = config.initial_const();
  options.abort_early = !config.has_abort_early() || config.abort_early();
  options.targeted = config.targeted();
  return options;
}

CwLinfOptions LinfOptions(const v1::CwConfig& config) {
  CwLinfOptions options;
  options.confidence = config.confidence();
  if (config.learning_rate() > 0) options.learning_rate = config.learning_rate();
  if (config.max_iterations() > 0) options.max_iterations = config.max_iterations();
  if (config.initial_const() > 0) options.initial_const = config.initial_const();
  options.abort_early = !config.has_abort_early() || config.abort_early();
  options.targeted = config.targeted();
  return options;
}

}  // namespace

absl::Status CwEngine::Validate(const v1::JobSpec& spec, const Model& model, const Dataset* dataset) const {
  const v1::CwConfig& config = spec.cw();
  if (dataset == nullptr) return absl::InvalidArgumentError("cw needs a dataset (spec.dataset_id)");
  const v1::Norm norm = NormOf(config);
  if (norm != v1::L2 && norm != v1::LINF) {
    return absl::InvalidArgumentError(absl::StrCat("cw.norm ", config.norm(), " is not L2 or LINF"));
  }
  if (!(config.confidence() >= 0) || !std::isfinite(config.confidence())) {
    return absl::InvalidArgumentError(
        absl::StrCat("cw.confidence (kappa) must be a non-negative number, got ", config.confidence()));
  }
  RETURN_IF_ERROR(CheckPositiveOrDefault(config.learning_rate(), "learning_rate"));
  RETURN_IF_ERROR(CheckPositiveOrDefault(config.initial_const(), "initial_const"));
  if (config.binary_search_steps() < 0 || config.binary_search_steps() > kMaxBinarySteps) {
    return absl::InvalidArgumentError(
        absl::StrCat("cw.binary_search_steps must be between 0 (default 9) and ", kMaxBinarySteps));
  }
  if (config.max_iterations() < 0 || config.max_iterations() > kMaxIterations) {
    return absl::InvalidArgumentError(absl::StrCat("cw.max_iterations must be between 0 (default ",
                                                   norm == v1::L2 ? 10000 : 1000, ") and ", kMaxIterations));
  }
  if (config.targeted() && (config.target_class() < -1 || config.target_class() >= model.num_classes())) {
    return absl::InvalidArgumentError(absl::StrCat("cw.target_class ", config.target_class(),
                                                   " is not -1 (least likely) or one of the model's ",
                                                   model.num_classes(), " classes"));
  }
  if (config.threads() < 0) return absl::InvalidArgumentError("cw.threads must not be negative");
  if (config.batch_size() < 0 || config.batch_size() > kMaxBatch) {
    return absl::InvalidArgumentError(absl::StrCat("cw.batch_size must be between 0 (default ", kDefaultBatch,
                                                   ") and ", kMaxBatch));
  }
  RETURN_IF_ERROR(ValidatePreprocess(config.preprocess(), model.ExampleShape()));
  return CheckDatasetFitsModel(*dataset, model);
}

absl::StatusOr<v1::Report> CwEngine::Run(const v1::JobSpec& spec, JobContext& context) const {
  const v1::CwConfig& config = spec.cw();
  const Model& model = context.model();
  const Dataset& data = *context.dataset();
  const int64_t n = data.num_examples();
  const int threads = config.threads() > 0 ? std::min(config.threads(), context.threads()) : context.threads();
  const int64_t batch = std::min(n, config.batch_size() > 0 ? int64_t{config.batch_size()} : kDefaultBatch);
  ASSIGN_OR_RETURN(auto margin, MarginGradient::Create(model, config.preprocess(), batch, threads));
  const v1::Norm norm = NormOf(config);
  const std::string stage = norm == v1::L2 ? "cw-l2" : "cw-linf";

  v1::Report report;
  v1::AttackReport& out = *report.mutable_attack();
  AttackReportBuilder builder(model, n, config.targeted(), margin->preprocessor().clip_min(),
                              margin->preprocessor().clip_max());
  const int64_t batches = (n + margin->batch_size() - 1) / margin->batch_size();
  for (int64_t b = 0; b < batches; ++b) {
    const int64_t begin = b * margin->batch_size(), end = std::min(n, begin + margin->batch_size());
    ASSIGN_OR_RETURN(Tensor x, FitToModelInput(data.inputs.Slice(begin, end), model));
    margin->preprocessor().ToPixels(x);
    ASSIGN_OR_RETURN(const Tensor clean_logits, margin->Logits(x));
    const std::vector<int64_t> clean_pred = ArgMaxRows(clean_logits);
    std::vector<int64_t> labels(clean_pred);
    if (data.has_labels()) labels.assign(data.labels.begin() + begin, data.labels.begin() + end);
    const std::vector<int64_t> targets = AttackLabels(labels, clean_logits, config.targeted(), config.target_class());
    const CwProgress progress = [&](double fraction) {
      if (context.Cancelled()) return false;
      context.ReportProgress((b + fraction) / batches, stage,
                             absl::StrCat("examples ", begin + 1, "-", end, " of ", n));
      return true;
    };
    absl::StatusOr<Tensor> adversarial =
        norm == v1::L2 ? CarliniWagnerL2(*margin, x, targets, L2Options(config), progress)
                       : CarliniWagnerLinf(*margin, x, targets, LinfOptions(config), progress);
    if (!adversarial.ok()) return adversarial.status();
    ASSIGN_OR_RETURN(const Tensor adversarial_logits, margin->Logits(*adversarial));
    builder.Add(begin, x, *adversarial, labels, targets, clean_pred, adversarial_logits, out);
    context.ReportProgress(double(b + 1) / batches, stage, absl::StrCat(end, " of ", n, " examples"));
  }
  RETURN_IF_ERROR(builder.Finish(out, context));
  return report;
}

}  // namespace crucible
