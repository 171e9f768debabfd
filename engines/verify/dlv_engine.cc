#include "engines/verify/dlv_engine.h"

#include <z3++.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "engines/attack/loss_gradient.h"
#include "engines/core/batched_forward.h"
#include "engines/core/status_macros.h"
#include "engines/pixel_input_map.h"
#include "engines/preprocess.h"
#include "engines/verify/dlv_features.h"
#include "engines/verify/dlv_ladder_search.h"
#include "engines/verify/dlv_layer_refinement.h"
#include "engines/verify/dlv_margin_bound.h"
#include "engines/verify/dlv_region.h"
#include "engines/verify/network.h"

namespace crucible {
namespace {

constexpr double kDefaultTimeoutSeconds = 60.0;
constexpr int kDefaultMaxFeatures = 4;
constexpr int kDefaultSteps = 2;
constexpr int kMaxDerivedSteps = 16;
constexpr int64_t kDefaultBudget = 20000;
constexpr int kDefaultMaxExamples = 10;
constexpr int64_t kBatch = 256;
// Margins at grid points come from float forward passes: a family is only
// called proved when its smallest margin beats the error bound by this much.
constexpr double kFloatMarginSlack = 1e-3;

// Everything fixed for one job.
struct Settings {
  double epsilon = 0;
  int max_features = kDefaultMaxFeatures;
  int feature_size = 1;
  bool by_gradient = true;
  int steps = 0;  // 0: derive
  double error_bound = 0;
  int64_t budget = kDefaultBudget;
  int max_examples = kDefaultMaxExamples;
  bool input_layer_only = false;
  uint64_t seed = 0;
};

Settings SettingsFrom(const v1::DlvConfig& config) {
  Settings s;
  s.epsilon = config.epsilon();
  if (config.max_features() > 0) s.max_features = config.max_features();
  if (config.feature_size() > 0) s.feature_size = config.feature_size();
  s.by_gradient = config.feature_selection() != v1::DlvConfig::ACTIVATION;
  s.steps = config.steps();
  s.error_bound = config.error_bound();
  if (config.max_manipulations() > 0) s.budget = config.max_manipulations();
  if (config.max_examples() > 0) s.max_examples = config.max_examples();
  s.input_layer_only = config.input_layer_only();
  s.seed = config.seed();
  return s;
}

// Model-input box of a pixel box.
LayerBox ToInputBox(const PixelInputMap& map, const LayerBox& pixels) {
  LayerBox box;
  map.MapBox(pixels.lower, pixels.upper, box.lower, box.upper);
  return box;
}

v1::VerificationResult ToResult(SmtAnswer answer) {
  switch (answer) {
    case SmtAnswer::kUnsat: return v1::UNSAT;
    case SmtAnswer::kSat: return v1::SAT;
    case SmtAnswer::kTimeout: return v1::TIMEOUT;
    default: return v1::UNKNOWN;
  }
}

// The box where only the features' dims vary (within `region`); every other dim sits at `center`.
LayerBox FamilyBox(const std::vector<double>& center, const LayerBox& region, const std::vector<Feature>& features) {
  LayerBox box{center, center};
  for (const Feature& f : features) {
    for (int64_t p : f.dims) {
      box.lower[p] = region.lower[p];
      box.upper[p] = region.upper[p];
    }
  }
  return box;
}

std::vector<Feature> ChooseFeatures(const Settings& s, const AffineNetwork& net, int k,
                                    const std::vector<double>& activation, const LayerBox& region, int64_t label,
                                    int64_t runner_up) {
  std::vector<bool> eligible(region.size());
  for (int64_t p = 0; p < region.size(); ++p) eligible[p] = region.upper[p] > region.lower[p];
  if (!s.by_gradient) return SelectFeatures(activation, {}, eligible, s.max_features, s.feature_size);
  const std::vector<double> gradient = MarginGradientFrom(net, k, activation, label, runner_up);
  std::vector<double> descent(gradient.size());
  for (size_t p = 0; p < gradient.size(); ++p) descent[p] = -gradient[p];
  return SelectFeatures(gradient, descent, eligible, s.max_features, s.feature_size);
}

// Steps per side: configured, or the fewest whose margin error bound is within error_bound.
int ChooseSteps(const Settings& s, const std::function<double(int)>& bound_for_steps) {
  if (s.steps > 0) return s.steps;
  if (s.error_bound <= 0) return kDefaultSteps;
  const double one = bound_for_steps(1);  // the bound scales as 1 / steps
  const int steps = static_cast<int>(std::ceil(one / s.error_bound));
  return std::clamp(steps, 1, kMaxDerivedSteps);
}

void FillFeatures(const std::vector<Feature>& features, const LayerBox& region, v1::DlvLayer& layer) {
  for (const Feature& f : features) {
    v1::DlvFeature& out = *layer.add_features();
    out.mutable_dims()->Add(f.dims.begin(), f.dims.end());
    out.mutable_orientation()->Add(f.orientation.begin(), f.orientation.end());
    layer.add_spans(region.upper[f.dims[0]] - region.lower[f.dims[0]]);
  }
}

std::string FeatureList(const std::vector<Feature>& features) {
  return absl::StrJoin(features, "; ", [](std::string* out, const Feature& f) {
    std::vector<std::string> dims;
    for (size_t d = 0; d < f.dims.size(); ++d) dims.push_back(absl::StrCat(f.orientation[d] > 0 ? "+" : "-", f.dims[d]));
    absl::StrAppend(out, "{", absl::StrJoin(dims, ","), "}");
  });
}

class Analysis {
 public:
  Analysis(const Settings& settings, const AffineNetwork& net, LossGradient& forward, const PixelInputMap& pixel_map,
           const Model& model, JobContext& context, absl::Time deadline, double progress_begin,
           double progress_width)
      : s_(settings),
        net_(net),
        forward_(forward),
        pixel_map_(pixel_map),
        model_(model),
        context_(context),
        deadline_(deadline),
        progress_begin_(progress_begin),
        progress_width_(progress_width) {}

