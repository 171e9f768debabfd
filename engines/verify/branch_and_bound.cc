#include "engines/verify/branch_and_bound.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engines/core/status_macros.h"
#include "engines/verify/bounds.h"
#include "engines/verify/search_verdict.h"
#include "engines/verify/smt.h"

namespace crucible {
namespace {

// A lower bound must clear this before it counts as a proof (double rounding
// in the back-substitution stays orders of magnitude below it).
constexpr double kProofMargin = 1e-7;

struct Domain {
  Eigen::VectorXd lo, hi;
  ReluSplits splits;
  LayerBounds known;            // the parent's bounds (valid here too); empty at the root
  LowerSlopes alpha;            // the parent's optimised slopes (warm start)
  std::vector<int> open_cases;  // indices into the group's cases
  double volume = 1.0;          // share of the group's root domain
  int depth = 0;
  // The parent's lowest lower bound on an open case's margin: best-first
  // search takes the most negative (the root: -infinity).
  double priority = -INFINITY;
};

// Heap order for best-first search: lowest priority on top, deeper first on ties.
bool LessPromising(const Domain& a, const Domain& b) {
  if (a.priority != b.priority) return a.priority > b.priority;
  return a.depth < b.depth;
}

// Cases sharing one input box.
struct Group {
  std::vector<int> cases;  // indices into property.cases
};

class Search {
 public:
  Search(const AffineNetwork& net, const Property& property, const VerifierOptions& options,
         const ForwardPass& forward, const std::function<bool()>& cancelled, const VerifierProgress& progress)
      : net_(net), bounds_(net), property_(property), options_(options), forward_(forward),
        cancelled_(cancelled), progress_(progress), start_(std::chrono::steady_clock::now()) {}

  absl::StatusOr<VerifierResult> Run() {
    std::vector<Group> groups = GroupCases();
    // Falsification pre-pass over every case first: a cheap SAT beats a long proof elsewhere.
    for (size_t g = 0; g < groups.size(); ++g) {
      for (int c : groups[g].cases) {
        if (StopRequested()) return Finish();
        FalsifyOptions f = options_.falsify;
        f.seed += c;
        std::optional<std::vector<double>> x = Falsify(net_, property_.cases[c], f, [this] { return StopRequested(); });
        if (x.has_value()) RETURN_IF_ERROR(Recheck(*x, {c}, "falsification"));
        if (found_) return Finish();
      }
    }
    for (size_t g = 0; g < groups.size(); ++g) {
      group_index_ = g;
      group_count_ = groups.size();
      RunGroup(groups[g]);
      if (!error_.ok()) return error_;
      if (found_ || stop_) break;
    }
    return Finish();
  }

 private:
  std::vector<Group> GroupCases() const {
    std::vector<Group> groups;
    for (size_t c = 0; c < property_.cases.size(); ++c) {
      const PropertyCase& pc = property_.cases[c];
      bool placed = false;
      for (Group& g : groups) {
        const PropertyCase& first = property_.cases[g.cases[0]];
        if (first.input_lower == pc.input_lower && first.input_upper == pc.input_upper) {
          g.cases.push_back(static_cast<int>(c));
          placed = true;
          break;
        }
      }
      if (!placed) groups.push_back({{static_cast<int>(c)}});
    }
    return groups;
  }

  double Elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

  bool StopRequested() {
    if (stop_) return true;
    if (cancelled_ && cancelled_()) {
      cancelled_seen_ = true;
      stop_ = true;
    } else if (options_.timeout_seconds > 0 && Elapsed() > options_.timeout_seconds) {
      timed_out_ = true;
      stop_ = true;
    }
    return stop_;
  }

