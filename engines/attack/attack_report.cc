#include "engines/attack/attack_report.h"

#include <algorithm>
#include <cmath>

#include "engines/attack/example_grid.h"
#include "engines/attack/perturbation.h"
#include "engines/core/batched_forward.h"
#include "engines/core/npy.h"
#include "engines/core/status_macros.h"

namespace crucible {
namespace {

constexpr int kGridRows = 16;

double Mean(const std::vector<double>& values) {
  double sum = 0;
  for (double v : values) sum += v;
  return values.empty() ? 0.0 : sum / values.size();
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

// Softmax probability of class c in row r of logits.
double Probability(const Tensor& logits, int64_t r, int64_t c) {
  const int64_t classes = logits.num_elements() / logits.dim(0);
  const float* row = logits.data() + r * classes;
  const float top = *std::max_element(row, row + classes);
  double total = 0;
  for (int64_t k = 0; k < classes; ++k) total += std::exp(double(row[k]) - top);
  return std::exp(double(row[c]) - top) / total;
}

}  // namespace

std::vector<int64_t> AttackLabels(const std::vector<int64_t>& labels, const Tensor& clean_logits, bool targeted,
                                  int64_t target_class) {
  if (!targeted) return labels;
  const int64_t classes = clean_logits.num_elements() / clean_logits.dim(0);
  std::vector<int64_t> attack_labels(labels.size(), target_class);
  for (size_t i = 0; i < labels.size() && target_class < 0; ++i) {
    const float* row = clean_logits.data() + i * classes;
    attack_labels[i] = std::min_element(row, row + classes) - row;
  }
  return attack_labels;
}

AttackReportBuilder::AttackReportBuilder(const Model& model, int64_t num_examples, bool targeted, float pixel_low,
                                         float pixel_high)
    : targeted_(targeted),
      num_examples_(num_examples),
      per_example_(NumElements(model.ExampleShape())),
      class_total_(model.num_classes(), 0),
      class_clean_(model.num_classes(), 0),
      class_robust_(model.num_classes(), 0),
      labels_all_(num_examples, 0),
      predictions_all_(num_examples, 0),
      pixel_low_(pixel_low),
      pixel_high_(pixel_high) {
  Shape all_shape = model.InputShape(1);
  all_shape[0] = num_examples;
  adversarial_all_ = Tensor(model.has_batch_dimension() ? all_shape : Shape{num_examples, per_example_});
  clean_all_ = Tensor(adversarial_all_.shape());
}

void AttackReportBuilder::Add(int64_t begin, const Tensor& x, const Tensor& adversarial,
                              const std::vector<int64_t>& labels, const std::vector<int64_t>& attack_labels,
                              const std::vector<int64_t>& clean_predictions, const Tensor& adversarial_logits,
                              v1::AttackReport& report) {
  std::copy(adversarial.data(), adversarial.data() + adversarial.num_elements(),
            adversarial_all_.data() + begin * per_example_);
  std::copy(x.data(), x.data() + x.num_elements(), clean_all_.data() + begin * per_example_);
  const std::vector<int64_t> adversarial_predictions = ArgMaxRows(adversarial_logits);
  for (int64_t i = 0; i < x.dim(0); ++i) {
    const int64_t predicted = adversarial_predictions[i];
    labels_all_[begin + i] = labels[i];
    predictions_all_[begin + i] = predicted;
    const bool correct = clean_predictions[i] == labels[i];
    const bool success = targeted_ ? predicted == attack_labels[i] : correct && predicted != labels[i];
    attempts_ += targeted_ || correct;
    successes_ += success;
    clean_correct_ += correct;
    robust_correct_ += predicted == labels[i];
    ++class_total_[labels[i]];
    class_clean_[labels[i]] += correct;
    class_robust_[labels[i]] += predicted == labels[i];
    v1::AttackExample* example = report.add_examples();
    example->set_index(begin + i);
    example->set_label(labels[i]);
    example->set_clean_prediction(clean_predictions[i]);
    example->set_adversarial_prediction(predicted);
    example->set_success(success);
    example->set_l2(L2Distance(adversarial, x, i));
    example->set_linf(LinfDistance(adversarial, x, i));
    example->set_confidence(Probability(adversarial_logits, i, predicted));
    if (success) {
      l2s_.push_back(example->l2());
      linfs_.push_back(example->linf());
    }
  }
}

absl::Status AttackReportBuilder::Finish(v1::AttackReport& report, JobContext& context) {
  report.set_clean_accuracy(double(clean_correct_) / num_examples_);
  report.set_robust_accuracy(double(robust_correct_) / num_examples_);
  report.set_success_rate(attempts_ == 0 ? 0.0 : double(successes_) / attempts_);
  report.set_mean_l2(Mean(l2s_));
  report.set_mean_linf(Mean(linfs_));
  report.set_median_l2(Median(l2s_));
  report.set_median_linf(Median(linfs_));
  for (size_t c = 0; c < class_total_.size(); ++c) {
    if (class_total_[c] == 0) continue;
    v1::ClassRobustness* row = report.add_per_class();
    row->set_label(c);
    row->set_clean_accuracy(double(class_clean_[c]) / class_total_[c]);
    row->set_robust_accuracy(double(class_robust_[c]) / class_total_[c]);
  }
  RETURN_IF_ERROR(context.WriteArtifact("adversarial_examples.npy", "application/x-npy",
                                        SerializeNpy(FromTensor(adversarial_all_))));
  if (!ImageShapeOf(clean_all_.shape()).ok() || num_examples_ == 0) return absl::OkStatus();
  ASSIGN_OR_RETURN(const std::string grid, AttackGridPng(clean_all_, adversarial_all_, labels_all_, predictions_all_,
                                                         kGridRows, pixel_low_, pixel_high_));
  return context.WriteArtifact("adversarial_examples.png", "image/png", grid);
}

}  // namespace crucible
