// PixelInputMap: the preprocess block's normalisation, (pixel - mean[c]) / std[c],
// as a per-dimension affine map in double precision, for the verification
// engines, which reason in the model's input space but report regions and
// counterexamples in pixels. A negative std flips a dimension: boxes are mapped
// with their ends swapped where needed.
//
//   PixelInputMap map(config.preprocess(), model.ExampleShape());
//   std::vector<double> lower, upper;
//   map.MapBox(pixel_lower, pixel_upper, lower, upper);   // the model-input box
//   std::vector<double> pixels = map.ToPixels(counterexample);
#ifndef CRUCIBLE_ENGINES_PIXEL_INPUT_MAP_H_
#define CRUCIBLE_ENGINES_PIXEL_INPUT_MAP_H_

#include <vector>

#include "crucible/v1/engines.pb.h"
#include "engines/core/tensor.h"

namespace crucible {

struct PixelInputMap {
  // REQUIRES: ValidatePreprocess(preprocess, example_shape) is OK.
  PixelInputMap(const v1::Preprocess& preprocess, const Shape& example_shape);

  std::vector<double> Apply(const std::vector<double>& pixels) const;
  std::vector<double> ToPixels(const std::vector<double>& inputs) const;
  // The model-input box of the pixel box [pixel_lower, pixel_upper].
  void MapBox(const std::vector<double>& pixel_lower, const std::vector<double>& pixel_upper,
              std::vector<double>& lower, std::vector<double>& upper) const;
  // The same map on every dimension.
  bool Uniform() const;

  std::vector<double> slope;   // 1 / std of each dimension's channel
  std::vector<double> offset;  // -mean / std
};

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_PIXEL_INPUT_MAP_H_
