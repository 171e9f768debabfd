#include "engines/verify/dlv_features.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace crucible {

std::vector<Feature> SelectFeatures(const std::vector<double>& scores, const std::vector<double>& direction,
                                    const std::vector<bool>& eligible, int max_features, int feature_size) {
  std::vector<int64_t> ranked;
  for (size_t i = 0; i < scores.size(); ++i) {
    if (eligible[i]) ranked.push_back(static_cast<int64_t>(i));
  }
  std::stable_sort(ranked.begin(), ranked.end(),
                   [&](int64_t a, int64_t b) { return std::fabs(scores[a]) > std::fabs(scores[b]); });
  const size_t wanted = static_cast<size_t>(max_features) * static_cast<size_t>(feature_size);
  if (ranked.size() > wanted) ranked.resize(wanted);
  std::vector<Feature> features;
  for (size_t start = 0; start < ranked.size(); start += feature_size) {
    Feature feature;
    for (size_t r = start; r < std::min(ranked.size(), start + feature_size); ++r) {
      const int64_t dim = ranked[r];
      feature.dims.push_back(dim);
      feature.orientation.push_back(direction.empty() || direction[dim] >= 0 ? 1 : -1);
    }
    features.push_back(std::move(feature));
  }
  return features;
}

}  // namespace crucible
