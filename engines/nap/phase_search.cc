#include "engines/nap/phase_search.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <optional>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engines/core/status_macros.h"
#include "engines/nap/phase_falsifier.h"
#include "engines/nap/phase_lp.h"
#include "engines/verify/bounds.h"
#include "engines/verify/search_verdict.h"
#include "engines/verify/smt.h"

namespace crucible {
namespace {

// A sound lower bound must clear this before it refutes a case (double
// rounding in CROWN stays far below it; PhaseLp subtracts its own allowance).
constexpr double kProofMargin = 1e-6;
// Descent steps that polish an LP optimum or a Z3 model into a strict witness.
constexpr int kPolishSteps = 40;
constexpr double kPolishStep = 0.002;  // of the box width, shrinking 100-fold
constexpr double kStableMargin = 1e-9;
// Bounds crossed by more than this mean an empty domain (less is rounding).
constexpr double kEmptyMargin = 1e-9;
// Share of the remaining time the root's LP bound tightening may use.
constexpr double kTightenShare = 0.5;

struct Domain {
  ReluSplits splits;            // the query's phases plus the branch's splits
  std::vector<int> open_cases;  // cases no ancestor refuted
  int depth = 0;
};

class PhaseSearch {
 public:
  PhaseSearch(const AffineNetwork& net, const PhaseQuery& query, const PhaseSearchOptions& options,
              const WitnessCheck& check, const std::function<bool()>& cancelled)
      : net_(net), query_(query), options_(options), check_(check), cancelled_(cancelled), bounds_(net),
        falsifier_(net, query), exact_(net, query, 0.0), start_(std::chrono::steady_clock::now()) {}

  absl::StatusOr<PhaseSearchResult> Run() {
    std::thread watcher([this] { Watch(); });
    absl::Status status = Search();
    watcher_done_ = true;
    watcher.join();
    if (!status.ok()) return status;
    return Finish();
  }

 private:
  double Elapsed() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

