// Feature selection of the dlv engine: which dimensions of a layer the
// manipulations move, and in which direction a "+" step moves each one.
//
// Dimensions are ranked by |score| (the margin's gradient for GRADIENT, the
// activation for ACTIVATION), largest first, ties by index; only eligible ones
// (a region of non-zero width) count. The first max_features * feature_size of
// them are grouped in rank order into features of feature_size dimensions.
// A dimension's orientation is the sign of `direction` there (+1 where it is
// 0 or `direction` is empty), so a "+" step of a GRADIENT feature descends the
// margin.
//
//   std::vector<Feature> f = SelectFeatures(gradient, descent, eligible, 4, 1);
#ifndef CRUCIBLE_ENGINES_VERIFY_DLV_FEATURES_H_
#define CRUCIBLE_ENGINES_VERIFY_DLV_FEATURES_H_

#include <cstdint>
#include <vector>

namespace crucible {

struct Feature {
  std::vector<int64_t> dims;
  std::vector<int> orientation;  // +1 or -1 per dim
};

// REQUIRES: eligible.size() == scores.size(); direction empty or of that size;
// max_features >= 1, feature_size >= 1. The last feature may be smaller when
// too few dimensions are eligible; none when none is.
std::vector<Feature> SelectFeatures(const std::vector<double>& scores, const std::vector<double>& direction,
                                    const std::vector<bool>& eligible, int max_features, int feature_size);

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_VERIFY_DLV_FEATURES_H_
