#include "engines/nap/nap_engine.h"

#include <z3++.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "engines/core/status_macros.h"
#include "engines/nap/activation_table.h"
#include "engines/nap/hidden_layers.h"
#include "engines/nap/nap_forward_pass.h"
#include "engines/nap/nap_miner.h"
#include "engines/nap/nap_set.h"
#include "engines/nap/nap_verifier.h"
#include "engines/pixel_input_map.h"
#include "engines/preprocess.h"
#include "engines/verify/network.h"

namespace crucible {
namespace {

constexpr double kDefaultDelta = 0.99;
constexpr double kDefaultTrainFraction = 0.8;
constexpr double kDefaultTimeoutSeconds = 60;
constexpr double kDefaultMaxEpsilon = 0.1;
constexpr int kDefaultBisectionSteps = 8;
constexpr int kMaxBisectionSteps = 30;
// Dataset inputs handed to the verifier's falsifier as starting points per query.
constexpr size_t kMaxSeeds = 8;
// Share of the progress bar for recording activations when verification follows.
constexpr double kRecordShare = 0.3;

struct Settings {
  double delta = kDefaultDelta;
  double train_fraction = kDefaultTrainFraction;
  double timeout_seconds = kDefaultTimeoutSeconds;
  double max_epsilon = kDefaultMaxEpsilon;
  int bisection_steps = kDefaultBisectionSteps;
  int threads = 1;
};

Settings SettingsFrom(const v1::NapConfig& config, int context_threads) {
  Settings s;
  if (config.delta() > 0) s.delta = config.delta();
  if (config.train_fraction() > 0) s.train_fraction = config.train_fraction();
  if (config.timeout_seconds() > 0) s.timeout_seconds = config.timeout_seconds();
  if (config.max_epsilon() > 0) s.max_epsilon = config.max_epsilon();
  if (config.bisection_steps() > 0) s.bisection_steps = config.bisection_steps();
  s.threads = std::max(1, config.threads() > 0 ? std::min(config.threads(), context_threads) : context_threads);
  return s;
}

template <typename Values>
absl::Status CheckIndices(const Values& values, int64_t end, const std::string& field, const std::string& what) {
  for (int i = 0; i < values.size(); ++i) {
    if (values[i] < 0 || values[i] >= end) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, "[", i, "]: ", values[i], " is not ", what, " (0..", end - 1, ")"));
    }
  }
  return absl::OkStatus();
}

// The verifier's layer k is the ReLU after AffineNetwork::layers[k]; the miner's is the k-th Relu node.
absl::Status CheckLayersMatch(const AffineNetwork& net, const std::vector<HiddenLayer>& layers) {
  std::vector<int64_t> relu_sizes;
  for (const AffineLayer& layer : net.layers) {
    if (layer.relu) relu_sizes.push_back(layer.outputs);
  }
  bool same = relu_sizes.size() == layers.size();
  for (size_t k = 0; same && k < layers.size(); ++k) same = relu_sizes[k] == layers[k].size;
  if (!same) {
    return absl::FailedPreconditionError(absl::StrCat(
        "nap: the model's ", layers.size(), " Relu nodes do not correspond one to one to the ReLUs of its affine ",
        "form (", relu_sizes.size(), "), so NAPs cannot be verified; set mine_only"));
  }
  return absl::OkStatus();
}

std::vector<int32_t> LayersUsed(const std::vector<ActivationPattern>& patterns) {
  std::vector<int32_t> used;
  for (const ActivationPattern& p : patterns) {
    for (const FixedNeuron& n : p.neurons) used.push_back(n.layer);
  }
  std::sort(used.begin(), used.end());
  used.erase(std::unique(used.begin(), used.end()), used.end());
  return used;
}

v1::VerificationResult ToProto(NapOutcome outcome) {
  switch (outcome) {
    case NapOutcome::kUnsat: return v1::UNSAT;
    case NapOutcome::kSat: return v1::SAT;
    case NapOutcome::kUnknown: return v1::UNKNOWN;
    // Cancellation of a job aborts it; a query stopped without that ran into the job's deadline.
    case NapOutcome::kTimeout:
    case NapOutcome::kCancelled: return v1::TIMEOUT;
  }
  return v1::UNKNOWN;
}