  // Float-rounds x into the first case's box and checks the cases in both the
  // double network and the executor. Records the counterexample on success.
  absl::Status Recheck(const std::vector<double>& x, const std::vector<int>& cases, const std::string& source) {
    const PropertyCase& box = property_.cases[cases[0]];
    std::vector<float> xf(x.size());
    std::vector<double> xd(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      float f = static_cast<float>(x[i]);
      if (f < box.input_lower[i]) f = std::nextafter(f, INFINITY);
      if (f > box.input_upper[i]) f = std::nextafter(f, -INFINITY);
      if (f < box.input_lower[i] || f > box.input_upper[i]) return absl::OkStatus();
      xf[i] = f;
      xd[i] = f;
    }
    const std::vector<double> y_double = net_.Evaluate(xd);
    auto y_float = forward_(xf);
    if (!y_float.ok()) return y_float.status();
    for (int c : cases) {
      const PropertyCase& pc = property_.cases[c];
      if (property_.Violates(pc, xd, y_double) && property_.Violates(pc, xd, *y_float)) {
        std::lock_guard<std::mutex> lock(result_mutex_);
        if (!found_) {
          found_ = true;
          stop_ = true;
          result_.input = xd;
          result_.output = *y_float;
          result_.detail = absl::StrCat("counterexample from ", source, " violates case ", c,
                                        " (re-checked by the double network and the executor)");
        }
        return absl::OkStatus();
      }
    }
    ++failed_rechecks_;
    return absl::OkStatus();
  }

