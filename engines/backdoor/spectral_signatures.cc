#include "engines/backdoor/spectral_signatures.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace crucible {
namespace {

// Sample skewness (third standardised moment) of `values`.
double Skewness(const std::vector<double>& values) {
  double mean = 0;
  for (double v : values) mean += v;
  mean /= values.size();
  double second = 0, third = 0;
  for (double v : values) {
    second += (v - mean) * (v - mean);
    third += (v - mean) * (v - mean) * (v - mean);
  }
  second /= values.size();
  third /= values.size();
  return second == 0 ? 0 : third / std::pow(second, 1.5);
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
  findings.set_skewness(Skewness(projection.values));
  if (std::abs(findings.skewness()) < options.skewness_threshold) return findings;
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