void FillCounterexample(const NapQueryResult& result, const PixelInputMap& map, v1::Counterexample& out) {
  for (double v : map.ToPixels(result.input)) out.add_input(v);
  for (double v : result.output) out.add_output(v);
}

// One verification query of the job.
struct Query {
  enum Kind { kClass, kExclusive, kRobustness } kind = kClass;
  size_t first = 0;   // kClass, kExclusive: pattern index.
  size_t second = 0;  // kExclusive: the other pattern.
  int row = 0;        // kExclusive, kRobustness: the report row.
  int64_t input = 0;  // kRobustness: dataset index.
};

class NapJob {
 public:
  NapJob(const v1::NapConfig& config, JobContext& context)
      : config_(config),
        context_(context),
        model_(context.model()),
        data_(context.dataset()),
        settings_(SettingsFrom(config, context.threads())),
        preprocess_(config.preprocess()),
        map_(config.preprocess(), model_.ExampleShape()) {}

  absl::StatusOr<v1::Report> Run();

 private:
  bool Stop() const { return context_.Cancelled() || absl::Now() >= context_.deadline(); }
  absl::Status PreparePatterns();
  absl::Status RecordAndMine();
  void FillClasses();
  absl::Status Verify();
  absl::Status RunQuery(const Query& query, const AffineNetwork& net, const NapForwardPass& forward,
                        const InputBox& box);
  double QueryTimeout() const;
  std::vector<double> NetworkInput(int64_t index) const;
  // The model-input box of the pixel box [lower, upper] in every dimension.
  InputBox PixelBox(double lower, double upper) const {
    const size_t size = map_.slope.size();
    InputBox box;
    map_.MapBox(std::vector<double>(size, lower), std::vector<double>(size, upper), box.lower, box.upper);
    return box;
  }
  std::vector<std::vector<double>> Seeds(const std::vector<size_t>& patterns) const;

  const v1::NapConfig& config_;
  JobContext& context_;
  const Model& model_;
  const Dataset* data_;
  const Settings settings_;
  const Preprocessor preprocess_;
  const PixelInputMap map_;

  std::vector<HiddenLayer> layers_;
  std::vector<int32_t> recorded_;
  std::vector<ActivationPattern> patterns_;  // Ascending label.
  std::vector<int64_t> mined_from_;          // Per pattern.
  std::optional<ActivationRecording> recording_;
  std::optional<NapStatistics> stats_;
  v1::Report report_;
  v1::NapReport& out_ = *report_.mutable_nap();
  std::map<int64_t, int> row_of_label_;  // out_.classes row of each label.
  std::mutex progress_mutex_;
};

absl::Status NapJob::PreparePatterns() {
  ASSIGN_OR_RETURN(layers_, HiddenReluLayers(model_));
  if (config_.has_patterns()) {
    ASSIGN_OR_RETURN(patterns_, PatternsFromNapSet(config_.patterns(), layers_, model_.num_classes(), "nap.patterns"));
    std::vector<std::pair<int64_t, int>> order;
    for (int p = 0; p < config_.patterns().patterns_size(); ++p) {
      order.emplace_back(config_.patterns().patterns(p).label(), p);
    }
    std::sort(order.begin(), order.end());
    std::vector<ActivationPattern> sorted;
    for (const auto& [label, p] : order) {
      sorted.push_back(std::move(patterns_[p]));
      mined_from_.push_back(config_.patterns().patterns(p).mined_from());
    }
    patterns_ = std::move(sorted);
    recorded_ = LayersUsed(patterns_);
    out_.set_delta(config_.patterns().delta());
  } else {
    ASSIGN_OR_RETURN(recorded_, SelectLayers(config_.layers(), layers_));
    out_.set_mined(true);
    out_.set_delta(static_cast<float>(settings_.delta));
  }
  for (int32_t k : recorded_) out_.add_layers(layers_[k].name);
  return absl::OkStatus();
}

