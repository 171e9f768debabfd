#include "engines/backdoor/unlearnable_engine.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engines/backdoor/log_power_spectrum.h"
#include "engines/backdoor/tiny_classifier.h"
#include "engines/core/status_macros.h"
#include "engines/preprocess.h"

namespace crucible {
namespace {

constexpr double kDefaultHoldout = 0.3;
constexpr int kDefaultEpochs = 10;
constexpr int kDefaultHidden = 64;
constexpr double kDefaultLearningRate = 0.05;
constexpr double kDefaultCeiling = 0.95;
constexpr double kDefaultSpectralRatio = 0.89;
// The spectral ratio is averaged over this many splits (held-out blocks at
// different offsets of the shuffled rows): one split's ratio varies by ±0.04.
constexpr int kSpectralSplits = 4;
constexpr int64_t kMinExamples = 20;

template <typename T>
T Or(T value, T fallback) {
  return value > 0 ? value : fallback;
}

// Dataset examples as pixels, rows in `order`.
std::vector<float> PixelRows(const Dataset& data, const v1::Preprocess& preprocess, const std::vector<int64_t>& order) {
  Tensor pixels = data.inputs;
  Preprocessor(preprocess).Apply(pixels);
  const int64_t width = pixels.num_elements() / data.num_examples();
  std::vector<float> rows;
  rows.reserve(order.size() * width);
  for (int64_t i : order) rows.insert(rows.end(), pixels.data() + i * width, pixels.data() + (i + 1) * width);
  return rows;
}

}  // namespace

absl::Status UnlearnableEngine::Validate(const v1::JobSpec& spec, const Model& /*model*/, const Dataset* dataset) const {
  const v1::UnlearnableConfig& config = spec.unlearnable();
  if (dataset == nullptr) return absl::InvalidArgumentError("unlearnable needs a dataset (spec.dataset_id)");
  if (!dataset->has_labels()) return absl::InvalidArgumentError("unlearnable needs a dataset with labels");
  if (dataset->num_examples() < kMinExamples) {
    return absl::InvalidArgumentError(absl::StrCat("unlearnable needs at least ", kMinExamples, " examples"));
  }
  if (!(config.holdout_fraction() >= 0 && config.holdout_fraction() < 0.9)) {
    return absl::InvalidArgumentError("unlearnable.holdout_fraction must be in (0, 0.9) (0: 0.3)");
  }
  if (config.epochs() < 0 || config.epochs() > 1000) {
    return absl::InvalidArgumentError("unlearnable.epochs must be between 0 (default) and 1000");
  }
  if (config.hidden_units() < 0 || config.hidden_units() > 4096) {
    return absl::InvalidArgumentError("unlearnable.hidden_units must be between 0 (default) and 4096");
  }
  for (const auto& [value, field] : {std::pair{config.learning_rate(), "learning_rate"},
                                     {config.accuracy_ceiling(), "accuracy_ceiling"},
                                     {config.spectral_ratio_threshold(), "spectral_ratio_threshold"}}) {
    if (!(value >= 0) || !std::isfinite(value)) {
      return absl::InvalidArgumentError(absl::StrCat("unlearnable.", field, " must be a non-negative number"));
    }
  }
  if (config.accuracy_ceiling() > 1) return absl::InvalidArgumentError("unlearnable.accuracy_ceiling must be <= 1");
  if (config.threads() < 0) return absl::InvalidArgumentError("unlearnable.threads must not be negative");
  const int64_t max_label = *std::max_element(dataset->labels.begin(), dataset->labels.end());
  if (max_label > 10000) {
    return absl::InvalidArgumentError(absl::StrCat("unlearnable: label ", max_label, " is too large (at most 10000)"));
  }
  return ValidatePreprocess(config.preprocess(), dataset->ExampleShape());
}

absl::StatusOr<v1::Report> UnlearnableEngine::Run(const v1::JobSpec& spec, JobContext& context) const {
  const v1::UnlearnableConfig& config = spec.unlearnable();
  const Dataset& data = *context.dataset();
  const int64_t n = data.num_examples();
  const int64_t classes = *std::max_element(data.labels.begin(), data.labels.end()) + 1;
  const double holdout = Or<double>(config.holdout_fraction(), kDefaultHoldout);
  const int64_t train_rows = std::clamp<int64_t>(std::llround(n * (1 - holdout)), 1, n - 1);
  const double ceiling = Or<double>(config.accuracy_ceiling(), kDefaultCeiling);
  const double ratio_threshold = Or<double>(config.spectral_ratio_threshold(), kDefaultSpectralRatio);

  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(config.seed()));
  std::vector<int64_t> labels;
  for (int64_t i : order) labels.push_back(data.labels[i]);
  const std::vector<float> pixels = PixelRows(data, config.preprocess(), order);
  const int64_t width = pixels.size() / n;

