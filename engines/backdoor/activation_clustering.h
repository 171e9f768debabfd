// Activation Clustering (Chen et al., 2018) for one class of a training set:
// the class's penultimate-layer activations are reduced to a few principal
// dimensions and split by 2-means; a poisoned class splits into a small,
// well-separated cluster (the triggered samples, which the model recognises by
// the trigger rather than by the class's features) and the rest.
// The paper reduces with ICA; principal components serve the same purpose here
// (keep the directions that carry the variance before clustering).
//
//   ActivationClusteringOptions options;                     // 10 dims, 0.3, 0.4
//   v1::ClusterFindings f = ClusterClassActivations(label, activations, dataset_indices, options);
//   if (f.flagged()) ...f.flagged_samples()...              // the smaller cluster
#ifndef CRUCIBLE_ENGINES_BACKDOOR_ACTIVATION_CLUSTERING_H_
#define CRUCIBLE_ENGINES_BACKDOOR_ACTIVATION_CLUSTERING_H_

#include <cstdint>
#include <vector>

#include "crucible/v1/engines.pb.h"
#include "engines/backdoor/activation_stats.h"

namespace crucible {

struct ActivationClusteringOptions {
  int dims = 10;
  // A class is flagged when the smaller cluster holds at most this share of it
  // and the split's silhouette score is at least silhouette_threshold.
  double size_threshold = 0.3;
  double silhouette_threshold = 0.4;
  uint64_t seed = 1;
};

// `activations` has one row per sample of the class; `indices` are those
// samples' dataset indices (reported as flagged_samples).
v1::ClusterFindings ClusterClassActivations(int64_t label, const Matrix& activations,
                                            const std::vector<int64_t>& indices,
                                            const ActivationClusteringOptions& options);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_BACKDOOR_ACTIVATION_CLUSTERING_H_
