#include "engines/backdoor/backdoor_engine.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "engines/attack/example_grid.h"
#include "engines/backdoor/activation_clustering.h"
#include "engines/backdoor/neural_cleanse.h"
#include "engines/backdoor/spectral_signatures.h"
#include "engines/backdoor/strip.h"
#include "engines/core/batched_forward.h"
#include "engines/core/npy.h"
#include "engines/core/status_macros.h"
#include "engines/preprocess.h"

namespace crucible {
namespace {

using Method = v1::BackdoorConfig::Method;

constexpr int kDefaultNcSteps = 300;
constexpr int kDefaultNcBatch = 32;
constexpr int kDefaultNcSamples = 500;
constexpr int kDefaultOverlays = 100;
constexpr int64_t kStripBatch = 100;
constexpr int64_t kActivationBatch = 128;

template <typename T>
T Or(T value, T fallback) {
  return value > 0 ? value : fallback;
}

std::vector<Method> Methods(const v1::BackdoorConfig& config) {
  std::vector<Method> methods;
  for (int m : config.methods()) {
    if (std::find(methods.begin(), methods.end(), Method(m)) == methods.end()) methods.push_back(Method(m));
  }
  if (methods.empty()) methods.push_back(v1::BackdoorConfig::NEURAL_CLEANSE);
  return methods;
}

bool Uses(const std::vector<Method>& methods, Method m) {
  return std::find(methods.begin(), methods.end(), m) != methods.end();
}

int64_t StripCleanExamples(const v1::BackdoorConfig& config, int64_t n) {
  return config.strip_clean_examples() > 0 ? config.strip_clean_examples() : n / 2;
}

// Raw dataset rows [begin, end) as pixels in the model's input shape.
absl::StatusOr<Tensor> Pixels(const Dataset& data, const Model& model, const Preprocessor& prep, int64_t begin,
                              int64_t end) {
  ASSIGN_OR_RETURN(Tensor x, FitToModelInput(data.inputs.Slice(begin, end), model));
  prep.ToPixels(x);
  return x;
}

// Thread-safe progress for the parallel Neural Cleanse workers.
class SharedProgress {
 public:
  SharedProgress(JobContext& context, double begin, double end) : context_(context), begin_(begin), end_(end) {}
  void Report(double fraction, std::string_view stage, std::string_view message) {
    std::lock_guard<std::mutex> lock(mu_);
    context_.ReportProgress(begin_ + (end_ - begin_) * fraction, stage, message);
  }

