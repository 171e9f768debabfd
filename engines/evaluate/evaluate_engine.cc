#include "engines/evaluate/evaluate_engine.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "engines/core/batched_forward.h"
#include "engines/core/executor.h"
#include "engines/core/npy.h"
#include "engines/core/status_macros.h"
#include "engines/preprocess.h"

namespace crucible {
namespace {

constexpr int64_t kDefaultBatch = 256;

}  // namespace

absl::Status EvaluateEngine::Validate(const v1::JobSpec& spec, const Model& model, const Dataset* dataset) const {
  if (dataset == nullptr) return absl::InvalidArgumentError("evaluate needs a dataset (spec.dataset_id)");
  if (!dataset->has_labels()) return absl::InvalidArgumentError("evaluate needs a dataset with labels");
  const v1::EvaluateConfig& config = spec.evaluate();
  if (config.batch_size() < 0 || config.batch_size() > 4096) {
    return absl::InvalidArgumentError("evaluate.batch_size must be between 0 (default) and 4096");
  }
  if (config.threads() < 0) return absl::InvalidArgumentError("evaluate.threads must not be negative");
  RETURN_IF_ERROR(ValidatePreprocess(config.preprocess(), model.ExampleShape()));
  return CheckDatasetFitsModel(*dataset, model);
}

absl::StatusOr<v1::Report> EvaluateEngine::Run(const v1::JobSpec& spec, JobContext& context) const {
  const v1::EvaluateConfig& config = spec.evaluate();
  const Model& model = context.model();
  const Dataset& data = *context.dataset();
  const int64_t n = data.num_examples();
  const int64_t batch = std::min<int64_t>(n, config.batch_size() > 0 ? config.batch_size() : kDefaultBatch);
  const int threads = config.threads() > 0 ? std::min(config.threads(), context.threads()) : context.threads();
  ASSIGN_OR_RETURN(auto executor, Executor::Create(model, {.batch_size = model.has_batch_dimension() ? batch : 1,
                                                           .num_threads = threads}));
  const Preprocessor preprocess(config.preprocess());
  const int64_t classes = model.num_classes();
  std::vector<std::vector<int64_t>> confusion(classes, std::vector<int64_t>(classes, 0));
  std::vector<int64_t> predictions;
  predictions.reserve(n);
  for (int64_t begin = 0; begin < n; begin += executor->batch_size()) {
    if (context.Cancelled()) return absl::CancelledError("evaluation cancelled");
    const int64_t end = std::min(n, begin + executor->batch_size());
    ASSIGN_OR_RETURN(Tensor x, FitToModelInput(data.inputs.Slice(begin, end), model));
    preprocess.Apply(x);
    ASSIGN_OR_RETURN(Tensor logits, executor->Forward(x));
    const std::vector<int64_t> predicted = ArgMaxRows(logits);
    for (int64_t i = begin; i < end; ++i) ++confusion[data.labels[i]][predicted[i - begin]];
    predictions.insert(predictions.end(), predicted.begin(), predicted.end());
    context.ReportProgress(double(end) / n, "evaluate", absl::StrCat(end, " of ", n, " examples"));
  }

  RETURN_IF_ERROR(context.WriteArtifact("predictions.npy", "application/x-npy",
                                        SerializeNpy(FromLabels(predictions))));
  v1::Report report;
  v1::EvaluationReport& out = *report.mutable_evaluation();
  int64_t correct = 0;
  for (int64_t c = 0; c < classes; ++c) {
    int64_t row_total = 0;
    auto* row = out.mutable_confusion_matrix()->add_rows();
    for (int64_t p = 0; p < classes; ++p) {
      row->add_counts(confusion[c][p]);
      row_total += confusion[c][p];
    }
    correct += confusion[c][c];
    out.add_per_class_accuracy(row_total == 0 ? 0.0 : double(confusion[c][c]) / row_total);
  }
  out.set_num_examples(n);
  out.set_num_correct(correct);
  out.set_accuracy(double(correct) / n);
  return report;
}

}  // namespace crucible
