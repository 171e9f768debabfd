#include "engines/nap/nap_verifier.h"

#include <chrono>
#include <cmath>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engines/core/status_macros.h"
#include "engines/nap/phase_query.h"
#include "engines/nap/phase_search.h"

namespace crucible {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Index in net.layers of each hidden ReLU layer, in order.
std::vector<int64_t> ReluLayers(const AffineNetwork& net) {
  std::vector<int64_t> out;
  for (size_t k = 0; k < net.layers.size(); ++k) {
    if (net.layers[k].relu) out.push_back(static_cast<int64_t>(k));
  }
  return out;
}

absl::Status CheckBox(const InputBox& box, int64_t inputs) {
  if (static_cast<int64_t>(box.lower.size()) != inputs || static_cast<int64_t>(box.upper.size()) != inputs) {
    return absl::InvalidArgumentError(absl::StrCat("box: lower and upper need ", inputs, " values each (got ",
                                                   box.lower.size(), " and ", box.upper.size(), ")"));
  }
  for (int64_t i = 0; i < inputs; ++i) {
    if (!std::isfinite(box.lower[i]) || !std::isfinite(box.upper[i]) || box.lower[i] > box.upper[i]) {
      return absl::InvalidArgumentError(absl::StrCat("box: lower[", i, "] = ", box.lower[i], " and upper[", i,
                                                     "] = ", box.upper[i], " are not a finite interval"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckPattern(const ActivationPattern& nap, const AffineNetwork& net, const std::string& field,
                          bool check_label) {
  if (check_label && (nap.label < 0 || nap.label >= net.output_size())) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".label: ", nap.label, " is not one of the network's ", net.output_size(), " labels"));
  }
  const std::vector<int64_t> relu = ReluLayers(net);
  for (size_t i = 0; i < nap.neurons.size(); ++i) {
    const FixedNeuron& n = nap.neurons[i];
    const std::string where = absl::StrCat(field, ".neurons[", i, "]");
    if (n.layer < 0 || n.layer >= static_cast<int64_t>(relu.size())) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".layer: ", n.layer, " is not one of the network's ", relu.size(), " hidden ReLU layers"));
    }
    const int64_t units = net.layers[relu[n.layer]].outputs;
    if (n.neuron < 0 || n.neuron >= units) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".neuron: ", n.neuron, " is outside hidden layer ", n.layer, " (", units, " units)"));
    }
    if (n.state != NeuronState::kActive && n.state != NeuronState::kInactive) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".state: neither active nor inactive"));
    }
  }
  return absl::OkStatus();
}

// Adds the pattern's states to `phases`; the first neuron whose state
// contradicts one already there, if any.
std::optional<FixedNeuron> AddPhases(const ActivationPattern& nap, const AffineNetwork& net, ReluSplits& phases) {
  const std::vector<int64_t> relu = ReluLayers(net);
  for (const FixedNeuron& n : nap.neurons) {
    int8_t& phase = phases[relu[n.layer]][n.neuron];
    const int8_t state = n.state == NeuronState::kActive ? 1 : -1;
    if (phase != 0 && phase != state) return n;
    phase = state;
  }
  return std::nullopt;
}

// Highest-scoring label (the first on ties).
int64_t ArgMax(const std::vector<double>& y) {
  int64_t best = 0;
  for (size_t j = 1; j < y.size(); ++j) {
    if (y[j] > y[best]) best = static_cast<int64_t>(j);
  }
  return best;
}

// Whether some other label scores strictly higher than `label`.
bool Beaten(const std::vector<double>& y, int64_t label) {
  for (size_t j = 0; j < y.size(); ++j) {
    if (static_cast<int64_t>(j) != label && y[j] > y[label]) return true;
  }
  return false;
}

NapOutcome FromVerifier(VerifierOutcome outcome) {
  switch (outcome) {
    case VerifierOutcome::kUnsat: return NapOutcome::kUnsat;
    case VerifierOutcome::kSat: return NapOutcome::kSat;
    case VerifierOutcome::kTimeout: return NapOutcome::kTimeout;
    case VerifierOutcome::kCancelled: return NapOutcome::kCancelled;
    case VerifierOutcome::kUnknown: break;
  }
  return NapOutcome::kUnknown;
}

}  // namespace

