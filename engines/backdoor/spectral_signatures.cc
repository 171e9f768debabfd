#include "engines/backdoor/spectral_signatures.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace crucible {
namespace {

// Ashman's D of the best 1-D two-way split of `values` (by 2-means).
double AshmanSeparation(const std::vector<double>& values) {
  Matrix column{static_cast<int64_t>(values.size()), 1, values};
  const TwoMeans split = ClusterTwoMeans(column, 7);
  if (split.sizes[0] < 2 || split.sizes[1] < 2) return 0;
  double sum[2] = {0, 0}, squares[2] = {0, 0};
  for (size_t r = 0; r < values.size(); ++r) {
    sum[split.assignment[r]] += values[r];
    squares[split.assignment[r]] += values[r] * values[r];
  }
  double mean[2], variance[2];
  for (int c = 0; c < 2; ++c) {
    mean[c] = sum[c] / split.sizes[c];
    variance[c] = std::max(0.0, squares[c] / split.sizes[c] - mean[c] * mean[c]);
  }
  const double spread = std::sqrt(variance[0] + variance[1]);
  return spread == 0 ? 0 : std::sqrt(2.0) * std::abs(mean[0] - mean[1]) / spread;
}

}  // namespace

v1::SpectralFindings ScoreClassSpectrum(int64_t label, const Matrix& activations, const std::vector<int64_t>& indices,
                                        const SpectralSignatureOptions& options) {
  v1::SpectralFindings findings;
  findings.set_label(label);
  findings.set_samples(activations.rows);
  if (activations.rows < 4) return findings;
  const Matrix centred = Centred(activations);
  const std::vector<std::vector<double>> axes = TopPrincipalAxes(centred, 1, options.seed);
  if (axes.empty()) return findings;
  const Matrix projection = Project(centred, axes);
  findings.set_separation(AshmanSeparation(projection.values));
  if (findings.separation() < options.separation_threshold) return findings;
  findings.set_flagged(true);
  std::vector<int64_t> order(activations.rows);
  std::iota(order.begin(), order.end(), 0);
  const auto score = [&](int64_t r) { return projection.values[r] * projection.values[r]; };
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return score(a) > score(b); });
  const int64_t count =
      std::min<int64_t>(activations.rows, std::llround(std::ceil(1.5 * options.poison_fraction * activations.rows)));
  std::vector<int64_t> flagged;
  for (int64_t k = 0; k < count; ++k) flagged.push_back(indices[order[k]]);
  std::sort(flagged.begin(), flagged.end());
  for (int64_t i : flagged) findings.add_flagged_samples(i);
  return findings;
}

}  // namespace crucible
