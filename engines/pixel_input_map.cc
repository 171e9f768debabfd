#include "engines/pixel_input_map.h"

#include <algorithm>

namespace crucible {

PixelInputMap::PixelInputMap(const v1::Preprocess& preprocess, const Shape& example_shape) {
  const int64_t size = NumElements(example_shape);
  const int64_t channels = example_shape.empty() ? 1 : std::max<int64_t>(example_shape[0], 1);
  const int64_t per_channel = std::max<int64_t>(1, size / channels);
  slope.resize(size);
  offset.resize(size);
  for (int64_t p = 0; p < size; ++p) {
    const int64_t c = p / per_channel;
    auto pick = [c](const auto& values, double fallback) {
      return values.empty() ? fallback : static_cast<double>(values.size() == 1 ? values[0] : values[c]);
    };
    const double mean = pick(preprocess.mean(), 0.0), std = pick(preprocess.std(), 1.0);
    slope[p] = 1.0 / std;
    offset[p] = -mean / std;
  }
}

std::vector<double> PixelInputMap::Apply(const std::vector<double>& pixels) const {
  std::vector<double> inputs(pixels.size());
  for (size_t p = 0; p < pixels.size(); ++p) inputs[p] = slope[p] * pixels[p] + offset[p];
  return inputs;
}

std::vector<double> PixelInputMap::ToPixels(const std::vector<double>& inputs) const {
  std::vector<double> pixels(inputs.size());
  for (size_t p = 0; p < inputs.size(); ++p) pixels[p] = (inputs[p] - offset[p]) / slope[p];
  return pixels;
}

void PixelInputMap::MapBox(const std::vector<double>& pixel_lower, const std::vector<double>& pixel_upper,
                           std::vector<double>& lower, std::vector<double>& upper) const {
  lower = Apply(pixel_lower);
  upper = Apply(pixel_upper);
  for (size_t p = 0; p < lower.size(); ++p) {
    if (lower[p] > upper[p]) std::swap(lower[p], upper[p]);
  }
}

bool PixelInputMap::Uniform() const {
  return std::all_of(slope.begin(), slope.end(), [&](double s) { return s == slope[0]; }) &&
         std::all_of(offset.begin(), offset.end(), [&](double o) { return o == offset[0]; });
}

}  // namespace crucible