InputBox InputBox::Uniform(int64_t size, double lower, double upper) {
  return InputBox{std::vector<double>(size, lower), std::vector<double>(size, upper)};
}

const char* NapOutcomeName(NapOutcome outcome) {
  switch (outcome) {
    case NapOutcome::kUnsat: return "UNSAT";
    case NapOutcome::kSat: return "SAT";
    case NapOutcome::kUnknown: return "UNKNOWN";
    case NapOutcome::kTimeout: return "TIMEOUT";
    case NapOutcome::kCancelled: return "CANCELLED";
  }
  return "UNKNOWN";
}

NapVerifier::NapVerifier(const AffineNetwork& net, NapForwardPass forward, NapVerifierOptions options)
    : net_(net), forward_(std::move(forward)), options_(std::move(options)) {}

namespace {

// What a witness must satisfy, checked on the float-rounded point in both
// the double network and the executor.
struct WitnessRequirement {
  const AffineNetwork* net;
  const NapForwardPass* forward;
  const InputBox* box;
  std::vector<const ActivationPattern*> patterns;
  int64_t label = -1;  // >= 0: the witness must be classified as another label
};

// True (and `out` filled) when x, rounded to float inside the box, meets the requirement.
absl::StatusOr<bool> Recheck(const WitnessRequirement& need, const std::vector<double>& x, NapQueryResult& out) {
  const InputBox& box = *need.box;
  std::vector<float> xf(x.size());
  std::vector<double> xd(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    float f = static_cast<float>(x[i]);
    if (f < box.lower[i]) f = std::nextafter(f, INFINITY);
    if (f > box.upper[i]) f = std::nextafter(f, -INFINITY);
    if (!(f >= box.lower[i] && f <= box.upper[i])) return false;
    xf[i] = f;
    xd[i] = f;
  }
  const std::vector<std::vector<double>> pre = PreActivations(*need.net, xd);
  const std::vector<int64_t> relu = ReluLayers(*need.net);
  for (const ActivationPattern* p : need.patterns) {
    for (const FixedNeuron& n : p->neurons) {
      const double z = pre[relu[n.layer]][n.neuron];
      if (n.state == NeuronState::kActive ? !(z > 0) : !(z <= 0)) return false;
    }
  }
  if (need.label >= 0 && !Beaten(pre.back(), need.label)) return false;
  ASSIGN_OR_RETURN(const NapForward f, (*need.forward)(xf));
  if (f.relu_outputs.size() != relu.size()) {
    return absl::FailedPreconditionError(absl::StrCat("the float pass has ", f.relu_outputs.size(),
                                                      " ReLU layers, the network ", relu.size()));
  }
  for (const ActivationPattern* p : need.patterns) {
    for (const FixedNeuron& n : p->neurons) {
      const double a = f.relu_outputs[n.layer][n.neuron];
      if (n.state == NeuronState::kActive ? !(a > 0) : !(a <= 0)) return false;
    }
  }
  if (need.label >= 0 && !Beaten(f.logits, need.label)) return false;
  out.input = std::move(xd);
  out.output = f.logits;
  out.predicted = ArgMax(f.logits);
  return true;
}

absl::StatusOr<NapQueryResult> RunQuery(const AffineNetwork& net, const PhaseQuery& query,
                                        const WitnessRequirement& need, const NapVerifierOptions& options,
                                        const std::vector<std::vector<double>>& extra_seeds,
                                        const std::function<bool()>& cancelled) {
  const auto start = std::chrono::steady_clock::now();
  NapQueryResult result;
  PhaseSearchOptions search{.timeout_seconds = options.timeout_seconds,
                            .smt_leaf_timeout_seconds = options.smt_leaf_timeout_seconds,
                            .smt_unstable_limit = options.smt_unstable_limit,
                            .smt_max_inputs = options.smt_max_inputs,
                            .max_depth = options.max_depth,
                            .falsify_restarts = options.falsify_restarts,
                            .falsify_steps = options.falsify_steps,
                            .seed = options.seed,
                            .seeds = extra_seeds};
  search.seeds.insert(search.seeds.end(), options.seeds.begin(), options.seeds.end());
  const WitnessCheck check = [&need, &result](const std::vector<double>& x) { return Recheck(need, x, result); };
  ASSIGN_OR_RETURN(const PhaseSearchResult r, SearchPhaseQuery(net, query, search, check, cancelled));
  result.outcome = FromVerifier(r.outcome);
  if (result.outcome != NapOutcome::kSat) {
    result.input.clear();
    result.output.clear();
    result.predicted = -1;
  }
  result.detail = r.detail;
  result.domains = r.domains;
  result.lp_calls = r.lp_calls;
  result.smt_calls = r.smt_calls;
  result.seconds = SecondsSince(start);
  return result;
}

PhaseQuery BoxQuery(const AffineNetwork& net, const InputBox& box) {
  PhaseQuery q;
  q.lower = Eigen::Map<const Eigen::VectorXd>(box.lower.data(), box.lower.size());
  q.upper = Eigen::Map<const Eigen::VectorXd>(box.upper.data(), box.upper.size());
  q.phases = PhaseQuery::FreePhases(net);
  return q;
}

}  // namespace