  void RunGroup(const Group& group) {
    const PropertyCase& box = property_.cases[group.cases[0]];
    Domain root;
    root.lo = Eigen::Map<const Eigen::VectorXd>(box.input_lower.data(), box.input_lower.size());
    root.hi = Eigen::Map<const Eigen::VectorXd>(box.input_upper.data(), box.input_upper.size());
    root.open_cases = group.cases;
    stack_.clear();
    stack_.push_back(std::move(root));
    busy_ = 0;
    done_volume_ = 0.0;
    const int threads = std::max(1, options_.threads);
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) workers.emplace_back([this] { Work(); });
    // The calling thread watches cancellation, the deadline and progress.
    while (true) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        if (cv_done_.wait_for(lock, std::chrono::milliseconds(50), [this] { return finished_workers_done(); })) break;
      }
      if (StopRequested()) {
        interrupter_.Interrupt();
        cv_.notify_all();
      }
      if (progress_) {
        std::lock_guard<std::mutex> lock(mutex_);
        progress_((group_index_ + done_volume_) / std::max<size_t>(1, group_count_),
                  absl::StrFormat("case group %d of %d: %.1f%% of the input volume decided, %d domains",
                                  group_index_ + 1, group_count_, 100.0 * done_volume_, domains_.load()));
      }
    }
    for (std::thread& w : workers) w.join();
    stopped_workers_ = 0;
  }

  bool finished_workers_done() const { return stopped_workers_ == std::max(1, options_.threads); }

  void Work() {
    while (true) {
      Domain d;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [this] { return stop_ || !stack_.empty() || busy_ == 0; });
        if (stop_ || (stack_.empty() && busy_ == 0)) {
          ++stopped_workers_;
          cv_.notify_all();
          cv_done_.notify_all();
          return;
        }
        if (options_.best_first) std::pop_heap(stack_.begin(), stack_.end(), LessPromising);
        d = std::move(stack_.back());
        stack_.pop_back();
        ++busy_;
      }
      std::vector<Domain> children;
      const double decided = Process(d, children);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        --busy_;
        done_volume_ += decided;
        for (Domain& c : children) {
          stack_.push_back(std::move(c));
          if (options_.best_first) std::push_heap(stack_.begin(), stack_.end(), LessPromising);
        }
      }
      cv_.notify_all();
    }
  }

  void SetError(const absl::Status& status) {
    std::lock_guard<std::mutex> lock(result_mutex_);
    if (error_.ok()) error_ = status;
    stop_ = true;
  }

  // Decides `d` or splits it into `children`; returns the volume decided.
  double Process(Domain& d, std::vector<Domain>& children) {
    ++domains_;
    LayerBounds layers;
    const bool feasible = d.known.lower.empty() ? bounds_.PreActivation(d.lo, d.hi, d.splits, layers)
                                                : bounds_.PreActivation(d.lo, d.hi, d.splits, d.known, layers);
    if (!feasible) return d.volume;  // empty sub-domain
    // One back-substitution for every constraint row of every open case.
    std::vector<int> row_case;
    int64_t rows = 0;
    for (int c : d.open_cases) rows += property_.cases[c].constraints.size();
    Eigen::MatrixXd a(rows, net_.output_size());
    Eigen::VectorXd constants(rows);
    int64_t r = 0;
    for (int c : d.open_cases) {
      for (const OutputConstraint& oc : property_.cases[c].constraints) {
        for (int64_t j = 0; j < net_.output_size(); ++j) a(r, j) = oc.coefficients[j];
        constants[r] = -oc.bound;
        row_case.push_back(c);
        ++r;
      }
    }
    std::vector<int> still_open;
    std::vector<int64_t> best_row;  // per still-open case: its row with the highest lower bound
    if (rows > 0) {
      OutputBounds ob = bounds_.LowerBound(a, constants, layers, d.lo, d.hi);
      r = 0;
      for (int c : d.open_cases) {
        const int64_t n = property_.cases[c].constraints.size();
        int64_t best = r;
        bool refuted = false;
        for (int64_t k = r; k < r + n; ++k) {
          if (ob.value[k] > kProofMargin) refuted = true;
          if (ob.value[k] > ob.value[best]) best = k;
        }
        if (!refuted && options_.alpha_iterations > 0) {
          // The slopes are shared by the cases of a domain: the last optimised row's warm-starts the children.
          const OutputBounds opt = bounds_.OptimizedLowerBound(a.row(best), constants[best], layers, d.lo, d.hi,
                                                               options_.alpha_iterations, d.alpha);
          if (opt.value[0] > ob.value[best]) {
            ob.value[best] = opt.value[0];
            ob.coefficients.row(best) = opt.coefficients.row(0);
            ob.constants[best] = opt.constants[0];
          }
          refuted = ob.value[best] > kProofMargin;
        }
        if (!refuted) {
          still_open.push_back(c);
          best_row.push_back(best);
        }
        r += n;
      }
      if (still_open.empty()) return d.volume;
      // Counterexample candidates: the vertices minimising the best rows' linear bounds, and the centre.
      std::vector<std::vector<double>> candidates;
      for (int64_t row : best_row) {
        std::vector<double> x(d.lo.size());
        for (int64_t i = 0; i < d.lo.size(); ++i) x[i] = ob.coefficients(row, i) > 0 ? d.lo[i] : d.hi[i];
        candidates.push_back(std::move(x));
      }
      std::vector<double> centre(d.lo.size());
      for (int64_t i = 0; i < d.lo.size(); ++i) centre[i] = 0.5 * (d.lo[i] + d.hi[i]);
      candidates.push_back(std::move(centre));
      double closest_margin = INFINITY;
      const std::vector<double>* closest = nullptr;
      int closest_case = 0;
      for (const std::vector<double>& x : candidates) {
        const std::vector<double> y = net_.Evaluate(x);
        for (int c : still_open) {
          const double margin = CaseMargin(property_.cases[c], y);
          if (margin < 0) {
            const absl::Status s = Recheck(x, {c}, "a bound-guided candidate");
            if (!s.ok()) SetError(s);
            if (found_ || stop_) return 0.0;
          }
          if (margin < closest_margin) {
            closest_margin = margin;
            closest = &x;
            closest_case = c;
          }
        }
      }
      if (closest != nullptr && options_.domain_descent_steps > 0 && SplitInputs()) {
        const std::vector<double> lo(d.lo.data(), d.lo.data() + d.lo.size());
        const std::vector<double> hi(d.hi.data(), d.hi.data() + d.hi.size());
        std::optional<std::vector<double>> x =
            DescendInBox(net_, property_.cases[closest_case], lo, hi, *closest, options_.domain_descent_steps);
        if (x.has_value()) {
          const absl::Status s = Recheck(*x, {closest_case}, "gradient descent in a domain");
          if (!s.ok()) SetError(s);
          if (found_ || stop_) return 0.0;
        }
      }
      d.open_cases = still_open;
      d.priority = INFINITY;  // the children's: the lowest bound of an open case
      for (int64_t row : best_row) d.priority = std::min(d.priority, ob.value[row]);
      if (SplitInputs()) {
        const int64_t unstable = layers.UnstableCount();
        const double widest = (d.hi - d.lo).maxCoeff();  // splitting a (near-)point box gains nothing
        if (unstable <= options_.smt_unstable_limit || d.depth >= options_.max_depth || widest < 1e-10) {
          return SolveLeaf(d, layers);
        }
        SplitInput(d, ob, best_row, layers, a, children);
        for (Domain& child : children) child.known = layers;
        return 0.0;
      }
    } else {
      still_open = d.open_cases;  // cases without constraints: any input violates them
      d.open_cases = still_open;
    }
    if (layers.UnstableCount() <= options_.relu_smt_unstable_limit || d.depth >= options_.max_depth) {
      return SolveLeaf(d, layers);
    }
    const double decided = SplitRelu(d, layers, a, constants, children);
    for (Domain& child : children) child.known = layers;
    return decided;
  }

  bool SplitInputs() const { return net_.input_size() <= options_.input_split_max_dims; }

  void SplitInput(const Domain& d, const OutputBounds& ob, const std::vector<int64_t>& best_row,
                  const LayerBounds& layers, const Eigen::MatrixXd& a, std::vector<Domain>& children) {
    // Smear sensitivity × width. The sensitivity mixes the linear bound's
    // |coefficient| (weight 0.2) with the absolute path sensitivity (0.8):
    // the coefficient alone misses inputs whose paths cancel in the bound
    // but keep many ReLUs unstable (ACAS Xu prop_1's two wide angle inputs:
    // 4_7, 4_8, 4_9, 5_8 went from timeouts at >120,000 domains to about
    // 1,000). A floor (1% of the mean) still splits a dimension both ignore
    // once the others have shrunk.
    std::vector<double> sensitivity(d.lo.size(), 0.0);
    double mean = 0.0;
    for (int64_t row : best_row) {
      const Eigen::VectorXd paths = bounds_.AbsoluteSensitivity(a.row(row), layers);
      for (int64_t i = 0; i < d.lo.size(); ++i) {
        sensitivity[i] += std::pow(std::abs(ob.coefficients(row, i)), 0.2) * std::pow(paths[i], 0.8);
      }
    }
    for (int64_t i = 0; i < d.lo.size(); ++i) mean += sensitivity[i] / d.lo.size();
    int64_t dim = 0;
    double best_smear = -1.0;
    for (int64_t i = 0; i < d.lo.size(); ++i) {
      const double smear = (sensitivity[i] + 0.01 * mean + 1e-12) * (d.hi[i] - d.lo[i]);
      if (smear > best_smear) {
        best_smear = smear;
        dim = i;
      }
    }
    const double mid = 0.5 * (d.lo[dim] + d.hi[dim]);
    Domain left = d, right = d;
    left.hi[dim] = mid;
    right.lo[dim] = mid;
    left.volume = right.volume = d.volume / 2;
    left.depth = right.depth = d.depth + 1;
    // Depth-first (and best-first on ties), the half holding the vertex that
    // minimises the first open case's linear bound is searched first
    // (counterexamples are likelier there).
    const bool left_first = ob.coefficients(best_row[0], dim) > 0;
    children.push_back(std::move(left_first ? right : left));
    children.push_back(std::move(left_first ? left : right));
  }

  double SplitRelu(const Domain& d, const LayerBounds& layers, const Eigen::MatrixXd& a,
                   const Eigen::VectorXd& constants, std::vector<Domain>& children) {
    // Score unstable neurons against the first open case's first row.
    int64_t first_row = 0;
    for (int c : d.open_cases) {
      if (!property_.cases[c].constraints.empty()) break;
      ++first_row;
    }
    Eigen::MatrixXd row = a.rows() > 0 ? Eigen::MatrixXd(a.topRows(1)) : Eigen::MatrixXd::Zero(1, net_.output_size());
    Eigen::VectorXd c0 = a.rows() > 0 ? Eigen::VectorXd(constants.head(1)) : Eigen::VectorXd::Zero(1);
    const OutputBounds ob = bounds_.LowerBound(row, c0, layers, d.lo, d.hi, true);
    int64_t best_layer = -1, best_neuron = -1;
    double best_score = -1.0;
    for (int64_t k = 0; k + 1 < bounds_.num_layers(); ++k) {
      if (!bounds_.relu(k)) continue;
      for (int64_t i = 0; i < layers.lower[k].size(); ++i) {
        const double l = layers.lower[k][i], u = layers.upper[k][i];
        if (!(l < 0 && u > 0)) continue;
        const double lambda = ob.relu_coefficients[k].size() > 0 ? std::abs(ob.relu_coefficients[k][i]) : 0.0;
        const double score = (lambda + 1e-6) * (-l * u / (u - l));
        if (score > best_score) {
          best_score = score;
          best_layer = k;
          best_neuron = i;
        }
      }
    }
    if (best_layer < 0) return SolveLeaf(const_cast<Domain&>(d), layers);
    for (int8_t side : {int8_t{1}, int8_t{-1}}) {
      Domain child = d;
      if (child.splits.empty()) {
        child.splits.resize(bounds_.num_layers());
        for (int64_t k = 0; k < bounds_.num_layers(); ++k) child.splits[k].assign(layers.lower[k].size(), 0);
      }
      child.splits[best_layer][best_neuron] = side;
      child.volume = d.volume / 2;
      child.depth = d.depth + 1;
      children.push_back(std::move(child));
    }
    return 0.0;
  }

  double SolveLeaf(Domain& d, const LayerBounds& layers) {
    std::vector<const std::vector<OutputConstraint>*> cases;
    for (int c : d.open_cases) cases.push_back(&property_.cases[c].constraints);
    ++smt_calls_;
    double leaf_timeout = options_.smt_leaf_timeout_seconds;
    if (options_.timeout_seconds > 0) leaf_timeout = std::min(leaf_timeout, options_.timeout_seconds - Elapsed());
    if (leaf_timeout <= 0) {  // out of time: the domain stays undecided
      timed_out_ = true;
      stop_ = true;
      return 0.0;
    }
    const SmtResult r = CheckLeafWithZ3(net_, layers, d.lo, d.hi, cases, leaf_timeout, &interrupter_);
    if (r.answer == SmtAnswer::kUnsat) return d.volume;
    if (r.answer == SmtAnswer::kSat) {
      const absl::Status s = Recheck(r.input, d.open_cases, "Z3");
      if (!s.ok()) SetError(s);
      if (found_) return 0.0;
      ++undecided_;
      std::lock_guard<std::mutex> lock(result_mutex_);
      last_undecided_reason_ = "a Z3 counterexample did not survive the float re-check";
      return d.volume;
    }
    if (!stop_) {
      ++undecided_;
      std::lock_guard<std::mutex> lock(result_mutex_);
      last_undecided_reason_ = absl::StrCat("a Z3 leaf was undecided (", r.reason, ")");
    }
    return d.volume;
  }

  absl::StatusOr<VerifierResult> Finish() {
    if (!error_.ok()) return error_;
    VerifierResult out = result_;
    out.domains = domains_;
    out.smt_calls = smt_calls_;
    const std::string stats = absl::StrCat(domains_.load(), " domains, ", smt_calls_.load(), " Z3 leaves, ",
                                           absl::StrFormat("%.2f", Elapsed()), " s");
    out.outcome = SearchVerdict({.found = found_,
                                 .cancelled = cancelled_seen_,
                                 .timed_out = timed_out_,
                                 .undecided = undecided_.load(),
                                 .last_undecided_reason = last_undecided_reason_,
                                 .failed_rechecks = failed_rechecks_.load()},
                                stats, "every case refuted", out.detail);
    return out;
  }

  const AffineNetwork& net_;
  const NetworkBounds bounds_;
  const Property& property_;
  const VerifierOptions options_;
  const ForwardPass& forward_;
  const std::function<bool()>& cancelled_;
  const VerifierProgress& progress_;
  const std::chrono::steady_clock::time_point start_;
  Z3Interrupter interrupter_;

  std::mutex mutex_;  // guards stack_, busy_, done_volume_, stopped_workers_
  std::condition_variable cv_;
  std::condition_variable cv_done_;
  std::vector<Domain> stack_;
  int busy_ = 0;
  int stopped_workers_ = 0;
  double done_volume_ = 0.0;
  size_t group_index_ = 0, group_count_ = 1;

  std::mutex result_mutex_;  // guards result_, error_, last_undecided_reason_
  VerifierResult result_;
  absl::Status error_;
  std::string last_undecided_reason_;
  std::atomic<bool> stop_{false}, found_{false}, timed_out_{false}, cancelled_seen_{false};
  std::atomic<int64_t> domains_{0}, smt_calls_{0}, undecided_{0}, failed_rechecks_{0};
};

}  // namespace

absl::StatusOr<VerifierResult> VerifyProperty(const AffineNetwork& net, const Property& property,
                                              const VerifierOptions& options, const ForwardPass& forward,
                                              const std::function<bool()>& cancelled,
                                              const VerifierProgress& progress) {
  return Search(net, property, options, forward, cancelled, progress).Run();
}

}  // namespace crucible