  // Spectrum features: images are [C, H, W] (rank-2 examples are one channel).
  const Shape example = data.ExampleShape();
  std::vector<float> spectra;
  int64_t spectrum_width = 0;
  if (example.size() >= 2) {
    const int64_t h = example[example.size() - 2], w = example.back(), c = width / (h * w);
    for (int64_t r = 0; r < n; ++r) {
      if (r % 64 == 0 && context.Cancelled()) return absl::CancelledError("unlearnable cancelled");
      const std::vector<float> f = LogPowerSpectrum(pixels.data() + r * width, c, h, w);
      spectrum_width = f.size();
      spectra.insert(spectra.end(), f.begin(), f.end());
    }
  }

  TinyTrainOptions base;
  base.epochs = Or(config.epochs(), kDefaultEpochs);
  base.learning_rate = Or<float>(config.learning_rate(), kDefaultLearningRate);
  base.seed = config.seed() + 1;
  auto cancelled = [&context] { return context.Cancelled(); };
  struct Trial {
    std::string name;
    const std::vector<float>* features;
    int64_t width;
    int hidden;
  };
  std::vector<Trial> trials = {{"linear", &pixels, width, 0},
                               {"mlp", &pixels, width, Or(config.hidden_units(), kDefaultHidden)}};
  if (spectrum_width > 0) trials.push_back({"spectrum-linear", &spectra, spectrum_width, 0});

  v1::Report report;
  v1::UnlearnableReport& out = *report.mutable_unlearnable();
  out.set_train_examples(train_rows);
  out.set_heldout_examples(n - train_rows);
  std::vector<double> final_accuracy;
  // Progress counts trainings: one per trial, then two per further spectral split.
  const double trainings = trials.size() + (trials.size() == 3 ? 2 * (kSpectralSplits - 1) : 0);
  for (size_t t = 0; t < trials.size(); ++t) {
    context.ReportProgress(t / trainings, "train", absl::StrCat("training the ", trials[t].name, " model"));
    TinyTrainOptions options = base;
    options.hidden_units = trials[t].hidden;
    ASSIGN_OR_RETURN(const TinyTrainResult result, TrainTinyClassifier(*trials[t].features, trials[t].width, labels,
                                                                       classes, train_rows, options, cancelled));
    v1::LearnabilityResult* row = out.add_models();
    row->set_model(trials[t].name);
    for (double a : result.heldout_accuracy) row->add_heldout_accuracy(a);
    row->set_train_accuracy(result.train_accuracy);
    final_accuracy.push_back(result.heldout_accuracy.back());
  }

  double score = 0;
  for (size_t t = 0; t < 2; ++t) {
    const v1::LearnabilityResult& row = out.models(t);
    const double accuracy = final_accuracy[t];
    score = std::max(score, accuracy / ceiling);
    out.add_evidence(absl::StrFormat(
        "%s model: held-out accuracy %.3f after %d epochs (%.3f after the first); %s the %.2f natural-data ceiling",
        row.model(), accuracy, row.heldout_accuracy_size(), row.heldout_accuracy(0),
        accuracy >= ceiling ? "above" : "below", ceiling));
  }
  if (trials.size() == 3) {
    double pixel_total = final_accuracy[0], spectrum_total = final_accuracy[2];
    for (int split = 1; split < kSpectralSplits; ++split) {
      context.ReportProgress((trials.size() + 2 * (split - 1)) / trainings, "train",
                             absl::StrCat("spectral test, split ", split + 1, " of ", kSpectralSplits));
      const int64_t shift = split * n / kSpectralSplits;
      std::vector<int64_t> rotated_labels = labels;
      std::rotate(rotated_labels.begin(), rotated_labels.begin() + shift, rotated_labels.end());
      for (const auto& [features, features_width, total] :
           {std::tuple{&pixels, width, &pixel_total}, {&spectra, spectrum_width, &spectrum_total}}) {
        std::vector<float> rotated = *features;
        std::rotate(rotated.begin(), rotated.begin() + shift * features_width, rotated.end());
        TinyTrainOptions options = base;
        ASSIGN_OR_RETURN(const TinyTrainResult result, TrainTinyClassifier(std::move(rotated), features_width,
                                                                           rotated_labels, classes, train_rows,
                                                                           options, cancelled));
        *total += result.heldout_accuracy.back();
      }
    }
    const double ratio = pixel_total > 0 ? spectrum_total / pixel_total : 0;
    out.set_spectral_ratio(ratio);
    score = std::max(score, ratio / ratio_threshold);
    out.add_evidence(absl::StrFormat(
        "log power spectrum: mean held-out accuracy over %d splits %.3f, %.2f of the pixels' (%s the %.2f "
        "threshold: %s)",
        kSpectralSplits, spectrum_total / kSpectralSplits, ratio, ratio >= ratio_threshold ? "above" : "below", ratio_threshold,
        ratio >= ratio_threshold ? "class information sits in the frequency magnitudes, as class-wise filters put it"
                                 : "class information sits in the shapes, as in natural images"));
  }
  out.set_score(score);
  out.set_verdict(score >= 1 ? v1::UnlearnableReport::SUSPICIOUS : v1::UnlearnableReport::CLEAN);
  context.ReportProgress(1.0, "done", "");
  return report;
}

}  // namespace crucible