absl::StatusOr<NapQueryResult> NapVerifier::VerifyClass(const ActivationPattern& nap, const InputBox& box,
                                                        const std::function<bool()>& cancelled) const {
  RETURN_IF_ERROR(CheckBox(box, net_.input_size()));
  RETURN_IF_ERROR(CheckPattern(nap, net_, "nap", true));
  PhaseQuery query = BoxQuery(net_, box);
  if (std::optional<FixedNeuron> n = AddPhases(nap, net_, query.phases)) {
    return absl::InvalidArgumentError(
        absl::StrCat("nap.neurons: layer ", n->layer, " neuron ", n->neuron, " is fixed both active and inactive"));
  }
  query.cases = PhaseQuery::MisclassifiedCases(net_.output_size(), nap.label);
  const WitnessRequirement need{&net_, &forward_, &box, {&nap}, nap.label};
  return RunQuery(net_, query, need, options_, {}, cancelled);
}

absl::StatusOr<NapQueryResult> NapVerifier::VerifyExclusive(const ActivationPattern& first,
                                                            const ActivationPattern& second, const InputBox& box,
                                                            const std::function<bool()>& cancelled) const {
  RETURN_IF_ERROR(CheckBox(box, net_.input_size()));
  RETURN_IF_ERROR(CheckPattern(first, net_, "first", false));
  RETURN_IF_ERROR(CheckPattern(second, net_, "second", false));
  PhaseQuery query = BoxQuery(net_, box);
  if (std::optional<FixedNeuron> n = AddPhases(first, net_, query.phases)) {
    return absl::InvalidArgumentError(
        absl::StrCat("first.neurons: layer ", n->layer, " neuron ", n->neuron, " is fixed both active and inactive"));
  }
  if (std::optional<FixedNeuron> n = AddPhases(second, net_, query.phases)) {
    NapQueryResult result;
    result.outcome = NapOutcome::kUnsat;
    result.detail = absl::StrCat("layer ", n->layer, " neuron ", n->neuron,
                                 " is fixed in opposite states by the two NAPs: no input has both");
    return result;
  }
  query.cases.push_back({});  // any input with both patterns is a witness
  const WitnessRequirement need{&net_, &forward_, &box, {&first, &second}, -1};
  return RunQuery(net_, query, need, options_, {}, cancelled);
}

