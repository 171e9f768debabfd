// The `preprocess` block every engine config carries: scale, per-channel mean
// and std, and the valid input range attacks clip to.
//
//   RETURN_IF_ERROR(ValidatePreprocess(config.preprocess(), model.ExampleShape()));
//   Preprocessor prep(config.preprocess());
//   prep.Apply(batch);                     // in place, before the model
#ifndef CRUCIBLE_ENGINES_PREPROCESS_H_
#define CRUCIBLE_ENGINES_PREPROCESS_H_

#include <vector>

#include "absl/status/status.h"
#include "crucible/v1/engines.pb.h"
#include "engines/core/tensor.h"

namespace crucible {

// INVALID_ARGUMENT naming the field: mean/std sizes other than 0, 1 or the
// channel count (dimension 0 of an example), a zero std, clip_min > clip_max.
absl::Status ValidatePreprocess(const v1::Preprocess& preprocess, const Shape& example_shape);

class Preprocessor {
 public:
  // REQUIRES: ValidatePreprocess(preprocess, ...) is OK.
  explicit Preprocessor(const v1::Preprocess& preprocess);

  // Two stages over a batch [N, C, ...] (or [N, F]): raw values to pixels,
  // x * scale (the space attacks perturb and clip in), then pixels to model
  // input, (x - mean[c]) / std[c]. Apply does both.
  void Apply(Tensor& batch) const;
  void ToPixels(Tensor& batch) const;
  void Normalize(Tensor& batch) const;
  // Chain rule through Normalize: a gradient with respect to the model input
  // becomes one with respect to the pixels (divided by std[c]).
  void BackpropagateGradient(Tensor& gradient) const;
  float clip_min() const { return clip_min_; }
  float clip_max() const { return clip_max_; }

 private:
  float scale_;
  std::vector<float> mean_;
  std::vector<float> std_;
  float clip_min_;
  float clip_max_;
};

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_PREPROCESS_H_