absl::Status NapJob::RecordAndMine() {
  if (data_ == nullptr) return absl::OkStatus();
  const double share = config_.mine_only() ? 1.0 : kRecordShare;
  RecordingMonitor monitor{
      .progress = [&](double fraction,
                      const std::string& message) { context_.ReportProgress(share * fraction, "record", message); },
      .cancelled = [&] { return context_.Cancelled(); }};
  ASSIGN_OR_RETURN(recording_, RecordActivations(model_, data_->inputs, preprocess_, layers_, recorded_,
                                                 settings_.threads, monitor));
  const int64_t n = data_->num_examples();
  std::vector<int64_t> evaluated;
  if (out_.mined()) {
    const DatasetSplit split = SplitInputs(n, settings_.train_fraction, config_.seed());
    MinedNaps mined = MineNaps(recording_->table, data_->labels, recording_->predicted, split.train, recorded_,
                               model_.num_classes(), settings_.delta);
    patterns_ = std::move(mined.patterns);
    mined_from_ = std::move(mined.mined_from);
    out_.set_training_inputs(static_cast<int64_t>(split.train.size()));
    evaluated = split.held_out;
  } else {
    for (int64_t i = 0; i < n; ++i) evaluated.push_back(i);
  }
  stats_ = EvaluateNaps(recording_->table, data_->labels, evaluated, patterns_);
  out_.set_held_out_inputs(stats_->inputs);
  out_.set_ambiguous_inputs(stats_->ambiguous);
  return absl::OkStatus();
}

void NapJob::FillClasses() {
  std::vector<int64_t> labels;
  if (out_.mined()) {
    for (int64_t c = 0; c < model_.num_classes(); ++c) labels.push_back(c);
  } else {
    for (const ActivationPattern& p : patterns_) labels.push_back(p.label);
  }
  std::map<int64_t, size_t> pattern_of_label;
  for (size_t p = 0; p < patterns_.size(); ++p) pattern_of_label[patterns_[p].label] = p;
  for (int64_t label : labels) {
    row_of_label_[label] = out_.classes_size();
    v1::NapClass& row = *out_.add_classes();
    row.set_label(label);
    auto it = pattern_of_label.find(label);
    if (it == pattern_of_label.end()) {
      row.set_detail("no pattern: no training input of this class was classified correctly");
      continue;
    }
    const size_t p = it->second;
    row.set_fixed_neurons(static_cast<int64_t>(patterns_[p].neurons.size()));
    row.set_mined_from(mined_from_[p]);
    if (stats_.has_value()) {
      const NapStatistics::Pattern& s = stats_->patterns[p];
      row.set_recall(s.recall);
      row.set_precision(s.precision);
      row.set_held_out_inputs(s.class_inputs);
      row.set_matched_inputs(s.matched);
    }
  }
}

double NapJob::QueryTimeout() const {
  const double left = absl::ToDoubleSeconds(context_.deadline() - absl::Now()) - 1.0;
  return std::max(0.1, std::min(settings_.timeout_seconds, left));
}

std::vector<double> NapJob::NetworkInput(int64_t index) const {
  Shape shape{1};
  for (int64_t d : model_.ExampleShape()) shape.push_back(d);
  Tensor row = data_->inputs.Slice(index, index + 1).Reshaped(shape);
  preprocess_.Apply(row);
  return {row.values().begin(), row.values().end()};
}

// Dataset inputs satisfying every one of `patterns` (those the model does not
// put in the first pattern's class first: for a class query they are witnesses already).
std::vector<std::vector<double>> NapJob::Seeds(const std::vector<size_t>& patterns) const {
  std::vector<std::vector<double>> seeds;
  if (!recording_.has_value()) return seeds;
  std::vector<NapMatcher> matchers;
  for (size_t p : patterns) matchers.emplace_back(recording_->table, patterns_[p]);
  std::vector<int64_t> wrong, right;
  for (int64_t i = 0; i < recording_->table.num_inputs(); ++i) {
    if (!std::all_of(matchers.begin(), matchers.end(),
                     [&](const NapMatcher& m) { return m.Matches(recording_->table, i); })) {
      continue;
    }
    (recording_->predicted[i] != patterns_[patterns[0]].label ? wrong : right).push_back(i);
  }
  wrong.insert(wrong.end(), right.begin(), right.end());
  for (size_t s = 0; s < std::min(kMaxSeeds, wrong.size()); ++s) seeds.push_back(NetworkInput(wrong[s]));
  return seeds;
}