absl::StatusOr<RobustnessResult> NapVerifier::AugmentedRobustness(const std::vector<double>& input, int64_t label,
                                                                  const ActivationPattern& nap,
                                                                  const RobustnessOptions& robustness,
                                                                  const std::function<bool()>& cancelled) const {
  const auto start = std::chrono::steady_clock::now();
  const int64_t n = net_.input_size();
  if (static_cast<int64_t>(input.size()) != n) {
    return absl::InvalidArgumentError(absl::StrCat("input: ", input.size(), " values, the network takes ", n));
  }
  if (label < 0 || label >= net_.output_size()) {
    return absl::InvalidArgumentError(absl::StrCat("label: ", label, " is not one of the network's labels"));
  }
  if (!(robustness.max_epsilon > 0) || robustness.bisection_steps < 0 ||
      !(robustness.domain_lower <= robustness.domain_upper)) {
    return absl::InvalidArgumentError("robustness: max_epsilon must be > 0, bisection_steps >= 0, and the domain an interval");
  }
  for (int64_t i = 0; i < n; ++i) {
    if (!(input[i] >= robustness.domain_lower && input[i] <= robustness.domain_upper)) {
      return absl::InvalidArgumentError(absl::StrCat("input[", i, "] = ", input[i], " is outside the domain"));
    }
  }
  RETURN_IF_ERROR(CheckPattern(nap, net_, "nap", false));
  RobustnessResult result;
  std::vector<float> xf(input.begin(), input.end());
  ASSIGN_OR_RETURN(const NapForward clean, forward_(xf));
  result.correctly_classified = !Beaten(clean.logits, label) && ArgMax(clean.logits) == label;
  result.satisfies_nap = true;
  for (const FixedNeuron& f : nap.neurons) {
    const double a = clean.relu_outputs[f.layer][f.neuron];
    if (f.state == NeuronState::kActive ? !(a > 0) : !(a <= 0)) result.satisfies_nap = false;
  }
  if (!result.correctly_classified) {
    result.seconds = SecondsSince(start);
    return result;
  }
  ReluSplits nap_phases = PhaseQuery::FreePhases(net_);
  if (std::optional<FixedNeuron> f = AddPhases(nap, net_, nap_phases)) {
    return absl::InvalidArgumentError(
        absl::StrCat("nap.neurons: layer ", f->layer, " neuron ", f->neuron, " is fixed both active and inactive"));
  }
  // True when the ε-ball (with or without the NAP) is verified.
  auto verified = [&](double epsilon, bool with_nap) -> absl::StatusOr<bool> {
    InputBox box;
    box.lower.resize(n);
    box.upper.resize(n);
    for (int64_t i = 0; i < n; ++i) {
      box.lower[i] = std::max(input[i] - epsilon, robustness.domain_lower);
      box.upper[i] = std::min(input[i] + epsilon, robustness.domain_upper);
    }
    PhaseQuery query = BoxQuery(net_, box);
    if (with_nap) query.phases = nap_phases;
    query.cases = PhaseQuery::MisclassifiedCases(net_.output_size(), label);
    WitnessRequirement need{&net_, &forward_, &box, {}, label};
    if (with_nap) need.patterns.push_back(&nap);
    ASSIGN_OR_RETURN(const NapQueryResult r, RunQuery(net_, query, need, options_, {input}, cancelled));
    result.steps.push_back({epsilon, with_nap, r.outcome, r.seconds});
    if (r.outcome == NapOutcome::kCancelled) return absl::CancelledError("NAP-augmented robustness cancelled");
    return r.outcome == NapOutcome::kUnsat;
  };
  // Largest verified ε in [lower, max_epsilon], given that `lower` is verified.
  auto bisect = [&](double lower, bool with_nap) -> absl::StatusOr<double> {
    double upper = robustness.max_epsilon;
    if (lower >= upper) return lower;
    ASSIGN_OR_RETURN(const bool all, verified(upper, with_nap));
    if (all) return upper;
    for (int step = 0; step < robustness.bisection_steps; ++step) {
      const double mid = 0.5 * (lower + upper);
      ASSIGN_OR_RETURN(const bool ok, verified(mid, with_nap));
      (ok ? lower : upper) = mid;
    }
    return lower;
  };
  ASSIGN_OR_RETURN(result.epsilon_without_nap, bisect(0.0, false));
  // The NAP only removes inputs, so every ε verified without it is verified with it.
  ASSIGN_OR_RETURN(result.epsilon_with_nap, bisect(result.epsilon_without_nap, true));
  result.seconds = SecondsSince(start);
  return result;
}

}  // namespace crucible