  absl::Status Run(int64_t index, const std::vector<double>& pixels, v1::DlvReport& report);

 private:
  bool Stop() const { return context_.Cancelled() || absl::Now() >= deadline_; }
  void Progress(double within, const std::string& stage, const std::string& message) {
    context_.ReportProgress(progress_begin_ + progress_width_ * within, stage, message);
  }
  absl::StatusOr<Tensor> Logits(const std::vector<std::vector<double>>& points);
  absl::Status InputLayer(v1::DlvAnalysis& analysis, v1::DlvReport& report);
  absl::Status HiddenLayers(v1::DlvAnalysis& analysis, v1::DlvReport& report);

  const Settings& s_;
  const AffineNetwork& net_;
  LossGradient& forward_;
  const PixelInputMap& pixel_map_;
  const Model& model_;
  JobContext& context_;
  absl::Time deadline_;
  double progress_begin_, progress_width_;

  int64_t index_ = 0;
  int64_t label_ = 0, runner_up_ = 0;
  std::vector<double> pixels_;
  LayerBox pixel_box_;
  std::vector<std::vector<double>> activations_;
  std::vector<Feature> input_features_;
  bool input_stopped_ = false;
  int64_t input_misclassified_ = 0;
};

absl::StatusOr<Tensor> Analysis::Logits(const std::vector<std::vector<double>>& points) {
  // InputShape keeps an unbatched (rank-1) model's shape; LossGradient then evaluates one point at a time.
  Tensor batch(model_.InputShape(static_cast<int64_t>(points.size())));
  const size_t per = points.empty() ? 0 : points[0].size();
  for (size_t i = 0; i < points.size(); ++i) {
    for (size_t p = 0; p < per; ++p) batch.at(i * per + p) = static_cast<float>(points[i][p]);
  }
  return forward_.Logits(batch);
}

absl::Status Analysis::Run(int64_t index, const std::vector<double>& pixels, v1::DlvReport& report) {
  index_ = index;
  pixels_ = pixels;
  ASSIGN_OR_RETURN(const Tensor clean, Logits({pixels}));
  label_ = ArgMaxRows(clean)[0];
  std::vector<double> clean_logits(clean.values().begin(), clean.values().end());
  runner_up_ = RunnerUp(clean_logits, label_);
  const float clip_min = forward_.preprocessor().clip_min(), clip_max = forward_.preprocessor().clip_max();
  pixel_box_.lower.resize(pixels.size());
  pixel_box_.upper.resize(pixels.size());
  for (size_t p = 0; p < pixels.size(); ++p) {
    pixel_box_.lower[p] = std::min(std::max(pixels[p] - s_.epsilon, static_cast<double>(clip_min)), pixels[p]);
    pixel_box_.upper[p] = std::max(std::min(pixels[p] + s_.epsilon, static_cast<double>(clip_max)), pixels[p]);
  }
  activations_ = LayerActivations(net_, pixel_map_.Apply(pixels));

  v1::DlvAnalysis& analysis = *report.add_analyses();
  analysis.set_input_index(index);
  analysis.set_label(label_);
  analysis.set_epsilon(s_.epsilon);
  RETURN_IF_ERROR(InputLayer(analysis, report));
  if (!s_.input_layer_only && !input_stopped_) RETURN_IF_ERROR(HiddenLayers(analysis, report));
  if (context_.Cancelled()) return absl::CancelledError("dlv cancelled");

  // What holds, most specific first.
  const std::string region = absl::StrFormat(
      "the L-inf box of radius %g (pixels) around input %d, clipped to [%g, %g]", s_.epsilon, index, clip_min, clip_max);
  const std::string family = absl::StrFormat(
      "the manipulation family moving %d feature(s) [%s] (dims with orientation) by up to their span in %d step(s) "
      "per side (grid step %g pixels, %d grid points)",
      input_features_.size(), FeatureList(input_features_),
      analysis.steps(), analysis.step(), analysis.grid_points());
  std::string proved;
  if (analysis.adversarial_examples() > 0) {
    analysis.set_result(v1::SAT);
    proved = absl::StrFormat("NOT SAFE: %d re-checked adversarial example(s) of class != %d in %s, found in %s",
                             analysis.adversarial_examples(), label_, region, family);
  } else if (analysis.region_proved()) {
    analysis.set_result(v1::UNSAT);
    proved = absl::StrFormat(
        "SAFE: every point of %s is classified %d (Z3: each layer's region up to layer %d covers the image of the "
        "previous one, and no point of layer %d's region changes the class)",
        region, label_, analysis.region_proved_at_layer(), analysis.region_proved_at_layer());
  } else if (input_stopped_) {
    analysis.set_result(v1::TIMEOUT);
    proved = absl::StrFormat("nothing: the time ran out after %d of %d grid points of %s within %s",
                             analysis.explored(), analysis.grid_points(), family, region);
  } else if (analysis.exhaustive() && input_misclassified_ == 0) {
    analysis.set_result(v1::UNSAT);
    proved = absl::StrFormat("SAFE for the discretised family: every grid point of %s within %s is classified %d",
                             family, region, label_);
    if (analysis.family_proved()) {
      absl::StrAppendFormat(&proved,
                            "; and since the smallest grid margin %g exceeds the discretisation error bound %g, so is "
                            "every point of the continuous family",
                            analysis.min_margin(), analysis.margin_error_bound());
    }
  } else {
    analysis.set_result(v1::UNKNOWN);
    proved = absl::StrFormat(
        "nothing: %d of %d grid points of %s within %s explored (budget max_manipulations), no adversarial example "
        "re-checked",
        analysis.explored(), analysis.grid_points(), family, region);
  }
  analysis.set_proved(proved);
  return absl::OkStatus();
}

absl::Status Analysis::InputLayer(v1::DlvAnalysis& analysis, v1::DlvReport& report) {
  Progress(0.0, "input layer", absl::StrCat("input ", index_, ": searching the input layer's manipulations"));
  v1::DlvLayer& layer = *report.add_layers();
  layer.set_layer("input");
  layer.set_index(0);
  layer.set_input_index(index_);
  layer.set_neurons(static_cast<int64_t>(pixels_.size()));
  layer.set_covered(true);
  layer.set_max_span(pixel_box_.MaxWidth());
  layer.set_mean_span(pixel_box_.MeanWidth());

  // Features ranked in model-input space; the map to pixels is monotone per dim.
  const LayerBox input_box = ToInputBox(pixel_map_, pixel_box_);
  std::vector<Feature> features = ChooseFeatures(s_, net_, 0, activations_[0], input_box, label_, runner_up_);
  if (s_.by_gradient) {
    // Orientation is a pixel direction: flip where std < 0 swapped it.
    for (Feature& f : features) {
      for (size_t d = 0; d < f.dims.size(); ++d) {
        if (pixel_map_.slope[f.dims[d]] < 0) f.orientation[d] = -f.orientation[d];
      }
    }
  }
  ManipulationGrid grid{pixels_, pixel_box_, features, 1};
  const LayerBox family_box = ToInputBox(pixel_map_, FamilyBox(pixels_, pixel_box_, features));
  auto bound_for_steps = [&](int steps) {
    grid.steps = steps;
    std::vector<double> deltas = grid.HalfSteps();
    for (size_t p = 0; p < deltas.size(); ++p) deltas[p] *= std::fabs(pixel_map_.slope[p]);
    return MarginChangeBound(net_, 0, family_box, label_, deltas);
  };
  grid.steps = ChooseSteps(s_, bound_for_steps);
  const double error_bound = bound_for_steps(grid.steps);
  FillFeatures(features, pixel_box_, layer);
  input_features_ = features;

  const GridEvaluator evaluate = [&](const std::vector<std::vector<double>>& points)
      -> absl::StatusOr<std::vector<GridEvaluation>> {
    std::vector<GridEvaluation> out;
    for (size_t begin = 0; begin < points.size(); begin += forward_.batch_size()) {
      const size_t end = std::min(points.size(), begin + static_cast<size_t>(forward_.batch_size()));
      ASSIGN_OR_RETURN(const Tensor logits,
                       Logits(std::vector<std::vector<double>>(points.begin() + begin, points.begin() + end)));
      const std::vector<int64_t> predicted = ArgMaxRows(logits);
      const int64_t classes = logits.dim(1);
      for (size_t i = 0; i < predicted.size(); ++i) {
        std::vector<double> row(logits.data() + i * classes, logits.data() + (i + 1) * classes);
        out.push_back({Margin(row, label_), predicted[i] != label_});
      }
    }
    return out;
  };
  ASSIGN_OR_RETURN(const LadderSearchResult search,
                   SearchLadders(grid, evaluate,
                                 {.budget = s_.budget, .max_examples = s_.max_examples, .batch_size = kBatch,
                                  .stop = [this] { return Stop(); }}));
  if (context_.Cancelled()) return absl::CancelledError("dlv cancelled");
  input_stopped_ = search.stopped;
  input_misclassified_ = search.misclassified;

  // Re-check every example: inside the box, and misclassified by a fresh forward pass.
  int64_t rechecked = 0;
  for (const std::vector<double>& example : search.examples) {
    std::vector<double> as_float(example.size());
    for (size_t p = 0; p < example.size(); ++p) as_float[p] = static_cast<float>(example[p]);
    if (!pixel_box_.Contains(as_float, 1e-6)) continue;
    ASSIGN_OR_RETURN(const Tensor logits, Logits({as_float}));
    if (ArgMaxRows(logits)[0] == label_) continue;
    v1::Counterexample& out = *report.add_adversarial_examples();
    out.mutable_input()->Add(as_float.begin(), as_float.end());
    for (float v : logits.values()) out.add_output(v);
    ++rechecked;
  }

  const double grid_points = grid.GridPoints();
  const int64_t grid_count = grid_points > 9.0e18 ? std::numeric_limits<int64_t>::max()
                                                  : static_cast<int64_t>(grid_points);
  layer.set_steps(grid.steps);
  layer.set_grid_points(grid_count);
  layer.set_manipulations(search.explored);
  layer.set_exhaustive(search.exhaustive);
  layer.set_misclassified(search.misclassified);
  layer.set_min_margin(search.min_margin);
  layer.set_margin_error_bound(error_bound);
  layer.set_region_check(v1::VERIFICATION_RESULT_UNSPECIFIED);

  analysis.set_step(s_.epsilon / grid.steps);
  analysis.set_steps(grid.steps);
  analysis.set_grid_points(grid_count);
  analysis.set_explored(search.explored);
  analysis.set_exhaustive(search.exhaustive);
  analysis.set_min_margin(search.min_margin);
  analysis.set_margin_error_bound(error_bound);
  analysis.set_adversarial_examples(rechecked);
  analysis.set_family_proved(search.exhaustive && search.misclassified == 0 &&
                             search.min_margin > error_bound + kFloatMarginSlack);
  return absl::OkStatus();
}

absl::Status Analysis::HiddenLayers(v1::DlvAnalysis& analysis, v1::DlvReport& report) {
  const SmtBudget budget{.deadline = deadline_, .cancelled = [this] { return context_.Cancelled(); }};
  LayerBox previous = ToInputBox(pixel_map_, pixel_box_);
  bool chain_covered = true;
  const int hidden = static_cast<int>(net_.layers.size()) - 1;
  for (int k = 1; k <= hidden; ++k) {
    if (Stop()) break;
    Progress(static_cast<double>(k) / (hidden + 1), "hidden layers",
             absl::StrCat("input ", index_, ": layer ", k, " of ", hidden, " (Z3 coverage, region check, search)"));
    v1::DlvLayer& layer = *report.add_layers();
    layer.set_layer(net_.layers[k - 1].name);
    layer.set_index(k);
    layer.set_input_index(index_);
    layer.set_neurons(net_.layers[k - 1].outputs);
    Z3Stats stats;
    ASSIGN_OR_RETURN(const CoverageResult coverage,
                     RefineLayerRegion(net_.layers[k - 1], previous, activations_[k], s_.seed + k, budget, stats));
    chain_covered = chain_covered && coverage.covered;
    layer.set_covered(coverage.covered);
    layer.set_span_rounds(coverage.rounds);
    layer.set_max_span(coverage.region.MaxWidth());
    layer.set_mean_span(coverage.region.MeanWidth());
    const LayerBox& region = coverage.region;

    if (chain_covered && !analysis.region_proved()) {
      ASSIGN_OR_RETURN(const RegionCheck check, CheckRegionSafe(net_, k, region, label_, budget, stats));
      layer.set_region_check(ToResult(check.answer));
      if (check.answer == SmtAnswer::kUnsat) {
        analysis.set_region_proved(true);
        analysis.set_region_proved_at_layer(k);
      }
    }

    // The layer's own manipulation family, evaluated on the rest of the network.
    const std::vector<double>& center = activations_[k];
    const std::vector<Feature> features = ChooseFeatures(s_, net_, k, center, region, label_, runner_up_);
    ManipulationGrid grid{center, region, features, 1};
    const LayerBox family_box = FamilyBox(center, region, features);
    auto bound_for_steps = [&](int steps) {
      grid.steps = steps;
      return MarginChangeBound(net_, k, family_box, label_, grid.HalfSteps());
    };
    grid.steps = ChooseSteps(s_, bound_for_steps);
    const double error_bound = bound_for_steps(grid.steps);
    FillFeatures(features, region, layer);
    const GridEvaluator evaluate = [&](const std::vector<std::vector<double>>& points)
        -> absl::StatusOr<std::vector<GridEvaluation>> {
      std::vector<GridEvaluation> out;
      for (const std::vector<double>& point : points) {
        const std::vector<double> logits = EvaluateFrom(net_, k, point);
        const int64_t predicted = std::max_element(logits.begin(), logits.end()) - logits.begin();
        out.push_back({Margin(logits, label_), predicted != label_});
      }
      return out;
    };
    ASSIGN_OR_RETURN(const LadderSearchResult search,
                     SearchLadders(grid, evaluate,
                                   {.budget = s_.budget, .max_examples = 0, .batch_size = kBatch,
                                    .stop = [this] { return Stop(); }}));
    if (context_.Cancelled()) return absl::CancelledError("dlv cancelled");
    const double grid_points = grid.GridPoints();
    layer.set_steps(grid.steps);
    layer.set_grid_points(grid_points > 9.0e18 ? std::numeric_limits<int64_t>::max()
                                               : static_cast<int64_t>(grid_points));
    layer.set_manipulations(search.explored);
    layer.set_exhaustive(search.exhaustive);
    layer.set_misclassified(search.misclassified);
    layer.set_min_margin(search.min_margin);
    layer.set_margin_error_bound(error_bound);
    layer.set_z3_calls(stats.calls);
    layer.set_z3_seconds(stats.seconds);
    previous = region;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status DlvEngine::Validate(const v1::JobSpec& spec, const Model& model, const Dataset* dataset) const {
  const v1::DlvConfig& config = spec.dlv();
  if (dataset == nullptr) return absl::InvalidArgumentError("dlv needs a dataset (spec.dataset_id)");
  if (!(config.epsilon() > 0) || !std::isfinite(config.epsilon())) {
    return absl::InvalidArgumentError(absl::StrCat("dlv.epsilon must be a positive number, got ", config.epsilon()));
  }
  if (config.input_index() < -1 || config.input_index() >= dataset->num_examples()) {
    return absl::InvalidArgumentError(absl::StrCat("dlv.input_index ", config.input_index(),
                                                   " is out of range: the dataset has ", dataset->num_examples(),
                                                   " inputs (-1: all)"));
  }
  if (!(config.timeout_seconds() >= 0) || !std::isfinite(config.timeout_seconds())) {
    return absl::InvalidArgumentError("dlv.timeout_seconds must not be negative (0: 60)");
  }
  if (config.max_features() < 0 || config.max_features() > 64) {
    return absl::InvalidArgumentError("dlv.max_features must be between 0 (default 4) and 64");
  }
  if (config.feature_size() < 0) return absl::InvalidArgumentError("dlv.feature_size must not be negative (0: 1)");
  if (config.steps() < 0 || config.steps() > 127) {
    return absl::InvalidArgumentError("dlv.steps must be between 0 (derived) and 127");
  }
  if (!(config.error_bound() >= 0) || !std::isfinite(config.error_bound())) {
    return absl::InvalidArgumentError("dlv.error_bound must be a non-negative number");
  }
  if (config.max_manipulations() < 0 || config.max_manipulations() > 10000000) {
    return absl::InvalidArgumentError("dlv.max_manipulations must be between 0 (default 20000) and 10000000");
  }
  if (config.max_examples() < 0) return absl::InvalidArgumentError("dlv.max_examples must not be negative");
  if (config.threads() < 0) return absl::InvalidArgumentError("dlv.threads must not be negative");
  RETURN_IF_ERROR(ValidatePreprocess(config.preprocess(), model.ExampleShape()));
  RETURN_IF_ERROR(CheckDatasetFitsModel(*dataset, model));
  return ExtractAffineNetwork(model).status();
}

absl::StatusOr<v1::Report> DlvEngine::Run(const v1::JobSpec& spec, JobContext& context) const {
  const absl::Time start = absl::Now();
  const v1::DlvConfig& config = spec.dlv();
  const Settings settings = SettingsFrom(config);
  const double timeout = config.timeout_seconds() > 0 ? config.timeout_seconds() : kDefaultTimeoutSeconds;
  const absl::Time deadline = std::min(context.deadline(), start + absl::Seconds(timeout));
  const Model& model = context.model();
  const Dataset& data = *context.dataset();
  const int threads = config.threads() > 0 ? std::min(config.threads(), context.threads()) : context.threads();
  try {
    ASSIGN_OR_RETURN(const AffineNetwork net, ExtractAffineNetwork(model));
    ASSIGN_OR_RETURN(auto forward, LossGradient::Create(model, config.preprocess(), kBatch, threads));
    const Shape example_shape = model.ExampleShape();
    const PixelInputMap pixel_map(config.preprocess(), example_shape);
    std::vector<int64_t> indices;
    if (config.input_index() >= 0) {
      indices.push_back(config.input_index());
    } else {
      for (int64_t i = 0; i < data.num_examples(); ++i) indices.push_back(i);
    }
    v1::Report report;
    v1::DlvReport& out = *report.mutable_dlv();
    for (size_t n = 0; n < indices.size(); ++n) {
      if (context.Cancelled()) return absl::CancelledError("dlv cancelled");
      ASSIGN_OR_RETURN(Tensor x, FitToModelInput(data.inputs.Slice(indices[n], indices[n] + 1), model));
      forward->preprocessor().ToPixels(x);
      const std::vector<double> pixels(x.values().begin(), x.values().end());
      const double width = 1.0 / static_cast<double>(indices.size());
      Analysis analysis(settings, net, *forward, pixel_map, model, context, deadline, n * width, width);
      RETURN_IF_ERROR(analysis.Run(indices[n], pixels, out));
    }
    // SAT if any input has an adversarial example, else the weakest of the rest.
    auto count = [&](v1::VerificationResult r) {
      return std::count_if(out.analyses().begin(), out.analyses().end(),
                           [r](const v1::DlvAnalysis& a) { return a.result() == r; });
    };
    out.set_result(count(v1::SAT) > 0       ? v1::SAT
                   : count(v1::TIMEOUT) > 0 ? v1::TIMEOUT
                   : count(v1::UNKNOWN) > 0 ? v1::UNKNOWN
                                            : v1::UNSAT);
    out.set_seconds(absl::ToDoubleSeconds(absl::Now() - start));
    context.ReportProgress(1.0, "done", absl::StrCat("dlv: ", v1::VerificationResult_Name(out.result())));
    return report;
  } catch (const z3::exception& e) {
    return absl::InternalError(absl::StrCat("dlv: Z3 failed: ", e.msg()));
  }
}

}  // namespace crucible
