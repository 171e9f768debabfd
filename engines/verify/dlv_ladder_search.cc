#include "engines/verify/dlv_ladder_search.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <queue>
#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "engines/core/status_macros.h"

namespace crucible {
namespace {

using Coordinates = std::vector<int>;

std::string Key(const Coordinates& c) { return std::string(c.begin(), c.end()); }

int LadderLength(const Coordinates& c) {
  int length = 0;
  for (int j : c) length += std::abs(j);
  return length;
}

// Evaluates `batch` and folds the results into `result`.
absl::Status EvaluateBatch(const ManipulationGrid& grid, const GridEvaluator& evaluate,
                           const std::vector<Coordinates>& batch, const LadderSearchOptions& options,
                           LadderSearchResult& result, std::vector<double>* margins) {
  std::vector<std::vector<double>> points;
  points.reserve(batch.size());
  for (const Coordinates& c : batch) points.push_back(grid.Point(c));
  ASSIGN_OR_RETURN(const std::vector<GridEvaluation> evaluations, evaluate(points));
  if (evaluations.size() != batch.size()) return absl::InternalError("dlv: evaluator returned a wrong count");
  for (size_t i = 0; i < batch.size(); ++i) {
    ++result.explored;
    result.min_margin = std::min(result.min_margin, evaluations[i].margin);
    if (evaluations[i].misclassified) {
      ++result.misclassified;
      if (static_cast<int>(result.examples.size()) < options.max_examples) result.examples.push_back(points[i]);
    }
    if (margins != nullptr) margins->push_back(evaluations[i].margin);
  }
  return absl::OkStatus();
}

bool ShouldStop(const LadderSearchOptions& options) { return options.stop && options.stop(); }

absl::StatusOr<LadderSearchResult> Exhaustive(const ManipulationGrid& grid, const GridEvaluator& evaluate,
                                              const LadderSearchOptions& options) {
  const size_t features = grid.features.size();
  std::vector<Coordinates> all;
  Coordinates counter(features, -grid.steps);
  while (true) {
    all.push_back(counter);
    size_t f = 0;
    while (f < features && counter[f] == grid.steps) counter[f++] = -grid.steps;
    if (f == features) break;
    ++counter[f];
  }
  std::stable_sort(all.begin(), all.end(),
                   [](const Coordinates& a, const Coordinates& b) { return LadderLength(a) < LadderLength(b); });
  LadderSearchResult result;
  for (size_t begin = 0; begin < all.size(); begin += options.batch_size) {
    if (ShouldStop(options)) {
      result.stopped = true;
      return result;
    }
    const size_t end = std::min(all.size(), begin + static_cast<size_t>(options.batch_size));
    std::vector<Coordinates> batch(all.begin() + begin, all.begin() + end);
    RETURN_IF_ERROR(EvaluateBatch(grid, evaluate, batch, options, result, nullptr));
  }
  result.exhaustive = true;
  return result;
}

absl::StatusOr<LadderSearchResult> BestFirst(const ManipulationGrid& grid, const GridEvaluator& evaluate,
                                             const LadderSearchOptions& options) {
  using Entry = std::pair<double, Coordinates>;
  auto higher_margin = [](const Entry& a, const Entry& b) { return a.first > b.first; };
  std::priority_queue<Entry, std::vector<Entry>, decltype(higher_margin)> frontier(higher_margin);
  absl::flat_hash_set<std::string> seen;
  LadderSearchResult result;
  const Coordinates origin(grid.features.size(), 0);
  std::vector<double> margins;
  RETURN_IF_ERROR(EvaluateBatch(grid, evaluate, {origin}, options, result, &margins));
  seen.insert(Key(origin));
  frontier.push({margins[0], origin});
  std::vector<Coordinates> pending;
  while (!frontier.empty() && result.explored < options.budget) {
    if (ShouldStop(options)) {
      result.stopped = true;
      return result;
    }
    // Extend the lowest-margin ladder ends by every manipulation until a batch is full.
    pending.clear();
    while (!frontier.empty() && static_cast<int64_t>(pending.size()) < options.batch_size) {
      const Coordinates end = frontier.top().second;
      frontier.pop();
      for (size_t f = 0; f < end.size(); ++f) {
        for (int delta : {1, -1}) {
          Coordinates next = end;
          next[f] += delta;
          if (std::abs(next[f]) > grid.steps || !seen.insert(Key(next)).second) continue;
          pending.push_back(std::move(next));
        }
      }
    }
    const int64_t room = options.budget - result.explored;
    if (static_cast<int64_t>(pending.size()) > room) pending.resize(room);
    margins.clear();
    RETURN_IF_ERROR(EvaluateBatch(grid, evaluate, pending, options, result, &margins));
    for (size_t i = 0; i < pending.size(); ++i) frontier.push({margins[i], pending[i]});
  }
  result.exhaustive = static_cast<double>(result.explored) >= grid.GridPoints();
  return result;
}

}  // namespace

std::vector<double> ManipulationGrid::Point(const std::vector<int>& coordinates) const {
  std::vector<double> point = center;
  for (size_t f = 0; f < features.size(); ++f) {
    const Feature& feature = features[f];
    for (size_t d = 0; d < feature.dims.size(); ++d) {
      const int64_t p = feature.dims[d];
      const double t = static_cast<double>(coordinates[f] * feature.orientation[d]) / steps;
      point[p] = t >= 0 ? center[p] + t * (box.upper[p] - center[p]) : center[p] + t * (center[p] - box.lower[p]);
    }
  }
  return point;
}

std::vector<double> ManipulationGrid::HalfSteps() const {
  std::vector<double> half(center.size(), 0.0);
  for (const Feature& feature : features) {
    for (int64_t p : feature.dims) {
      half[p] = 0.5 * std::max(box.upper[p] - center[p], center[p] - box.lower[p]) / steps;
    }
  }
  return half;
}

double ManipulationGrid::GridPoints() const {
  return std::pow(2.0 * steps + 1.0, static_cast<double>(features.size()));
}

absl::StatusOr<LadderSearchResult> SearchLadders(const ManipulationGrid& grid, const GridEvaluator& evaluate,
                                                 const LadderSearchOptions& options) {
  if (grid.steps < 1 || grid.steps > 127) return absl::InvalidArgumentError("dlv: steps must be in [1, 127]");
  if (grid.GridPoints() <= static_cast<double>(options.budget)) return Exhaustive(grid, evaluate, options);
  return BestFirst(grid, evaluate, options);
}

}  // namespace crucible