 private:
  JobContext& context_;
  double begin_, end_;
  std::mutex mu_;
};

absl::Status RunNeuralCleanse(const v1::BackdoorConfig& config, JobContext& context, int threads, double begin,
                              double end, v1::BackdoorReport& out) {
  const Model& model = context.model();
  const Dataset& data = *context.dataset();
  const int64_t samples = std::min<int64_t>(data.num_examples(), Or(config.nc_samples(), kDefaultNcSamples));
  const Preprocessor prep(config.preprocess());
  ASSIGN_OR_RETURN(const Tensor clean, Pixels(data, model, prep, 0, samples));
  std::vector<int64_t> labels(config.nc_labels().begin(), config.nc_labels().end());
  if (labels.empty()) {
    for (int64_t c = 0; c < model.num_classes(); ++c) labels.push_back(c);
  }
  NeuralCleanseOptions options;
  options.steps = Or(config.nc_steps(), kDefaultNcSteps);
  options.init_cost = Or(config.nc_init_cost(), options.init_cost);
  options.learning_rate = Or(config.nc_learning_rate(), options.learning_rate);
  options.success_threshold = Or(config.nc_success_threshold(), options.success_threshold);
  options.seed = config.seed();
  const int64_t batch = std::min<int64_t>(samples, Or(config.nc_batch_size(), kDefaultNcBatch));

  std::vector<absl::StatusOr<ReversedTrigger>> triggers(labels.size(), absl::UnknownError("not run"));
  std::atomic<size_t> next{0};
  std::atomic<int64_t> finished{0};
  SharedProgress progress(context, begin, end);
  auto cancelled = [&context] { return context.Cancelled(); };
  const int workers = std::max(1, std::min<int>(threads, labels.size()));
  auto work = [&] {
    auto loss = LossGradient::Create(model, config.preprocess(), batch, 1);
    for (size_t i = next++; i < labels.size(); i = next++) {
      if (!loss.ok()) {
        triggers[i] = loss.status();
        continue;
      }
      triggers[i] = ReverseTrigger(**loss, clean, labels[i], options, cancelled);
      const int64_t done = ++finished;
      progress.Report(double(done) / labels.size(), "neural_cleanse",
                      absl::StrCat("label ", labels[i], " reversed (", done, " of ", labels.size(), ")"));
    }
  };
  std::vector<std::thread> pool;
  for (int w = 1; w < workers; ++w) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();

  std::vector<double> l1;
  for (const auto& t : triggers) {
    RETURN_IF_ERROR(t.status());
    l1.push_back(t->mask_l1);
  }
  const MadOutliers outliers = MadAnomalyIndices(l1);
  const Shape mask_shape = triggers[0]->mask.shape(), pattern_shape = triggers[0]->pattern.shape();
  Shape all_masks = mask_shape, all_patterns = pattern_shape;
  all_masks.insert(all_masks.begin(), labels.size());
  all_patterns.insert(all_patterns.begin(), labels.size());
  Tensor masks(all_masks), patterns(all_patterns);
  std::vector<int64_t> flagged;
  for (size_t i = 0; i < labels.size(); ++i) {
    const ReversedTrigger& t = *triggers[i];
    std::copy(t.mask.data(), t.mask.data() + t.mask.num_elements(), masks.data() + i * t.mask.num_elements());
    std::copy(t.pattern.data(), t.pattern.data() + t.pattern.num_elements(),
              patterns.data() + i * t.pattern.num_elements());
    v1::BackdoorClass* row = out.add_classes();
    row->set_label(labels[i]);
    row->set_anomaly_index(outliers.anomaly_index[i]);
    row->set_mask_l1(t.mask_l1);
    row->set_attack_success_rate(t.attack_success_rate);
    row->set_flagged(outliers.flagged[i]);
    if (outliers.flagged[i]) flagged.push_back(labels[i]);
  }
  for (int64_t c : flagged) out.add_flagged_classes(c);
  out.add_evidence(absl::StrFormat(
      "neural cleanse: %d labels reversed (%d steps each); %s", labels.size(), options.steps,
      flagged.empty() ? std::string("no label needs an anomalously small trigger")
                      : absl::StrCat("labels ", absl::StrJoin(flagged, ", "),
                                     " need an anomalously small trigger (anomaly index > 2)")));
  RETURN_IF_ERROR(context.WriteArtifact("nc_masks.npy", "application/x-npy", SerializeNpy(FromTensor(masks))));
  RETURN_IF_ERROR(context.WriteArtifact("nc_patterns.npy", "application/x-npy", SerializeNpy(FromTensor(patterns))));
  // A picture per label: the mask (white = trigger area) and mask * pattern.
  Shape one_example = pattern_shape;
  one_example.insert(one_example.begin(), 1);
  const absl::StatusOr<ImageShape> picture = ImageShapeOf(one_example);
  if (!picture.ok()) return absl::OkStatus();  // Flat inputs are not pictures; the NPYs say it all.
  const Preprocessor pixels_range(config.preprocess());
  std::vector<GridImage> cells;
  for (size_t i = 0; i < labels.size(); ++i) {
    const ReversedTrigger& t = *triggers[i];
    const int64_t positions = t.mask.num_elements(), values = t.pattern.num_elements();
    GridImage mask_cell{.values = std::vector<float>(values), .caption = absl::StrCat(labels[i]),
                        .highlight = outliers.flagged[i]};
    GridImage trigger_cell{.values = std::vector<float>(values), .low = pixels_range.clip_min(),
                           .high = pixels_range.clip_max(), .caption = absl::StrFormat("%.1f", t.mask_l1)};
    for (int64_t k = 0; k < values; ++k) {
      const float m = t.mask.at(k % positions);
      mask_cell.values[k] = m;
      trigger_cell.values[k] = pixels_range.clip_min() + m * (t.pattern.at(k) - pixels_range.clip_min());
    }
    cells.push_back(std::move(mask_cell));
    cells.push_back(std::move(trigger_cell));
  }
  ASSIGN_OR_RETURN(const std::string png, ImageGridPng(*picture, cells, 2));
  return context.WriteArtifact("nc_triggers.png", "image/png", png);
}

absl::Status RunStripMethod(const v1::BackdoorConfig& config, JobContext& context, int threads, double begin,
                            double end, v1::BackdoorReport& out) {
  const Model& model = context.model();
  const Dataset& data = *context.dataset();
  const int64_t n = data.num_examples(), n_clean = StripCleanExamples(config, n);
  const Preprocessor prep(config.preprocess());
  ASSIGN_OR_RETURN(const Tensor clean, Pixels(data, model, prep, 0, n_clean));
  ASSIGN_OR_RETURN(const Tensor checked, Pixels(data, model, prep, n_clean, n));
  StripOptions options;
  options.overlays = Or(config.strip_overlays(), kDefaultOverlays);
  options.false_rejection_rate = config.strip_false_rejection_rate() > 0 ? config.strip_false_rejection_rate() : 0.01;
  options.seed = config.seed();
  ASSIGN_OR_RETURN(auto loss, LossGradient::Create(model, config.preprocess(),
                                                   std::min<int64_t>(kStripBatch, options.overlays), threads));
  ASSIGN_OR_RETURN(const StripResult result,
                   RunStrip(*loss, clean, checked, options, [&context] { return context.Cancelled(); },
                            [&](double f) {
                              context.ReportProgress(begin + (end - begin) * f, "strip", "superimposing");
                            }));
  v1::StripFindings& strip = *out.mutable_strip();
  strip.set_entropy_threshold(result.threshold);
  strip.set_false_rejection_rate(result.calibration_rejection_rate);
  strip.set_clean_examples(n_clean);
  strip.set_checked_inputs(n - n_clean);
  strip.set_overlays(options.overlays);
  int64_t rejected = 0;
  for (size_t i = 0; i < result.entropies.size(); ++i) {
    strip.add_entropies(result.entropies[i]);
    if (result.rejected[i]) {
      out.add_flagged_inputs(n_clean + int64_t(i));
      ++rejected;
    }
  }
  out.add_evidence(absl::StrFormat(
      "strip: %d of %d checked inputs keep a low-entropy prediction under %d overlays (threshold %.4f nats, "
      "%.1f%% of the %d clean inputs below it)",
      rejected, n - n_clean, options.overlays, result.threshold, 100 * result.calibration_rejection_rate, n_clean));
  return absl::OkStatus();
}

// Penultimate-layer activations of every dataset example, grouped by label.
absl::StatusOr<std::vector<Matrix>> ActivationsByClass(const v1::BackdoorConfig& config, JobContext& context,
                                                       int threads, std::vector<std::vector<int64_t>>& indices) {
  const Model& model = context.model();
  const Dataset& data = *context.dataset();
  std::string name = config.activation();
  if (name.empty()) name = model.OutputsOfType("Relu").back();
  const int64_t n = data.num_examples();
  ASSIGN_OR_RETURN(auto executor, Executor::Create(model, {.batch_size = std::min(n, kActivationBatch),
                                                           .num_threads = threads}));
  const Preprocessor prep(config.preprocess());
  std::vector<Matrix> by_class(model.num_classes());
  indices.assign(model.num_classes(), {});
  for (int64_t begin = 0; begin < n; begin += executor->batch_size()) {
    if (context.Cancelled()) return absl::CancelledError("backdoor cancelled");
    const int64_t end = std::min(n, begin + executor->batch_size());
    ASSIGN_OR_RETURN(Tensor x, FitToModelInput(data.inputs.Slice(begin, end), model));
    prep.Apply(x);
    absl::flat_hash_map<std::string, Tensor> values;
    RETURN_IF_ERROR(executor->Forward(x, {name}, &values).status());
    const Tensor& a = values.at(name);
    const int64_t width = a.num_elements() / (end - begin);
    for (int64_t r = begin; r < end; ++r) {
      Matrix& m = by_class[data.labels[r]];
      m.cols = width;
      ++m.rows;
      m.values.insert(m.values.end(), a.data() + (r - begin) * width, a.data() + (r - begin + 1) * width);
      indices[data.labels[r]].push_back(r);
    }
  }
  return by_class;
}

}  // namespace

absl::Status BackdoorEngine::Validate(const v1::JobSpec& spec, const Model& model, const Dataset* dataset) const {
  const v1::BackdoorConfig& config = spec.backdoor();
  if (dataset == nullptr) return absl::InvalidArgumentError("backdoor needs a dataset (spec.dataset_id)");
  for (int i = 0; i < config.methods_size(); ++i) {
    const int m = config.methods(i);
    if (m == v1::BackdoorConfig::METHOD_UNSPECIFIED || !v1::BackdoorConfig::Method_IsValid(m)) {
      return absl::InvalidArgumentError(absl::StrCat("backdoor.methods[", i, "] must be NEURAL_CLEANSE, STRIP, ",
                                                     "ACTIVATION_CLUSTERING or SPECTRAL_SIGNATURES, got ", m));
    }
  }
  if (!(config.poison_fraction() >= 0 && config.poison_fraction() <= 0.5)) {
    return absl::InvalidArgumentError(
        absl::StrCat("backdoor.poison_fraction must be in (0, 0.5] (0: 0.25), got ", config.poison_fraction()));
  }
  if (config.threads() < 0) return absl::InvalidArgumentError("backdoor.threads must not be negative");
  for (const auto& [value, field] : {std::pair{config.nc_steps(), "nc_steps"}, {config.nc_batch_size(), "nc_batch_size"},
                                     {config.nc_samples(), "nc_samples"}, {config.strip_overlays(), "strip_overlays"},
                                     {config.strip_clean_examples(), "strip_clean_examples"},
                                     {config.ac_dims(), "ac_dims"}}) {
    if (value < 0) return absl::InvalidArgumentError(absl::StrCat("backdoor.", field, " must not be negative"));
  }
  for (const auto& [value, field] :
       {std::pair{config.nc_init_cost(), "nc_init_cost"}, {config.nc_learning_rate(), "nc_learning_rate"},
        {config.ac_size_threshold(), "ac_size_threshold"}, {config.ss_skewness_threshold(), "ss_skewness_threshold"},
        {config.ac_silhouette_threshold(), "ac_silhouette_threshold"}}) {
    if (!(value >= 0) || !std::isfinite(value)) {
      return absl::InvalidArgumentError(absl::StrCat("backdoor.", field, " must be a non-negative number"));
    }
  }
  if (!(config.nc_success_threshold() >= 0 && config.nc_success_threshold() <= 1)) {
    return absl::InvalidArgumentError("backdoor.nc_success_threshold must be in [0, 1]");
  }
  if (!(config.strip_false_rejection_rate() >= 0 && config.strip_false_rejection_rate() < 1)) {
    return absl::InvalidArgumentError("backdoor.strip_false_rejection_rate must be in [0, 1)");
  }
  for (int i = 0; i < config.nc_labels_size(); ++i) {
    if (config.nc_labels(i) < 0 || config.nc_labels(i) >= model.num_classes()) {
      return absl::InvalidArgumentError(absl::StrCat("backdoor.nc_labels[", i, "] = ", config.nc_labels(i),
                                                     " is not one of the model's ", model.num_classes(), " classes"));
    }
  }
  RETURN_IF_ERROR(ValidatePreprocess(config.preprocess(), model.ExampleShape()));
  RETURN_IF_ERROR(CheckDatasetFitsModel(*dataset, model));
  const std::vector<Method> methods = Methods(config);
  if (Uses(methods, v1::BackdoorConfig::NEURAL_CLEANSE) && config.nc_labels_size() == 1) {
    return absl::InvalidArgumentError("backdoor.nc_labels needs at least 2 labels for the MAD outlier test");
  }
  if (Uses(methods, v1::BackdoorConfig::STRIP)) {
    const int64_t n = dataset->num_examples(), n_clean = StripCleanExamples(config, n);
    if (n_clean < 2 || n_clean >= n) {
      return absl::InvalidArgumentError(absl::StrCat(
          "backdoor.strip_clean_examples must leave at least 2 clean and 1 checked example of the dataset's ", n));
    }
  }
  for (Method m : {v1::BackdoorConfig::ACTIVATION_CLUSTERING, v1::BackdoorConfig::SPECTRAL_SIGNATURES}) {
    if (!Uses(methods, m)) continue;
    if (!dataset->has_labels()) {
      return absl::InvalidArgumentError(absl::StrCat("backdoor.methods ", v1::BackdoorConfig::Method_Name(m),
                                                     " needs the training set's labels (dataset labels)"));
    }
    if (config.activation().empty() && model.OutputsOfType("Relu").empty()) {
      return absl::FailedPreconditionError(
          "the model has no Relu whose output could serve as the penultimate layer; set backdoor.activation");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Report> BackdoorEngine::Run(const v1::JobSpec& spec, JobContext& context) const {
  const v1::BackdoorConfig& config = spec.backdoor();
  const int threads = config.threads() > 0 ? std::min(config.threads(), context.threads()) : context.threads();
  const std::vector<Method> methods = Methods(config);
  v1::Report report;
  v1::BackdoorReport& out = *report.mutable_backdoor();
  std::set<int64_t> flagged_classes, flagged_samples;
  for (size_t k = 0; k < methods.size(); ++k) {
    const double begin = double(k) / methods.size(), end = double(k + 1) / methods.size();
    switch (methods[k]) {
      case v1::BackdoorConfig::NEURAL_CLEANSE:
        RETURN_IF_ERROR(RunNeuralCleanse(config, context, threads, begin, end, out));
        flagged_classes.insert(out.flagged_classes().begin(), out.flagged_classes().end());
        break;
      case v1::BackdoorConfig::STRIP:
        RETURN_IF_ERROR(RunStripMethod(config, context, threads, begin, end, out));
        break;
      case v1::BackdoorConfig::ACTIVATION_CLUSTERING:
      case v1::BackdoorConfig::SPECTRAL_SIGNATURES: {
        std::vector<std::vector<int64_t>> indices;
        ASSIGN_OR_RETURN(const std::vector<Matrix> by_class, ActivationsByClass(config, context, threads, indices));
        const bool clustering = methods[k] == v1::BackdoorConfig::ACTIVATION_CLUSTERING;
        int64_t method_samples = 0;
        std::vector<int64_t> method_classes;
        for (size_t c = 0; c < by_class.size(); ++c) {
          if (context.Cancelled()) return absl::CancelledError("backdoor cancelled");
          if (by_class[c].rows == 0) continue;
          std::vector<int64_t> flagged;
          if (clustering) {
            ActivationClusteringOptions options;
            options.dims = Or(config.ac_dims(), options.dims);
            options.size_threshold = Or<double>(config.ac_size_threshold(), options.size_threshold);
            options.silhouette_threshold = Or<double>(config.ac_silhouette_threshold(), options.silhouette_threshold);
            options.seed = config.seed() + 1;
            v1::ClusterFindings* f = out.add_activation_clustering();
            *f = ClusterClassActivations(c, by_class[c], indices[c], options);
            flagged.assign(f->flagged_samples().begin(), f->flagged_samples().end());
            if (f->flagged()) method_classes.push_back(c);
          } else {
            SpectralSignatureOptions options;
            options.poison_fraction = Or<double>(config.poison_fraction(), options.poison_fraction);
            options.skewness_threshold = Or<double>(config.ss_skewness_threshold(), options.skewness_threshold);
            options.seed = config.seed() + 1;
            v1::SpectralFindings* f = out.add_spectral_signatures();
            *f = ScoreClassSpectrum(c, by_class[c], indices[c], options);
            flagged.assign(f->flagged_samples().begin(), f->flagged_samples().end());
            if (f->flagged()) method_classes.push_back(c);
          }
          flagged_samples.insert(flagged.begin(), flagged.end());
          method_samples += flagged.size();
          context.ReportProgress(begin + (end - begin) * double(c + 1) / by_class.size(),
                                 clustering ? "activation_clustering" : "spectral_signatures",
                                 absl::StrCat("class ", c));
        }
        flagged_classes.insert(method_classes.begin(), method_classes.end());
        out.add_evidence(absl::StrFormat(
            "%s: %d samples flagged in %s", clustering ? "activation clustering" : "spectral signatures",
            method_samples,
            method_classes.empty() ? std::string("no class") : absl::StrCat("classes ", absl::StrJoin(method_classes, ", "))));
        break;
      }
      default:
        return absl::InvalidArgumentError(absl::StrCat("backdoor.methods: unknown method ", methods[k]));
    }
  }
  out.clear_flagged_classes();
  for (int64_t c : flagged_classes) out.add_flagged_classes(c);
  for (int64_t i : flagged_samples) out.add_flagged_samples(i);
  context.ReportProgress(1.0, "done", "");
  return report;
}

}  // namespace crucible
