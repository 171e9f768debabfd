#include "engines/attack/attack_runner.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engines/attack/perturbation.h"
#include "engines/core/batched_forward.h"
#include "engines/core/npy.h"
#include "engines/core/status_macros.h"

namespace crucible {
namespace {

constexpr int64_t kBatch = 64;

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

int64_t ArgMin(const Tensor& logits, int64_t r) {
  const int64_t classes = logits.num_elements() / logits.dim(0);
  const float* row = logits.data() + r * classes;
  return std::min_element(row, row + classes) - row;
}

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
  int64_t clean_correct = 0, successes = 0, attempts = 0, zero_gradients = 0;
  std::vector<double> l2s, linfs;
  const int64_t classes = model.num_classes();
  std::vector<int64_t> class_total(classes, 0), class_clean(classes, 0), class_robust(classes, 0);
  Shape all_shape = model.InputShape(1);
  all_shape[0] = n;
  Tensor adversarial_all(model.has_batch_dimension() ? all_shape : Shape{n, NumElements(model.ExampleShape())});
  const int64_t per_example = NumElements(model.ExampleShape());

  const int64_t batches = (n + loss->batch_size() - 1) / loss->batch_size();
  for (int64_t b = 0; b < batches; ++b) {
    const int64_t begin = b * loss->batch_size(), end = std::min(n, begin + loss->batch_size());
    ASSIGN_OR_RETURN(Tensor x, FitToModelInput(data.inputs.Slice(begin, end), model));
    loss->preprocessor().ToPixels(x);
    ASSIGN_OR_RETURN(const Tensor clean_logits, loss->Logits(x));
    const std::vector<int64_t> clean_pred = ArgMaxRows(clean_logits);
    std::vector<int64_t> labels(clean_pred), attack_labels;
    if (data.has_labels()) labels.assign(data.labels.begin() + begin, data.labels.begin() + end);
    for (int64_t i = 0; i < end - begin; ++i) {
      attack_labels.push_back(!setup.targeted ? labels[i]
                              : setup.target_class >= 0 ? setup.target_class
                                                        : ArgMin(clean_logits, i));
    }
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
      if (e + 1 != sweep) continue;
      // Per-example records for the reported epsilon.
      std::copy(adversarial.data(), adversarial.data() + adversarial.num_elements(),
                adversarial_all.data() + begin * per_example);
      for (int64_t i = 0; i < end - begin; ++i) {
        const bool correct = clean_pred[i] == labels[i];
        const bool success = setup.targeted ? adv_pred[i] == attack_labels[i] : correct && adv_pred[i] != labels[i];
        const bool counts = setup.targeted || correct;
        attempts += counts;
        successes += success;
        clean_correct += correct;
        ++class_total[labels[i]];
        class_clean[labels[i]] += correct;
        class_robust[labels[i]] += adv_pred[i] == labels[i];
        v1::AttackExample* example = out.add_examples();
        example->set_index(begin + i);
        example->set_label(labels[i]);
        example->set_clean_prediction(clean_pred[i]);
        example->set_adversarial_prediction(adv_pred[i]);
        example->set_success(success);
        example->set_l2(L2Distance(adversarial, x, i));
        example->set_linf(LinfDistance(adversarial, x, i));
        example->set_confidence(Probability(adv_logits, i, adv_pred[i]));
        if (success) {
          l2s.push_back(example->l2());
          linfs.push_back(example->linf());
        }
      }
    }
  }

  out.set_clean_accuracy(double(clean_correct) / n);
  out.set_robust_accuracy(double(robust.back()) / n);
  out.set_success_rate(attempts == 0 ? 0.0 : double(successes) / attempts);
  auto mean = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? 0.0 : s / v.size();
  };
  out.set_mean_l2(mean(l2s));
  out.set_mean_linf(mean(linfs));
  out.set_median_l2(Median(l2s));
  out.set_median_linf(Median(linfs));
  for (int64_t c = 0; c < classes; ++c) {
    if (class_total[c] == 0) continue;
    v1::ClassRobustness* row = out.add_per_class();
    row->set_label(c);
    row->set_clean_accuracy(double(class_clean[c]) / class_total[c]);
    row->set_robust_accuracy(double(class_robust[c]) / class_total[c]);
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
  RETURN_IF_ERROR(context.WriteArtifact("adversarial_examples.npy", "application/x-npy",
                                        SerializeNpy(FromTensor(adversarial_all))));
  return report;
}

}  // namespace crucible