absl::Status NapJob::RunQuery(const Query& query, const AffineNetwork& net, const NapForwardPass& forward,
                              const InputBox& box) {
  NapVerifierOptions options;
  options.timeout_seconds = QueryTimeout();
  const std::function<bool()> stop = [this] { return Stop(); };
  switch (query.kind) {
    case Query::kClass: {
      options.seeds = Seeds({query.first});
      NapVerifier verifier(net, forward, options);
      ASSIGN_OR_RETURN(const NapQueryResult r, verifier.VerifyClass(patterns_[query.first], box, stop));
      v1::NapClass& row = *out_.mutable_classes(row_of_label_.at(patterns_[query.first].label));
      row.set_verified(ToProto(r.outcome));
      row.set_seconds(r.seconds);
      row.set_detail(r.detail);
      if (r.outcome == NapOutcome::kSat) FillCounterexample(r, map_, *row.mutable_counterexample());
      return absl::OkStatus();
    }
    case Query::kExclusive: {
      options.seeds = Seeds({query.first, query.second});
      NapVerifier verifier(net, forward, options);
      ASSIGN_OR_RETURN(const NapQueryResult r,
                       verifier.VerifyExclusive(patterns_[query.first], patterns_[query.second], box, stop));
      v1::NapExclusivity& row = *out_.mutable_exclusivity(query.row);
      row.set_result(ToProto(r.outcome));
      row.set_seconds(r.seconds);
      row.set_detail(r.detail);
      if (r.outcome == NapOutcome::kSat) FillCounterexample(r, map_, *row.mutable_witness());
      return absl::OkStatus();
    }
    case Query::kRobustness: {
      v1::NapRobustness& row = *out_.mutable_robustness(query.row);
      auto it = std::find_if(patterns_.begin(), patterns_.end(),
                             [&](const ActivationPattern& p) { return p.label == row.label(); });
      if (it == patterns_.end()) {
        row.set_detail(absl::StrCat("class ", row.label(), " has no NAP"));
        return absl::OkStatus();
      }
      const double slope = std::fabs(map_.slope[0]);
      const InputBox domain = PixelBox(preprocess_.clip_min(), preprocess_.clip_max());
      const RobustnessOptions robustness{.max_epsilon = settings_.max_epsilon * slope,
                                         .bisection_steps = settings_.bisection_steps,
                                         .domain_lower = domain.lower[0],
                                         .domain_upper = domain.upper[0]};
      NapVerifier verifier(net, forward, options);
      const absl::StatusOr<RobustnessResult> result =
          verifier.AugmentedRobustness(NetworkInput(query.input), row.label(), *it, robustness, stop);
      if (absl::IsCancelled(result.status()) && !context_.Cancelled()) {
        row.set_detail("stopped by the job's deadline");
        return absl::OkStatus();
      }
      RETURN_IF_ERROR(result.status());
      const RobustnessResult& r = *result;
      row.set_correctly_classified(r.correctly_classified);
      row.set_satisfies_nap(r.satisfies_nap);
      row.set_epsilon_without_nap(r.epsilon_without_nap / slope);
      row.set_epsilon_with_nap(r.epsilon_with_nap / slope);
      row.set_seconds(r.seconds);
      if (!r.correctly_classified) row.set_detail("the model misclassifies the input: nothing to verify");
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

absl::Status NapJob::Verify() {
  if (config_.mine_only()) return absl::OkStatus();
  context_.ReportProgress(kRecordShare, "verify", "extracting the affine/ReLU network");
  ASSIGN_OR_RETURN(const AffineNetwork net, ExtractAffineNetwork(model_));
  RETURN_IF_ERROR(CheckLayersMatch(net, layers_));
  ASSIGN_OR_RETURN(const NapForwardPass forward, MakeExecutorNapForwardPass(model_, 1));
  const InputBox box = PixelBox(preprocess_.clip_min(), preprocess_.clip_max());

  std::vector<Query> queries;
  for (size_t p = 0; p < patterns_.size(); ++p) {
    const auto& chosen = config_.classes();
    if (chosen.empty() || std::find(chosen.begin(), chosen.end(), patterns_[p].label) != chosen.end()) {
      queries.push_back({.kind = Query::kClass, .first = p});
    }
  }
  if (config_.exclusivity()) {
    for (size_t p = 0; p < patterns_.size(); ++p) {
      for (size_t q = p + 1; q < patterns_.size(); ++q) {
        v1::NapExclusivity& row = *out_.add_exclusivity();
        row.set_first_label(patterns_[p].label);
        row.set_second_label(patterns_[q].label);
        queries.push_back({.kind = Query::kExclusive, .first = p, .second = q, .row = out_.exclusivity_size() - 1});
      }
    }
  }
  for (int64_t index : config_.robustness_inputs()) {
    v1::NapRobustness& row = *out_.add_robustness();
    row.set_input_index(index);
    row.set_label(data_->labels[index]);
    queries.push_back({.kind = Query::kRobustness, .row = out_.robustness_size() - 1, .input = index});
  }

  // Queries run side by side on the job's threads; each writes only its own report row.
  std::atomic<size_t> next{0}, done{0};
  std::mutex error_mutex;
  absl::Status error;
  auto worker = [&] {
    for (size_t q = next++; q < queries.size(); q = next++) {
      if (Stop()) break;
      absl::Status status;
      try {
        status = RunQuery(queries[q], net, forward, box);
      } catch (const z3::exception& e) {
        status = absl::InternalError(absl::StrCat("nap: Z3 failed: ", e.msg()));
      } catch (const std::exception& e) {
        status = absl::InternalError(absl::StrCat("nap: verification failed: ", e.what()));
      }
      if (!status.ok()) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (error.ok()) error = status;
        next = queries.size();
        break;
      }
      const size_t finished = ++done;
      std::lock_guard<std::mutex> lock(progress_mutex_);
      context_.ReportProgress(kRecordShare + (1 - kRecordShare) * finished / queries.size(), "verify",
                              absl::StrCat(finished, " of ", queries.size(), " queries"));
    }
  };
  const int workers = std::min<int>(settings_.threads, static_cast<int>(queries.size()));
  std::vector<std::thread> pool;
  for (int w = 1; w < workers; ++w) pool.emplace_back(worker);
  worker();
  for (std::thread& t : pool) t.join();
  RETURN_IF_ERROR(error);
  if (context_.Cancelled()) return absl::CancelledError("nap: cancelled");
  // Queries the deadline left unstarted.
  for (v1::NapClass& row : *out_.mutable_classes()) {
    const bool queried = std::any_of(queries.begin(), queries.end(), [&](const Query& q) {
      return q.kind == Query::kClass && patterns_[q.first].label == row.label();
    });
    if (queried && row.verified() == v1::VERIFICATION_RESULT_UNSPECIFIED) row.set_verified(v1::TIMEOUT);
  }
  for (v1::NapExclusivity& row : *out_.mutable_exclusivity()) {
    if (row.result() == v1::VERIFICATION_RESULT_UNSPECIFIED) row.set_result(v1::TIMEOUT);
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Report> NapJob::Run() {
  const auto start = std::chrono::steady_clock::now();
  RETURN_IF_ERROR(PreparePatterns());
  RETURN_IF_ERROR(RecordAndMine());
  FillClasses();
  v1::NapSet set = ToNapSet(patterns_, mined_from_, out_.delta(), layers_);
  ASSIGN_OR_RETURN(const std::string json, NapSetToJson(set));
  RETURN_IF_ERROR(context_.WriteArtifact("nap.json", "application/json", json));
  RETURN_IF_ERROR(Verify());
  out_.set_seconds(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  context_.ReportProgress(1.0, "done", absl::StrCat(patterns_.size(), " NAPs"));
  return report_;
}

}  // namespace

absl::Status NapEngine::Validate(const v1::JobSpec& spec, const Model& model, const Dataset* dataset) const {
  const v1::NapConfig& config = spec.nap();
  if (config.delta() != 0 && !(config.delta() > 0.5f && config.delta() <= 1.0f)) {
    return absl::InvalidArgumentError(absl::StrCat("nap.delta: ", config.delta(), " is not in (0.5, 1] (0: 0.99)"));
  }
  if (config.train_fraction() != 0 && !(config.train_fraction() > 0 && config.train_fraction() < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("nap.train_fraction: ", config.train_fraction(), " is not in (0, 1) (0: 0.8)"));
  }
  if (!(config.timeout_seconds() >= 0)) return absl::InvalidArgumentError("nap.timeout_seconds must not be negative");
  if (config.threads() < 0) return absl::InvalidArgumentError("nap.threads must not be negative");
  if (!(config.max_epsilon() >= 0)) return absl::InvalidArgumentError("nap.max_epsilon must not be negative");
  if (config.bisection_steps() < 0 || config.bisection_steps() > kMaxBisectionSteps) {
    return absl::InvalidArgumentError(absl::StrCat("nap.bisection_steps must be in 0..", kMaxBisectionSteps));
  }
  RETURN_IF_ERROR(ValidatePreprocess(config.preprocess(), model.ExampleShape()));
  ASSIGN_OR_RETURN(const std::vector<HiddenLayer> layers, HiddenReluLayers(model));
  if (config.has_patterns()) {
    if (!config.layers().empty()) {
      return absl::InvalidArgumentError("nap.layers: only for mining (the supplied nap.patterns fix their own layers)");
    }
    if (config.patterns().patterns().empty()) return absl::InvalidArgumentError("nap.patterns: no patterns");
    RETURN_IF_ERROR(PatternsFromNapSet(config.patterns(), layers, model.num_classes(), "nap.patterns").status());
  } else {
    RETURN_IF_ERROR(SelectLayers(config.layers(), layers).status());
    if (dataset == nullptr) {
      return absl::InvalidArgumentError(
          "nap: mining needs a labelled dataset (spec.dataset_id), or supply nap.patterns");
    }
    if (dataset->num_examples() < 2) return absl::InvalidArgumentError("nap: mining needs at least 2 dataset inputs");
  }
  if (dataset != nullptr) {
    if (!dataset->has_labels()) return absl::InvalidArgumentError("nap: the dataset needs labels");
    RETURN_IF_ERROR(CheckDatasetFitsModel(*dataset, model));
  }
  RETURN_IF_ERROR(CheckIndices(config.classes(), model.num_classes(), "nap.classes", "a class of the model"));
  if (!config.robustness_inputs().empty()) {
    if (dataset == nullptr) return absl::InvalidArgumentError("nap.robustness_inputs: needs a dataset");
    RETURN_IF_ERROR(CheckIndices(config.robustness_inputs(), dataset->num_examples(), "nap.robustness_inputs",
                                 "a dataset input"));
    if (!PixelInputMap(config.preprocess(), model.ExampleShape()).Uniform()) {
      return absl::InvalidArgumentError(
          "nap.preprocess: NAP-augmented robustness needs one mean and one std for every channel");
    }
  }
  if (config.mine_only()) {
    if (config.exclusivity() || !config.robustness_inputs().empty() || !config.classes().empty()) {
      return absl::InvalidArgumentError("nap.mine_only: leaves nothing to verify; drop classes, exclusivity and "
                                        "robustness_inputs or mine_only");
    }
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(const AffineNetwork net, ExtractAffineNetwork(model));
  return CheckLayersMatch(net, layers);
}

absl::StatusOr<v1::Report> NapEngine::Run(const v1::JobSpec& spec, JobContext& context) const {
  try {
    NapJob job(spec.nap(), context);
    return job.Run();
  } catch (const z3::exception& e) {
    return absl::InternalError(absl::StrCat("nap: Z3 failed: ", e.msg()));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("nap: ", e.what()));
  }
}

}  // namespace crucible