  // Polls cancellation and the deadline; stops the search and any running Z3 check.
  void Watch() {
    while (!watcher_done_) {
      if (!stop_) {
        if (cancelled_ && cancelled_()) {
          cancelled_seen_ = true;
          stop_ = true;
        } else if (options_.timeout_seconds > 0 && Elapsed() > options_.timeout_seconds) {
          timed_out_ = true;
          stop_ = true;
        }
        if (stop_) interrupter_.Interrupt();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  std::function<bool()> StopFn() {
    return [this] { return stop_.load(); };
  }

  absl::Status Search() {
    if (cancelled_ && cancelled_()) {
      cancelled_seen_ = true;
      stop_ = true;
      return absl::OkStatus();
    }
    RETURN_IF_ERROR(Falsify());
    std::vector<Domain> stack;
    // Phases the box alone enforces need no LP rows.
    LayerBounds unsplit;
    bounds_.PreActivation(query_.lower, query_.upper, {}, unsplit);
    implied_ = query_.phases;
    for (size_t k = 0; k + 1 < unsplit.lower.size(); ++k) {
      for (size_t i = 0; i < implied_[k].size(); ++i) {
        const int8_t phase = implied_[k][i];
        const bool holds = phase > 0 ? unsplit.lower[k][i] >= kStableMargin : unsplit.upper[k][i] <= -kStableMargin;
        if (!holds) implied_[k][i] = 0;
      }
    }
    std::vector<int> all_cases(query_.cases.size());
    for (size_t c = 0; c < all_cases.size(); ++c) all_cases[c] = static_cast<int>(c);
    stack.push_back({query_.phases, all_cases, 0});
    while (!stack.empty() && !found_ && !stop_) {
      Domain d = std::move(stack.back());
      stack.pop_back();
      std::vector<Domain> children;
      RETURN_IF_ERROR(Process(d, children));
      for (Domain& c : children) stack.push_back(std::move(c));
    }
    return absl::OkStatus();
  }

  absl::Status Falsify() {
    const int64_t n = query_.lower.size();
    std::vector<std::vector<double>> starts;
    for (const std::vector<double>& s : options_.seeds) {
      if (static_cast<int64_t>(s.size()) == n) starts.push_back(s);
    }
    std::vector<double> centre(n);
    for (int64_t i = 0; i < n; ++i) centre[i] = 0.5 * (query_.lower[i] + query_.upper[i]);
    starts.push_back(std::move(centre));
    std::mt19937_64 rng(options_.seed);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    for (int r = 0; r < options_.falsify_restarts; ++r) {
      std::vector<double> x(n);
      for (int64_t i = 0; i < n; ++i) x[i] = query_.lower[i] + unit(rng) * (query_.upper[i] - query_.lower[i]);
      starts.push_back(std::move(x));
    }
    // The anchor: a point strictly inside the phases, whatever the outputs.
    PhaseQuery phases_only{query_.lower, query_.upper, query_.phases, {{}}};
    const PhaseFalsifier inside(net_, phases_only);
    for (const std::vector<double>& start : starts) {
      if (stop_ || anchor_.has_value()) break;
      anchor_ = inside.Descend(start, options_.falsify_steps, StopFn());
    }
    for (const std::vector<double>& start : starts) {
      if (stop_) break;
      std::optional<std::vector<double>> x = falsifier_.Descend(start, options_.falsify_steps, StopFn());
      if (x.has_value()) {
        RETURN_IF_ERROR(Offer(*x, "falsification"));
        if (found_) break;
      }
    }
    return absl::OkStatus();
  }

  // Passes x to the caller's re-check; records it when accepted.
  absl::Status Offer(const std::vector<double>& x, const std::string& source) {
    ASSIGN_OR_RETURN(const bool accepted, check_(x));
    if (accepted) {
      found_ = true;
      result_.witness = x;
      result_.detail = absl::StrCat("witness from ", source, " (re-checked by the double network and the executor)");
    } else {
      ++failed_checks_;
    }
    return absl::OkStatus();
  }

  // A candidate that may sit on a phase boundary (LP vertices and Z3 models
  // do): offered as is when it meets the query with the falsifier's margin,
  // else moved a little towards the anchor (a point strictly inside the
  // phases) or polished by a short descent with small steps.
  absl::Status TryCandidate(const std::vector<double>& x, const std::string& source, bool offer_as_is) {
    if (offer_as_is || exact_.Loss(x, nullptr) <= 0.0) {
      RETURN_IF_ERROR(Offer(x, source));
      if (found_) return absl::OkStatus();
    }
    if (anchor_.has_value()) {
      // Tiny steps first: an LP optimum's violation may itself be tiny.
      for (double t : {1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.05, 0.2, 0.5}) {
        std::vector<double> y(x.size());
        for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] + t * ((*anchor_)[i] - x[i]);
        if (exact_.Loss(y, nullptr) > 0.0) continue;
        RETURN_IF_ERROR(Offer(y, absl::StrCat(source, ", moved inside the phases")));
        if (found_) return absl::OkStatus();
      }
    }
    std::optional<std::vector<double>> polished = falsifier_.Descend(x, kPolishSteps, StopFn(), kPolishStep);
    if (polished.has_value()) RETURN_IF_ERROR(Offer(*polished, absl::StrCat(source, ", polished")));
    return absl::OkStatus();
  }

  void Undecided(const std::string& reason) {
    ++undecided_;
    last_undecided_reason_ = reason;
  }

  // What bounding one domain left open.
  struct Bounding {
    bool decided = false;  // every case refuted, or the domain empty
    std::vector<int> open;
    std::vector<PhaseLp::Gap> gaps;
    bool lp_failed = false;
    double lp_minimum = INFINITY;  // the lowest LP optimum of a surviving case
  };

  // CROWN bounds with the domain's splits, intersected with the root's
  // LP-tightened ones (sound there, and the domain lies inside the root).
  // False when the domain is empty.
  bool DomainBounds(const Domain& d, LayerBounds& layers) const {
    if (!bounds_.PreActivation(query_.lower, query_.upper, d.splits, layers)) return false;
    if (root_bounds_.lower.empty()) return true;
    for (size_t k = 0; k + 1 < layers.lower.size(); ++k) {
      for (int64_t i = 0; i < layers.lower[k].size(); ++i) {
        double& l = layers.lower[k][i];
        double& u = layers.upper[k][i];
        l = std::max(l, root_bounds_.lower[k][i]);
        u = std::min(u, root_bounds_.upper[k][i]);
        if (l - u > kEmptyMargin) return false;
        if (l > u) std::swap(l, u);
      }
    }
    return true;
  }

  absl::Status Process(Domain& d, std::vector<Domain>& children) {
    ++domains_;
    LayerBounds layers;
    if (!DomainBounds(d, layers)) return absl::OkStatus();
    Bounding b;
    RETURN_IF_ERROR(Bound(d, layers, b));
    if (b.decided || found_ || stop_) return absl::OkStatus();
    int64_t free_unstable = CountFreeUnstable(d, layers);
    if (d.depth == 0) root_free_unstable_ = root_free_unstable_tightened_ = free_unstable;
    if (d.depth == 0 && free_unstable > options_.smt_unstable_limit && root_bounds_.lower.empty()) {
      // Worth a branch and bound: first tighten the root's bounds by LP.
      if (!TightenRoot(d, layers)) return absl::OkStatus();  // empty
      root_bounds_ = layers;
      if (stop_) return absl::OkStatus();
      b = Bounding{};
      RETURN_IF_ERROR(Bound(d, layers, b));
      if (b.decided || found_ || stop_) return absl::OkStatus();
      free_unstable = root_free_unstable_tightened_ = CountFreeUnstable(d, layers);
    }
    if (free_unstable == 0) {
      // The LP was exact here: its optima (already tried) are the only
      // violations, so what is left lies on a phase boundary (closed but not
      // strict) or within the proof margin.
      Undecided(absl::StrFormat("an LP-exact domain whose optimum (%g) the re-check refused: a violation on a phase "
                                "boundary or within the proof margin",
                                b.lp_minimum));
      return absl::OkStatus();
    }
    const bool z3_fits = net_.input_size() <= options_.smt_max_inputs;
    if (z3_fits && (free_unstable <= options_.smt_unstable_limit || d.depth >= options_.max_depth)) {
      return SolveLeaf(d, layers, b.open);
    }
    // Branch on the free unstable ReLU with the largest relaxation gap (or,
    // without an LP solution, the largest triangle area).
    int64_t layer = -1, neuron = -1;
    double z_at_optimum = 0.0;
    if (!b.lp_failed && !b.gaps.empty() && b.gaps.front().gap > 0) {
      layer = b.gaps.front().layer;
      neuron = b.gaps.front().neuron;
      z_at_optimum = b.gaps.front().pre_activation;
    } else {
      double best = -1.0;
      for (size_t k = 0; k + 1 < layers.lower.size(); ++k) {
        if (!net_.layers[k].relu) continue;
        for (int64_t i = 0; i < layers.lower[k].size(); ++i) {
          const double l = layers.lower[k][i], u = layers.upper[k][i];
          if (d.splits[k][i] != 0 || l >= kStableMargin || u <= -kStableMargin) continue;
          const double area = -l * u / std::max(u - l, 1e-300);
          if (area > best) {
            best = area;
            layer = static_cast<int64_t>(k);
            neuron = i;
          }
        }
      }
    }
    if (layer < 0) {
      Undecided("no free unstable ReLU left to split");
      return absl::OkStatus();
    }
    // Depth first: the side the LP optimum lies on is pushed last, searched first.
    const int8_t first = z_at_optimum > 0 ? int8_t{1} : int8_t{-1};
    for (int8_t side : {static_cast<int8_t>(-first), first}) {
      Domain child{d.splits, b.open, d.depth + 1};
      child.splits[layer][neuron] = side;
      children.push_back(std::move(child));
    }
    return absl::OkStatus();
  }

  // CROWN on the open cases, then the LP relaxation (one solve per row, its
  // optima tried as counterexamples), weakest CROWN bound first. Lazy: once
  // one case survives the LP the domain will be split anyway, so the cases
  // after it stay open unexamined (children look at them).
  absl::Status Bound(const Domain& d, const LayerBounds& layers, Bounding& out) {
    std::vector<std::pair<double, int>> open;  // (best CROWN row bound, case)
    int64_t rows = 0;
    for (int c : d.open_cases) rows += static_cast<int64_t>(query_.cases[c].size());
    if (rows > 0) {
      Eigen::MatrixXd a(rows, net_.output_size());
      Eigen::VectorXd constants(rows);
      int64_t r = 0;
      for (int c : d.open_cases) {
        for (const OutputConstraint& oc : query_.cases[c]) {
          for (int64_t j = 0; j < net_.output_size(); ++j) a(r, j) = oc.coefficients[j];
          constants[r] = -oc.bound;
          ++r;
        }
      }
      const OutputBounds ob = bounds_.LowerBound(a, constants, layers, query_.lower, query_.upper);
      r = 0;
      for (int c : d.open_cases) {
        double best = -INFINITY;
        for (size_t k = 0; k < query_.cases[c].size(); ++k, ++r) best = std::max(best, ob.value[r]);
        if (!(best > kProofMargin)) open.emplace_back(best, c);
      }
    } else {
      for (int c : d.open_cases) open.emplace_back(-INFINITY, c);
    }
    if (open.empty()) {
      out.decided = true;
      return absl::OkStatus();
    }
    std::stable_sort(open.begin(), open.end());
    PhaseLp lp(net_, layers, query_.lower, query_.upper, d.splits, &implied_);
    for (size_t index = 0; index < open.size(); ++index) {
      const int c = open[index].second;
      if (stop_ || found_) return absl::OkStatus();
      if (!out.open.empty()) {  // an earlier case survived: leave this one to the children
        out.open.push_back(c);
        continue;
      }
      const std::vector<OutputConstraint>& constraints = query_.cases[c];
      bool refuted = false;
      if (constraints.empty()) {
        ++lp_calls_;
        const PhaseLp::Minimum m = lp.MinimizeViolation(StopFn());
        if (m.status != PhaseLp::Status::kOptimal) {
          out.lp_failed = true;
        } else if (m.bound > kProofMargin) {
          out.decided = true;  // the domain is empty
          return absl::OkStatus();
        } else {
          out.gaps = lp.Gaps();
          RETURN_IF_ERROR(TryCandidate(m.input, "an LP optimum", false));
        }
      }
      for (const OutputConstraint& oc : constraints) {
        if (stop_ || found_) return absl::OkStatus();
        ++lp_calls_;
        const PhaseLp::Minimum m = lp.Minimize(oc.coefficients, -oc.bound, StopFn());
        if (m.status == PhaseLp::Status::kInfeasible) {
          ++lp_calls_;
          const PhaseLp::Minimum empty = lp.MinimizeViolation(StopFn());
          if (empty.status == PhaseLp::Status::kOptimal && empty.bound > kProofMargin) {
            out.decided = true;
            return absl::OkStatus();
          }
          out.lp_failed = true;
          break;
        }
        if (m.status != PhaseLp::Status::kOptimal) {
          out.lp_failed = true;
          break;
        }
        if (m.bound > kProofMargin) {
          refuted = true;
          break;
        }
        out.gaps = lp.Gaps();
        out.lp_minimum = std::min(out.lp_minimum, m.lp_value);
        RETURN_IF_ERROR(TryCandidate(m.input, "an LP optimum", false));
        if (found_) return absl::OkStatus();
      }
      if (!refuted) out.open.push_back(c);
    }
    out.decided = out.open.empty();
    return absl::OkStatus();
  }

  // Tightens the root's bounds of the free unstable ReLUs layer by layer
  // with LP (min and max of each pre-activation under the phase constraints),
  // the widest triangles first, within a share of the remaining time.
  // False when the root turns out empty.
  bool TightenRoot(const Domain& d, LayerBounds& layers) {
    const double end = options_.timeout_seconds > 0
                           ? Elapsed() + kTightenShare * (options_.timeout_seconds - Elapsed())
                           : INFINITY;
    for (size_t k = 0; k + 1 < layers.lower.size(); ++k) {
      if (!net_.layers[k].relu) continue;
      PhaseLp lp(net_, layers, query_.lower, query_.upper, d.splits, &implied_);
      const std::vector<std::pair<int64_t, int64_t>> relus = lp.free_relus();
      std::vector<std::pair<double, int64_t>> order;  // (-area, index)
      for (size_t f = 0; f < relus.size(); ++f) {
        if (relus[f].first != static_cast<int64_t>(k)) continue;
        const double l = layers.lower[k][relus[f].second], u = layers.upper[k][relus[f].second];
        order.emplace_back(l * u / std::max(u - l, 1e-300), static_cast<int64_t>(f));
      }
      std::sort(order.begin(), order.end());
      for (const auto& [unused, f] : order) {
        if (stop_ || Elapsed() > end) return true;
        const int64_t i = relus[f].second;
        for (bool negate : {false, true}) {
          ++lp_calls_;
          const PhaseLp::Minimum m = lp.MinimizeFreePreActivation(f, negate, StopFn());
          if (m.status != PhaseLp::Status::kOptimal) continue;
          if (negate) {
            layers.upper[k][i] = std::min(layers.upper[k][i], -m.bound);
          } else {
            layers.lower[k][i] = std::max(layers.lower[k][i], m.bound);
          }
        }
        if (layers.lower[k][i] - layers.upper[k][i] > kEmptyMargin) return false;
        if (layers.lower[k][i] > layers.upper[k][i]) std::swap(layers.lower[k][i], layers.upper[k][i]);
      }
    }
    return true;
  }

  int64_t CountFreeUnstable(const Domain& d, const LayerBounds& layers) const {
    int64_t n = 0;
    for (size_t k = 0; k + 1 < layers.lower.size(); ++k) {
      if (!net_.layers[k].relu) continue;
      for (int64_t i = 0; i < layers.lower[k].size(); ++i) {
        n += d.splits[k][i] == 0 && !(layers.lower[k][i] >= kStableMargin || layers.upper[k][i] <= -kStableMargin);
      }
    }
    return n;
  }

  absl::Status SolveLeaf(const Domain& d, const LayerBounds& layers, const std::vector<int>& open) {
    double leaf_timeout = options_.smt_leaf_timeout_seconds;
    if (options_.timeout_seconds > 0) leaf_timeout = std::min(leaf_timeout, options_.timeout_seconds - Elapsed());
    if (leaf_timeout <= 0) {
      timed_out_ = true;
      stop_ = true;
      return absl::OkStatus();
    }
    std::vector<const std::vector<OutputConstraint>*> cases;
    for (int c : open) cases.push_back(&query_.cases[c]);
    ++smt_calls_;
    const SmtResult r =
        CheckLeafWithZ3(net_, layers, query_.lower, query_.upper, cases, leaf_timeout, &interrupter_, &d.splits);
    if (r.answer == SmtAnswer::kUnsat) return absl::OkStatus();
    if (r.answer == SmtAnswer::kSat) {
      RETURN_IF_ERROR(TryCandidate(r.input, "Z3", true));
      if (!found_) Undecided("a Z3 model did not survive the re-check, even after polishing");
      return absl::OkStatus();
    }
    if (!stop_) Undecided(absl::StrCat("a Z3 leaf was undecided (", r.reason, ")"));
    return absl::OkStatus();
  }

  PhaseSearchResult Finish() {
    PhaseSearchResult out = result_;
    out.domains = domains_;
    out.lp_calls = lp_calls_;
    out.smt_calls = smt_calls_;
    const std::string stats = absl::StrFormat(
        "root: %d free unstable ReLUs, %d after LP tightening; %d domains, %d LP solves, %d Z3 leaves, %.2f s",
        root_free_unstable_, root_free_unstable_tightened_, domains_, lp_calls_, smt_calls_, Elapsed());
    out.outcome = SearchVerdict({.found = found_,
                                 .cancelled = cancelled_seen_,
                                 .timed_out = timed_out_,
                                 .undecided = undecided_,
                                 .last_undecided_reason = last_undecided_reason_,
                                 .failed_rechecks = failed_checks_},
                                stats, "every domain refuted", out.detail);
    return out;
  }

  const AffineNetwork& net_;
  const PhaseQuery& query_;
  const PhaseSearchOptions& options_;
  const WitnessCheck& check_;
  const std::function<bool()>& cancelled_;
  const NetworkBounds bounds_;
  const PhaseFalsifier falsifier_;
  const PhaseFalsifier exact_;  // margin 0: a cheap pre-check before the caller's re-check
  const std::chrono::steady_clock::time_point start_;
  Z3Interrupter interrupter_;
  LayerBounds root_bounds_;  // the root's LP-tightened bounds once computed
  ReluSplits implied_;       // the query's phases that the box's own bounds enforce
  std::optional<std::vector<double>> anchor_;  // strictly inside the phases, if one was found

  std::atomic<bool> stop_{false}, timed_out_{false}, cancelled_seen_{false}, watcher_done_{false};
  bool found_ = false;
  PhaseSearchResult result_;
  int64_t root_free_unstable_ = 0, root_free_unstable_tightened_ = 0;
  int64_t domains_ = 0, lp_calls_ = 0, smt_calls_ = 0, undecided_ = 0, failed_checks_ = 0;
  std::string last_undecided_reason_;
};

}  // namespace

absl::StatusOr<PhaseSearchResult> SearchPhaseQuery(const AffineNetwork& net, const PhaseQuery& query,
                                                   const PhaseSearchOptions& options, const WitnessCheck& check,
                                                   const std::function<bool()>& cancelled) {
  return PhaseSearch(net, query, options, check, cancelled).Run();
}

}  // namespace crucible
