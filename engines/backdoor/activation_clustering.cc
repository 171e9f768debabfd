#include "engines/backdoor/activation_clustering.h"

namespace crucible {

v1::ClusterFindings ClusterClassActivations(int64_t label, const Matrix& activations,
                                            const std::vector<int64_t>& indices,
                                            const ActivationClusteringOptions& options) {
  v1::ClusterFindings findings;
  findings.set_label(label);
  findings.set_samples(activations.rows);
  if (activations.rows < 4) return findings;  // Nothing to split.
  const Matrix centred = Centred(activations);
  const Matrix reduced = Project(centred, TopPrincipalAxes(centred, options.dims, options.seed));
  if (reduced.cols == 0) return findings;     // All activations equal.
  const TwoMeans split = ClusterTwoMeans(reduced, options.seed);
  const int smaller = split.sizes[0] <= split.sizes[1] ? 0 : 1;
  const double relative_size = double(split.sizes[smaller]) / double(activations.rows);
  const double silhouette = Silhouette(reduced, split.assignment);
  findings.set_relative_size(relative_size);
  findings.set_silhouette(silhouette);
  const bool flagged = split.sizes[smaller] > 0 && relative_size <= options.size_threshold &&
                       silhouette >= options.silhouette_threshold;
  findings.set_flagged(flagged);
  if (flagged) {
    for (int64_t r = 0; r < activations.rows; ++r) {
      if (split.assignment[r] == smaller) findings.add_flagged_samples(indices[r]);
    }
  }
  return findings;
}

}  // namespace crucible
